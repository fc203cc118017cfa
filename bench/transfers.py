"""Register import at intake scale: a 10,000-row 档案移交名册 (.xlsx and .csv) read, validated row by row
(check digits, dates, area, repeats, already held) and saved as one batch, on SQLite and PostgreSQL.
Target (issue 6): 10,000 rows validate in under 5 s. A register with one bad row is timed too: it is
refused whole and nothing is written.

    .venv/bin/python bench/transfers.py [--rows 10000]
"""

import argparse
import csv
import io
import os
import platform
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from openpyxl import Workbook  # noqa: E402
from scratch_pg import scratch_database  # noqa: E402

from archive_service import db  # noqa: E402
from archive_service.auth.models import Role  # noqa: E402
from archive_service.auth.service import create_user  # noqa: E402
from archive_service.config import get_settings  # noqa: E402
from archive_service.demo import citizen_id  # noqa: E402
from archive_service.errors import ArchiveError  # noqa: E402
from archive_service.migrate import upgrade  # noqa: E402
from archive_service.organisations.models import Organisation, OrganisationKind, OrganisationLevel  # noqa: E402
from archive_service.startup import start  # noqa: E402
from archive_service.transfers import intake, register  # noqa: E402

start()  # as every process does: models known, session hooks installed


def rows(n: int) -> list[list[object]]:
    out = []
    for i in range(n):
        born = date(1950, 1, 1) + timedelta(days=i % 5000)
        retired = date(born.year + 60, born.month, 1).isoformat()  # 退休时间 is required (continuing handover)
        out.append([i + 1, f"退休{i}", "男", citizen_id("110102", born, i // 5000 * 2 + 1, "M"), born.isoformat(),
                    retired, "110102", "110102", "", 1, 80, 30, "", "否", "否", "否", ""])  # fmt: skip
    return out


def as_xlsx(data: list[list[object]]) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(list(register.HEADERS))
    for r in data:
        sheet.append(r)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def as_csv(data: list[list[object]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(register.HEADERS)
    writer.writerows(data)
    return out.getvalue().encode()


def use(url: str) -> tuple[int, int]:
    os.environ["ARCHIVE_DATABASE_URL"] = url
    get_settings.cache_clear()
    db.get_engine.cache_clear()
    db.get_sessionmaker.cache_clear()
    upgrade(db.get_engine())
    with db.transaction() as s:
        bureau = Organisation(name="测试区档案馆", kind=OrganisationKind.bureau, credit_code="11110102MB0000001X",
                              region_code="110102", level=OrganisationLevel.district, fonds_code="J900")  # fmt: skip
        enterprise = Organisation(name="企业", kind=OrganisationKind.enterprise, credit_code="911101020000000001",
                                  region_code="110101", level=OrganisationLevel.district)  # fmt: skip
        s.add_all([bureau, enterprise])
        s.flush()
        clerk = create_user(s, username="c", display_name="c", password="Bench-pass-2026", role=Role.intake_clerk,
                            organisation_id=bureau.id)  # fmt: skip
        return clerk.id, enterprise.id


def timed(label: str, clerk_id: int, enterprise_id: int, data: bytes, name: str) -> tuple[str, str, str]:
    from archive_service.auth.models import User

    with db.get_sessionmaker()() as s:
        clerk = s.get(User, clerk_id)
        t = time.perf_counter()
        try:
            batch = intake.import_register(s, clerk, enterprise_id, data, name)
            outcome = f"saved {len(batch.items):,} rows"
            s.rollback()  # keep the database empty for the next run
        except ArchiveError as e:
            outcome = f"refused: {len(e.problems or [])} problem(s)"
            s.rollback()
        return label, f"{name}: {outcome}", f"{time.perf_counter() - t:.2f} s"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10000)
    args = parser.parse_args()
    data = rows(args.rows)
    bad = [list(r) for r in data]
    bad[-1][3] = str(bad[-1][3])[:17] + ("0" if str(bad[-1][3])[17] != "0" else "1")  # one wrong check digit
    files = [("register.xlsx", as_xlsx(data)), ("register.csv", as_csv(data)), ("one-bad-row.xlsx", as_xlsx(bad))]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["ARCHIVE_VAR_DIR"] = tmp
        clerk, enterprise = use(f"sqlite:///{tmp}/bench.db")
        results += [timed("SQLite", clerk, enterprise, d, n) for n, d in files]
        with scratch_database("bench_transfers") as pg_url:
            clerk, enterprise = use(pg_url)
            results += [timed("PostgreSQL", clerk, enterprise, d, n) for n, d in files]
    print(f"register import, {args.rows:,} rows — {platform.node()}, {os.cpu_count()} cores, {date.today()}")
    print(f"{'database':<11} {'file and outcome':<48} {'time':>8}")
    for database, what, figure in results:
        print(f"{database:<11} {what:<48} {figure:>8}")


if __name__ == "__main__":
    main()
