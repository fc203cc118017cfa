"""The Celery side (ARCHIVE_BROKER_URL = redis://… or amqp://…): one task, `archive.run_job(job_id)`.

The message is only a doorbell; the job row decides (see jobs/runner.py). Acknowledged late and
rejected when its worker process dies, so a killed worker's job is delivered again.
"""

import logging
import threading
from functools import lru_cache

from celery import Celery
from celery.signals import worker_ready, worker_shutdown

from archive_service.config import get_settings

log = logging.getLogger("archive.jobs")
TASK = "archive.run_job"
QUEUE = "archive-jobs"


@lru_cache
def celery_app(broker_url: str) -> Celery:
    app = Celery("archive", broker=broker_url)
    app.conf.update(
        task_default_queue=QUEUE,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_ignore_result=True,
        worker_prefetch_multiplier=1,  # a long OCR job must not hold other jobs hostage in one process
        worker_hijack_root_logger=False,
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": 3600},  # Redis: redeliver unacked after an hour
    )

    @app.task(name=TASK)
    def run_job(job_id: int) -> str | None:
        from archive_service.db import get_engine
        from archive_service.jobs.kinds import HANDLERS
        from archive_service.jobs.runner import run_one, worker_name
        from archive_service.preservation.service import object_store

        outcome = run_one(get_engine(), object_store(), job_id, worker_name(), HANDLERS)
        if outcome.retry_in is not None:  # back-off, or held by another worker: look again later
            ring(job_id, countdown=outcome.retry_in)
        return outcome.state.value if outcome.state else None

    return app


def ring(job_id: int, countdown: float = 0) -> None:
    """Tell the workers that this job is (or will be) due."""
    celery_app(get_settings().broker_url).send_task(TASK, (job_id,), countdown=countdown or None)


_sweepers: list = []


class DoorbellSweeper(threading.Thread):
    """Every few seconds ring again the jobs that are due but that nobody took (a lost doorbell after a
    broker restart, a worker that died), and finish the clean-up of jobs whose worker died."""

    def __init__(self) -> None:
        super().__init__(name="job-doorbell-sweeper", daemon=True)
        self._stopping = threading.Event()  # not `_stop`: threading.Thread has a method of that name

    def run(self) -> None:
        from archive_service.db import get_engine
        from archive_service.jobs.runner import overdue, sweep_finished
        from archive_service.preservation.service import object_store

        settings = get_settings()
        engine, store = get_engine(), object_store()
        every = max(settings.job_poll_seconds * 5, 1.0)
        while not self._stopping.wait(every):
            try:
                for job_id in overdue(engine, older_than=settings.job_lease_seconds):
                    ring(job_id)
                sweep_finished(engine, store)
            except Exception:
                log.exception("补发任务通知失败")

    def stop(self) -> None:
        self._stopping.set()


@worker_ready.connect
def _start_sweeper(**_: object) -> None:
    sweeper = DoorbellSweeper()
    sweeper.start()
    _sweepers.append(sweeper)


@worker_shutdown.connect
def _stop_sweeper(**_: object) -> None:
    for sweeper in _sweepers:
        sweeper.stop()


def run_worker(processes: int, hostname: str) -> None:
    """A Celery worker (`archive worker`, after the process's start-up)."""
    app = celery_app(get_settings().broker_url)
    app.worker_main(
        ["worker", f"--concurrency={processes}", "--pool=prefork", "--loglevel=INFO", f"--hostname={hostname}"]
    )
