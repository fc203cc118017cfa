"""存量档案导入 at a district's scale: a 100,000-row old ledger (.xlsx, a title row above the header, four
room sheets, 15-digit IDs on one row in ten, a shelf place for most files) uploaded, checked (the dry run)
and saved — every row checked again and written in one transaction — on SQLite and PostgreSQL; then the
search index brought up to date with every imported file. Target (issue 38 item 5): check and save in
under 60 s, memory bounded (peak RSS printed). Each step's wall time, the importing process's CPU time and,
on PostgreSQL, the server's (its backends for the database): on a shared machine wall time is mostly waiting.

    .venv/bin/python bench/holdings.py [--rows 100000] [--only sqlite|postgresql]
"""

import argparse
import io
import multiprocessing
import os
import platform
import resource
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from openpyxl import Workbook  # noqa: E402
from scratch_pg import scratch_database  # noqa: E402

from archive_service import db  # noqa: E402
from archive_service.adapters import open_index  # noqa: E402
from archive_service.auth.models import Role, User  # noqa: E402
from archive_service.auth.service import create_user  # noqa: E402
from archive_service.config import get_settings  # noqa: E402
from archive_service.demo import citizen_id, credit_code  # noqa: E402
from archive_service.finding.worker import apply_outbox  # noqa: E402
from archive_service.holdings import checking, saving, service  # noqa: E402
from archive_service.holdings.decisions import Decisions  # noqa: E402
from archive_service.migrate import upgrade  # noqa: E402
from archive_service.organisations.models import Organisation, OrganisationKind, OrganisationLevel  # noqa: E402
from archive_service.shelving import layout  # noqa: E402
from archive_service.startup import start  # noqa: E402

start()  # as every process does: models known, session hooks installed

ROOMS = 4
ENTERPRISES = 20
HEADER = ["序号", "档号", "姓名", "性别", "出生年月", "身份证号", "原工作单位", "卷数", "页数", "入馆时间", "排", "列",
          "层", "格", "备注"]  # fmt: skip


