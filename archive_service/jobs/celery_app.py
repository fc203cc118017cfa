"""The Celery side (ARCHIVE_BROKER_URL = redis://… or amqp://…): one task, `archive.run_job(job_id)`.

The message is only a doorbell; the job row decides (see jobs/runner.py), and the bureaus take turns as with
local workers: a doorbell runs whichever due job's turn it is (runner.answer_doorbell). Acknowledged late and
rejected when its worker process dies, so a killed worker's job is delivered again.
"""

import logging
import threading

from celery import Celery
from celery.signals import worker_ready, worker_shutdown

from archive_service.adapters import JOB_TASK, job_broker, ring_doorbell
from archive_service.config import get_settings

log = logging.getLogger("archive.jobs")


def run_job(job_id: int) -> str | None:
    from archive_service.adapters import object_store
    from archive_service.db import get_engine
    from archive_service.jobs.kinds import HANDLERS
    from archive_service.jobs.runner import answer_doorbell, worker_name

    # The bureaus take turns here too: the job run may be another bureau's than the one rung for.
    outcome = answer_doorbell(get_engine(), object_store(), job_id, worker_name(), HANDLERS)
    if outcome.retry_in is not None:  # back-off, or held by another worker: look again later
        ring_doorbell(outcome.job_id, countdown=outcome.retry_in)
    return outcome.state.value if outcome.state else None


def worker_app() -> Celery:
    """The configured broker's app with its task, for `archive worker`."""
    app = job_broker()
    if JOB_TASK not in app.tasks:
        app.task(name=JOB_TASK)(run_job)
    return app


_sweepers: list = []


class DoorbellSweeper(threading.Thread):
    """Every few seconds ring again the jobs that are due but that nobody took (a lost doorbell after a
    broker restart, a worker that died), and finish the clean-up of jobs whose worker died."""

    def __init__(self) -> None:
        super().__init__(name="job-doorbell-sweeper", daemon=True)
        self._stopping = threading.Event()  # not `_stop`: threading.Thread has a method of that name

    def run(self) -> None:
        from archive_service.adapters import object_store
        from archive_service.db import get_engine
        from archive_service.jobs.runner import overdue, sweep_finished

        settings = get_settings()
        engine, store = get_engine(), object_store()
        every = max(settings.job_poll_seconds * 5, 1.0)
        while not self._stopping.wait(every):
            try:
                for job_id in overdue(engine, older_than=settings.job_lease_seconds):
                    ring_doorbell(job_id)
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
    worker_app().worker_main(
        ["worker", f"--concurrency={processes}", "--pool=prefork", "--loglevel=INFO", f"--hostname={hostname}"]
    )
