"""Worker processes: the local loop over the job table, or a Celery worker when a broker is set.

Local (the embedded default): each process claims the next due job from the database and runs it;
`archive serve` starts `ARCHIVE_JOB_WORKERS` of them beside the web server. With Celery, `archive
worker` on any host runs the same jobs, woken by the broker; its sweeper re-rings jobs whose
doorbell was lost (a broker restart) or whose worker died (an expired lease) — in `celery_app.py`.
"""

import ctypes
import logging
import multiprocessing
import os
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
KEEP_SECONDS = 2.0  # how often the server looks for a worker that has died


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


def run_worker_process(parent: int | None = None) -> None:
    """One local worker process: runs jobs until SIGTERM (or SIGINT), or until `parent` (the server that
    started it) is gone."""
    log_to_console()
    signal.signal(signal.SIGTERM, _exit_now)
    if parent is not None:
        _end_with(parent)
    work(threading.Event())


def _end_with(parent: int) -> None:
    # A server killed outright (SIGKILL, out of memory) left its workers running on, unseen, beside the ones
    # the next start made. Linux sends this process SIGTERM when the process that started it dies.
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the worker ends with its lease like any dead one
        pass
    if os.getppid() != parent:  # it died before the request was made
        raise SystemExit(0)


def _exit_now(*_: object) -> None:
    # A job in hand is not finished first: its lease runs out and another worker resumes it. Its page processes go
    # first: the pool's shutdown otherwise waited for the pages in hand (over 20 s under a full test run's load).
    for child in multiprocessing.active_children():
        child.kill()
    raise SystemExit(0)


class LocalWorkers:
    """`count` local worker processes, kept at that number until `stop()`: one that dies (killed, out of memory)
    is replaced within seconds — before, the server ran on with one worker fewer, and with none digitised
    nothing. Spawned (no inherited database connections or threads), not daemonic (digitisation runs its OCR
    in child processes of its own), and each ends with this process."""

    def __init__(self, count: int) -> None:
        self._spawn = multiprocessing.get_context("spawn")
        self._stopping = threading.Event()
        self.processes = [self._start(n) for n in range(count)]
        self._keeper = threading.Thread(target=self._keep, name="job-worker-keeper", daemon=True)
        if count:
            self._keeper.start()

    def _start(self, n: int) -> multiprocessing.process.BaseProcess:
        process = self._spawn.Process(target=run_worker_process, args=(os.getpid(),), name=f"archive-worker-{n + 1}")
        process.start()
        return process

    def _keep(self) -> None:
        while not self._stopping.wait(KEEP_SECONDS):
            for n, process in enumerate(self.processes):
                if process.exitcode is not None and not self._stopping.is_set():
                    log.warning("后台任务进程 %s 已退出（退出码 %s），已重新启动", process.name, process.exitcode)
                    self.processes[n] = self._start(n)

    def wait(self) -> None:
        """Until SIGTERM or Ctrl+C (`archive worker --processes N`)."""
        while not self._stopping.wait(3600):
            pass

    def stop(self) -> None:
        self._stopping.set()
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.join(timeout=10)