def ledger(rows: int) -> bytes:
    """A ledger as a district kept it: a sheet per store room, a title above the header."""
    book = Workbook(write_only=True)
    per_room = rows // ROOMS
    n = 0
    for room in range(1, ROOMS + 1):
        sheet = book.create_sheet(f"{room}号库房")
        sheet.append([f"{room}号库房 退休人员人事档案台账"])
        sheet.append(HEADER)
        for i in range(per_room if room < ROOMS else rows - n):
            born = date(1940, 1, 1) + timedelta(days=n % 9000)
            full = citizen_id("110102", born, n // 9000 * 2 + 1, "M")
            written = full[:6] + full[8:17] if n % 10 == 0 else full  # one in ten: the 15-digit first generation
            place = n % 22 if n % 25 else None  # one in 25 not yet on a shelf
            unit, rest = divmod(i // 22, 5 * 5 * 6)  # 22 files a layer; A faces of 5 columns × 5 sections × 6 layers
            sheet.append([
                n + 1, f"XC-{n + 1:06d}", f"退休{n}", "男", f"{born.year}.{born.month}", written,
                f"企业{n % ENTERPRISES}", 1, 60, f"{1998 + n % 20}年{n % 12 + 1}月",
                *((unit % 40 + 1, rest // 30 + 1, rest % 6 + 1, rest // 6 % 5 + 1) if place is not None else ("",) * 4),
                "",
            ])  # fmt: skip
            n += 1
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def use(url: str) -> int:
    os.environ["ARCHIVE_DATABASE_URL"] = url
    get_settings.cache_clear()
    db.get_engine.cache_clear()
    db.get_sessionmaker.cache_clear()
    upgrade(db.get_engine())
    with db.transaction() as s:
        bureau = Organisation(name="测试区档案馆", kind=OrganisationKind.bureau, credit_code="11110102MB0000001X",
                              region_code="110102", level=OrganisationLevel.district, fonds_code="J900")  # fmt: skip
        s.add(bureau)
        for e in range(ENTERPRISES):
            s.add(Organisation(name=f"企业{e}", kind=OrganisationKind.enterprise,
                               credit_code=credit_code("91110102MA", e + 1), region_code="110102",
                               level=OrganisationLevel.district))  # fmt: skip
        s.flush()
        archivist = create_user(s, username="a", display_name="a", password="Bench-pass-2026", role=Role.archivist,
                                organisation_id=bureau.id)  # fmt: skip
        profile = layout.add_profile(s, archivist, "30 mm 卷盒", 30)
        for room in range(1, ROOMS + 1):
            made = layout.add_room(s, archivist, layout.RoomForm(f"{room}号库房", layout.RoomKind.store, 500))
            for unit in range(1, 41):
                layout.add_unit(s, archivist, made.id, layout.UnitForm(str(unit), 5, 5, 6, 2, 800, profile.id))
        return archivist.id


class _ServerCpu:
    """CPU time the PostgreSQL server's backends spent for this database (their /proc/<pid>/stat, the server
    being on this machine): the importing process's CPU time leaves out the database's work on PostgreSQL."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.start = self._now()

    def _now(self) -> dict[int, float]:
        if self.session.get_bind().dialect.name != "postgresql":
            return {}
        pids = (
            self.session.connection()
            .exec_driver_sql("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
            .scalars()
        )
        times = {}
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # gone, or not ours to read
                continue
            times[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return times

    def spent(self) -> float | None:
        now = self._now()
        return sum(t - self.start.get(pid, 0.0) for pid, t in now.items()) if now else None


class _Shown(list):  # type: ignore[type-arg]
    """The table's rows, each also printed the moment it is measured (a run cut short still tells)."""

    def append(self, row: tuple[str, str, str]) -> None:
        print(f"{row[0]:<11} {row[1]:<46} {row[2]:>9}", flush=True)
        super().append(row)


def run(label: str, archivist_id: int, data: bytes) -> list[tuple[str, str, str]]:
    out = _Shown()
    maker = db.get_sessionmaker()
    with maker() as s:
        user = s.get(User, archivist_id)
        assert user is not None
        t = time.perf_counter()
        imported = service.start_import(s, user, data, "台账.xlsx")
        service.decide(s, user, imported.id, Decisions(renumber=True))
        s.commit()
        out.append((label, "upload: sheets, headers, mapping", f"{time.perf_counter() - t:.1f} s"))
        server = _ServerCpu(s)
        t, cpu = time.perf_counter(), time.process_time()
        summary = checking.check_import(s, imported.id)
        s.commit()
        checked, checked_cpu, checked_server = time.perf_counter() - t, time.process_time() - cpu, server.spent()
        out.append((label, f"check: {summary['rows']:,} rows, {summary['problems']} problems", f"{checked:.1f} s"))
        out.append((label, "… CPU time of this process", f"{checked_cpu:.1f} s"))
        server = _ServerCpu(s)
        t, cpu = time.perf_counter(), time.process_time()
        summary = saving.save_import(s, user, imported.id, good_rows_only=False)
        s.commit()
        saved, saved_cpu, saved_server = time.perf_counter() - t, time.process_time() - cpu, server.spent()
        out.append((label, f"save: {summary['saved']:,} files in custody", f"{saved:.1f} s"))
        out.append((label, "… CPU time of this process", f"{saved_cpu:.1f} s"))
        out.append((label, "check + save (target < 60 s)", f"{checked + saved:.1f} s"))
        out.append((label, "… CPU time of this process", f"{checked_cpu + saved_cpu:.1f} s"))
        if checked_server is not None and saved_server is not None:
            out.append((label, "… CPU time of the database server (check, save)",
                        f"{checked_server:.1f} + {saved_server:.1f} s"))  # fmt: skip
        out.append((label, f"load average now (1 min; {os.cpu_count()} cores)", f"{os.getloadavg()[0]:.1f}"))
    t, cpu = time.perf_counter(), time.process_time()
    applied = apply_outbox(db.get_engine(), open_index(get_settings()), wait=True)
    out.append((label, f"search index: {applied:,} files indexed", f"{time.perf_counter() - t:.1f} s"))
    out.append((label, "… CPU time of this process", f"{time.process_time() - cpu:.1f} s"))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    out.append((label, "peak memory of the process so far (RSS)", f"{peak} MB"))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    args = parser.parse_args()
    t = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(1) as pool:  # its memory is not the import's
        data = pool.apply(ledger, (args.rows,))
    made = f"{time.perf_counter() - t:.1f} s"
    results = [("—", f"ledger made: {len(data) / 1e6:.1f} MB .xlsx", made)]
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["ARCHIVE_VAR_DIR"] = tmp
        if args.only != "postgresql":
            results += run("SQLite", use(f"sqlite:///{tmp}/bench.db"), data)
        if args.only != "sqlite":
            with scratch_database("bench_holdings") as pg_url:
                os.environ["ARCHIVE_SEARCH_DIR"] = f"{tmp}/search-pg"
                results += run("PostgreSQL", use(pg_url), data)
    load = os.getloadavg()[0]
    print(f"holdings import, {args.rows:,} ledger rows — {platform.node()}, {os.cpu_count()} cores, {date.today()}, "
          f"load average at the end {load:.1f}")  # fmt: skip
    print(f"{'database':<11} {'step':<46} {'figure':>9}")
    for database, what, figure in results:
        print(f"{database:<11} {what:<46} {figure:>9}")


if __name__ == "__main__":
    main()
