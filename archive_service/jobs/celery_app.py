"""The Celery side (ARCHIVE_BROKER_URL = redis://… or amqp://…): one task, `archive.run_job(job_id)`.

The message is only a doorbell; the job row decides (see jobs/service.py). Acknowledged late and
rejected when its worker process dies, so a killed worker's job is delivered again.
"""

from functools import lru_cache

from celery import Celery
from celery.signals import worker_ready, worker_shutdown

from archive_service.config import get_settings

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
        from archive_service.jobs.service import run_one, worker_name
        from archive_service.preservation.service import object_store

        outcome = run_one(get_engine(), object_store(), job_id, worker_name())
        if outcome.retry_in is not None:  # back-off, or held by another worker: look again later
            ring(job_id, countdown=outcome.retry_in)
        return outcome.state.value if outcome.state else None

    return app


def ring(job_id: int, countdown: float = 0) -> None:
    """Tell the workers that this job is (or will be) due."""
    celery_app(get_settings().broker_url).send_task(TASK, (job_id,), countdown=countdown or None)


_sweepers: list = []


@worker_ready.connect
def _start_sweeper(**_: object) -> None:
    from archive_service.jobs.worker import DoorbellSweeper

    sweeper = DoorbellSweeper()
    sweeper.start()
    _sweepers.append(sweeper)


@worker_shutdown.connect
def _stop_sweeper(**_: object) -> None:
    for sweeper in _sweepers:
        sweeper.stop()


def run_worker(processes: int, hostname: str) -> None:
    import archive_service.models  # noqa: F401

    app = celery_app(get_settings().broker_url)
    app.worker_main(
        ["worker", f"--concurrency={processes}", "--pool=prefork", "--loglevel=INFO", f"--hostname={hostname}"]
    )
