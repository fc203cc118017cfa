"""卷内目录 import at batch scale: a 10,000-row catalogue workbook (400 files × 25 materials) read, checked
row by row (file known in the batch, class in the scheme, title, partial date, counts) and saved, on
SQLite and PostgreSQL — once for files already received (each gets its catalogue and a revision) and
once for files still to come (kept on their register rows). Target (issue 17): under 5 s. A workbook
with one bad row is timed too: refused whole, nothing written.

    .venv/bin/python bench/catalogues.py [--files 400 --per-file 25]
"""

import argparse
import io
import os
import platform
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from openpyxl import Workbook  # noqa: E402
from scratch_pg import scratch_database  # noqa: E402

from archive_service import db  # noqa: E402
from archive_service.auth.models import User  # noqa: E402
from archive_service.errors import ArchiveError  # noqa: E402
from archive_service.startup import start  # noqa: E402
from archive_service.transfers import (  # noqa: E402
    catalogues,
    intake,
    receiving,  # noqa: E402
)
from bench.transfers import as_xlsx, rows, use  # noqa: E402

start()  # as every process does: models known, session hooks installed

TITLES = [("1", "职工登记表"), ("2", "自传"), ("3", "鉴定表"), ("4", "技术等级考核审批表"), ("6", "入党志愿书"),
          ("7", "奖励审批表"), ("9", "招工登记表"), ("9", "工资调整审批表"), ("9", "职工退休审批表")]  # fmt: skip


def workbook(citizen_ids: list[str], per_file: int, bad: bool = False) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(list(catalogues.HEADERS))
    for n, cid in enumerate(citizen_ids):
        for i in range(per_file):
            code, title = TITLES[i % len(TITLES)]
            sheet.append(["", cid, code, title, f"{1970 + i}.{1 + n % 12}", 1, 1 + i % 4, ""])
    if bad:
        sheet.append(["", citizen_ids[-1], "12", "职工登记表", "1980", 1, 2, ""])  # no class 12
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def batch_of(clerk_id: int, enterprise_id: int, files: int, receive: bool, skip: int = 0) -> tuple[int, list[str]]:
    with db.transaction() as s:
        clerk = s.get(User, clerk_id)
        people = rows(skip + files)[skip:]  # other retirees than an earlier batch's
        batch = intake.import_register(s, clerk, enterprise_id, as_xlsx(people), "register.xlsx")
        ids = [i.citizen_id for i in batch.items]
        if receive:
            for cid in ids:
                receiving.receive(s, clerk, batch.id, receiving.Check(cid))
        return batch.id, ids


def timed(label: str, clerk_id: int, batch_id: int, data: bytes, what: str) -> tuple[str, str, str]:
    from archive_service.adapters import open_store
    from archive_service.config import get_settings

    with db.get_sessionmaker()() as s:
        clerk = s.get(User, clerk_id)
        t = time.perf_counter()
        try:
            done = catalogues.import_workbook(s, open_store(get_settings()), clerk, batch_id, data, "目录.xlsx")
            s.flush()
            outcome = f"{done['materials']:,} rows: {done['catalogued']} catalogued, {done['waiting_for_receipt']} kept"
        except ArchiveError as e:
            outcome = f"refused: {len(e.problems or [])} problem(s), nothing written"
        elapsed = time.perf_counter() - t
        s.rollback()
        return label, f"{what}: {outcome}", f"{elapsed:.2f} s"


def run(label: str, url: str, files: int, per_file: int) -> list[tuple[str, str, str]]:
    clerk, enterprise = use(url)
    out = []
    received, ids = batch_of(clerk, enterprise, files, receive=True)
    out.append(timed(label, clerk, received, workbook(ids, per_file), "received files"))
    out.append(timed(label, clerk, received, workbook(ids, per_file, bad=True), "one bad row"))
    waiting, ids = batch_of(clerk, enterprise, files, receive=False, skip=files)
    out.append(timed(label, clerk, waiting, workbook(ids, per_file), "files still to come"))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=400)
    parser.add_argument("--per-file", type=int, default=25)
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["ARCHIVE_VAR_DIR"] = tmp
        results += run("SQLite", f"sqlite:///{tmp}/bench.db", args.files, args.per_file)
        with scratch_database("bench_catalogues") as pg_url:
            results += run("PostgreSQL", pg_url, args.files, args.per_file)
    total = args.files * args.per_file
    print(
        f"卷内目录 import, {total:,} rows ({args.files} files) — {platform.node()}, {os.cpu_count()} cores, "
        f"{date.today()}"
    )
    print(f"{'database':<11} {'batch and outcome':<66} {'time':>8}")
    for database, what, figure in results:
        print(f"{database:<11} {what:<66} {figure:>8}")


if __name__ == "__main__":
    main()
