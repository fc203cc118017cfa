"""Worker processes: the local loop over the job table, or a Celery worker when a broker is set.

Local (the embedded default): each process claims the next due job from the database and runs it;
`archive serve` starts `ARCHIVE_JOB_WORKERS` of them beside the web server. With Celery, `archive
worker` on any host runs the same jobs, woken by the broker; its sweeper re-rings jobs whose
doorbell was lost (a broker restart) or whose worker died (an expired lease) — in `celery_app.py`.
"""

import logging
import multiprocessing
import signal
import threading
import time

from archive_service.adapters import object_store
from archive_service.config import get_settings
from archive_service.db import get_engine
from archive_service.jobs.kinds import HANDLERS
from archive_service.jobs.runner import run_next, sweep_finished, worker_name
from archive_service.startup import log_to_console, start

log = logging.getLogger("archive.jobs")
SWEEP_SECONDS = 30.0


def work(stop: threading.Event, name: str | None = None) -> None:
    """Claim and run due jobs until `stop` is set."""
    start()  # a spawned process starts afresh: its models and session hooks
    settings = get_settings()
    engine, store, name = get_engine(), object_store(), name or worker_name()
    log.info("后台任务进程 %s 已启动（数据库 %s）", name, engine.url.render_as_string(hide_password=True))
    swept = 0.0
    while not stop.is_set():
        try:
            if time.monotonic() - swept > SWEEP_SECONDS:
                swept = time.monotonic()
                sweep_finished(engine, store)
            outcome = run_next(engine, store, name, HANDLERS)
        except Exception:  # the database is unreachable for a moment: keep the worker alive
            log.exception("后台任务进程 %s：领取任务失败", name)
            outcome = None
        if outcome is None:
            stop.wait(settings.job_poll_seconds)


def run_worker_process() -> None:
    """One local worker process: runs jobs until SIGTERM (or SIGINT)."""
    log_to_console()
    signal.signal(signal.SIGTERM, _exit_now)
    work(threading.Event())


def _exit_now(*_: object) -> None:
    # A job in hand is not finished first: its lease runs out and another worker resumes it.
    raise SystemExit(0)


def start_local_workers(count: int) -> list[multiprocessing.process.BaseProcess]:
    """`count` local worker processes (spawned: no inherited database connections or threads).
    Not daemonic, because digitisation runs its OCR in child processes of its own."""
    spawn = multiprocessing.get_context("spawn")
    processes: list[multiprocessing.process.BaseProcess] = [
        spawn.Process(target=run_worker_process, name=f"archive-worker-{n + 1}") for n in range(count)
    ]
    for process in processes:
        process.start()
    return processes


def stop_local_workers(processes: list[multiprocessing.process.BaseProcess]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        process.join(timeout=10)
