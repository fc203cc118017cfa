"""Digitisation throughput through the broker: the same dossiers by 1, then 2 Celery worker processes.

Each run gets a fresh PostgreSQL database and var folder (no page resumed from an earlier run),
queues the same dossiers (printed pages first, then blank backs, as a personnel file has them),
starts N `archive worker --processes 1` processes on the broker and times until every job is done.
Target on 2 cores: 2 workers ≥ 1.8× the pages per minute of 1.

    .venv/bin/python bench/digitise_scale.py [--dossiers 4] [--printed 6] [--broker redis://127.0.0.1:6379/12]
"""

import argparse
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scratch_pg import scratch_database  # noqa: E402


def make_scans(folder: Path, pages: int, printed: int, seed: int) -> list[Path]:
    from digitise.specimen import draw_page, person, save_scan

    rng = random.Random(seed)
    who = person(rng)
    scans = []
    for n in range(pages):
        blank = n >= printed
        page = draw_page(rng, who, blank=blank, dpi=300 if not blank else 200, lines=10)
        scans.append(save_scan(page, folder / f"{seed}-{n + 1:03d}.tif"))
    return scans


def one_run(workers: int, dossiers: int, printed: int, broker: str, scans_dir: Path) -> tuple[int, float]:
    with scratch_database("archive_scale") as pg_url:
        return _one_run(pg_url, workers, dossiers, printed, broker, scans_dir)


def _one_run(pg_url: str, workers: int, dossiers: int, printed: int, broker: str, scans_dir: Path) -> tuple[int, float]:
    var = Path(tempfile.mkdtemp(prefix="scale-var-"))
    env = {
        **os.environ,
        "ARCHIVE_DATABASE_URL": pg_url,
        "ARCHIVE_VAR_DIR": str(var),
        "ARCHIVE_BROKER_URL": broker,
        "ARCHIVE_SEARCH_SYNC_SECONDS": "0",
    }
    os.environ.update(env)
    from archive_service import config, db
    from archive_service.startup import start

    start()

    config.get_settings.cache_clear()
    db.get_engine.cache_clear()
    db.get_sessionmaker.cache_clear()
    from sqlalchemy import select

    from archive_service.adapters import open_broker, open_store
    from archive_service.auth.models import User
    from archive_service.demo import load_demo
    from archive_service.digitisation.service import submit
    from archive_service.dossiers.models import Dossier
    from archive_service.jobs.models import Job, JobState
    from archive_service.migrate import upgrade

    open_broker(broker).control.purge()
    upgrade(db.get_engine())
    with db.transaction() as session:
        load_demo(session, retirees=30)
    pages_total = 0
    with db.transaction() as session:
        actor = session.scalar(select(User).where(User.username == "archivist"))
        chosen = session.scalars(
            select(Dossier).where(Dossier.custodian_id == actor.organisation_id).order_by(Dossier.id).limit(dossiers)
        ).all()
        for n, dossier in enumerate(chosen):
            pages = sum(m.pages for m in dossier.materials)
            folder = scans_dir / f"d{n}"
            if not folder.exists():
                folder.mkdir()
                make_scans(folder, pages, printed, seed=n)
            submit(session, open_store(config.get_settings()), actor, dossier, sorted(folder.iterdir()))
            pages_total += pages
    log = open(var / "workers.log", "ab")
    started = time.monotonic()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", "from archive_service.cli import app; app()", "worker", "--processes", "1"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        for _ in range(workers)
    ]
    try:
        while True:
            with db.get_sessionmaker()() as session:
                states = session.scalars(select(Job.state)).all()
            if all(s in (JobState.done, JobState.failed) for s in states):
                break
            time.sleep(0.5)
        elapsed = time.monotonic() - started
        failed = [s for s in states if s is JobState.failed]
        if failed:
            raise SystemExit(f"{len(failed)} jobs failed; see {var / 'workers.log'}")
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=30)
        db.get_engine().dispose()
    return pages_total, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dossiers", type=int, default=4)
    parser.add_argument("--printed", type=int, default=6, help="printed pages per dossier (the rest blank)")
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/12")
    args = parser.parse_args()
    scans_dir = Path(tempfile.mkdtemp(prefix="scale-scans-"))
    rows = []
    for workers in (1, 2):
        pages, elapsed = one_run(workers, args.dossiers, args.printed, args.broker, scans_dir)
        rows.append((workers, pages, elapsed, pages / elapsed * 60))
    print(f"\nDigitisation through the broker ({args.broker.split(':')[0]}), {platform.node()}, {os.cpu_count()} cores")
    print(f"{args.dossiers} dossiers, {args.printed} printed pages each, the rest blank backs\n")
    print("| worker processes | pages | time | pages/minute |")
    print("| --- | --- | --- | --- |")
    for workers, pages, elapsed, rate in rows:
        print(f"| {workers} | {pages} | {elapsed:.1f} s | {rate:.1f} |")
    ratio = rows[1][3] / rows[0][3]
    print(f"\nscaling 1 → 2 workers: {ratio:.2f}× (target ≥ 1.8×)")


if __name__ == "__main__":
    main()
