"""What every process does once before its first session: know every table and mapper, and install the
session hooks the rules rely on. Called by each entry point — the web app (`app.create_app`), the
`archive` command, a spawned job worker, the test suite — and safe to call again.

- every flush queues the dossiers it changed for the search index (`finding/outbox.py`);
- objects stored in a transaction that rolls back are removed again (`preservation/service.py`);
- with a broker, a job queued in a committed transaction rings its doorbell (`jobs/queue.py`).
"""

from archive_service import db
from archive_service import models as _models  # noqa: F401  every table and mapper
from archive_service.finding import outbox
from archive_service.jobs import queue
from archive_service.preservation import service as preservation


def start() -> None:
    outbox.install()
    preservation.install()
    queue.install(doorbell=_ring)
    db.started()


def _ring(job_id: int) -> None:
    from archive_service.jobs.celery_app import ring  # Celery is loaded only where a broker rings

    ring(job_id)
