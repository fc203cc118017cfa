"""Access log: rate of chained appends (SQLite and PostgreSQL) and `verify_chain` over 1,000,000 entries.

The HTTP page-view figure of issue 8 needs the request viewer, which is not built yet; this
measures the log underneath it: each append reads the chain's head, hashes, inserts and commits
on its own connection, as a delivered page will.

    .venv/bin/python bench/access.py [--entries 1000000] [--appends 2000] [--writers 2]
"""

import argparse
import os
import platform
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402
from sqlalchemy import insert  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from archive_service.access.log import GENESIS, entry_hash, record_access, verify_chain  # noqa: E402
from archive_service.access.models import AccessLogEntry  # noqa: E402
from archive_service.db import make_engine  # noqa: E402
from archive_service.migrate import upgrade  # noqa: E402

PG_ADMIN = os.environ.get("ARCHIVE_TEST_POSTGRES_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")


def fill(engine, n: int) -> float:
    """Write n chained entries in bulk (as years of use would have), return seconds taken."""
    start = time.perf_counter()
    prev, at = GENESIS, datetime(2026, 1, 1, tzinfo=UTC)
    batch = []
    with Session(engine) as session:
        for seq in range(1, n + 1):
            values = {"seq": seq, "at": at + timedelta(seconds=seq), "user_id": None, "role": "requester",
                      "organisation_id": None, "client_address": "10.1.2.3", "action": "view_page",
                      "dossier_id": None, "materials": [1, 9], "pages": [seq % 40 + 1], "request_id": None,
                      "detail": "", "prev_hash": prev}
            prev = entry_hash(values)
            batch.append({**values, "entry_hash": prev})
            if len(batch) == 20_000:
                session.execute(insert(AccessLogEntry), batch)
                batch = []
        if batch:
            session.execute(insert(AccessLogEntry), batch)
        session.commit()
    return time.perf_counter() - start


def append_rate(engine, appends: int, writers: int) -> float:
    per_writer = appends // writers

    def work() -> None:
        with Session(engine) as session:
            for i in range(per_writer):
                record_access(session, None, "view_page", "10.1.2.3", pages=[i % 40 + 1])

    threads = [threading.Thread(target=work) for _ in range(writers)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return per_writer * writers / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--appends", type=int, default=2000)
    parser.add_argument("--writers", type=int, default=2)
    args = parser.parse_args()
    rows = []
    tmp = Path(tempfile.mkdtemp(prefix="bench-access-"))
    name = f"bench_access_{uuid.uuid4().hex[:8]}"
    admin = psycopg.connect(PG_ADMIN, autocommit=True)
    admin.execute(f"CREATE DATABASE {name}")
    try:
        for label, url in (("SQLite (WAL)", f"sqlite:///{tmp}/bench.db"),
                           ("PostgreSQL 15", PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
                            + f"/{name}")):
            engine = make_engine(url)
            upgrade(engine)
            rate = append_rate(engine, args.appends, args.writers)
            filled = fill(engine, args.entries)
            start = time.perf_counter()
            with Session(engine) as session:
                report = verify_chain(session)
            verify = time.perf_counter() - start
            assert report.ok and report.entries == args.entries + args.appends // args.writers * args.writers
            rows.append((label, rate, report.entries, verify, filled))
            engine.dispose()
    finally:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    machine = f"{platform.node()} {os.cpu_count()} cores, Python {platform.python_version()}"
    print(f"\n{machine}, {time.strftime('%Y-%m-%d')}\n")
    print(f"| database | chained appends/s ({args.writers} writers, each committed) | entries verified | verify s "
          "| bulk fill s |")
    print("|---|---|---|---|---|")
    for label, rate, entries, verify, filled in rows:
        print(f"| {label} | {rate:.0f} | {entries:,} | {verify:.1f} | {filled:.1f} |")


if __name__ == "__main__":
    main()
