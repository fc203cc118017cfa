"""The adapters this process talks to, each chosen from the settings here and nowhere else: the object store
(`storage/`), the search index (`search/`) and the job broker (Celery on Redis or RabbitMQ, when one is set;
without one, local workers poll the job table).

Each is made once and made again only when the settings are (an S3 bucket's checks — exists, versioning,
object lock — run when the store is made, not on every page view); a test that sets other settings gets
adapters for them. Routes get them with `Depends(object_store)`; jobs and commands are handed them. The OCR
engine is the one choice not made here: it is the bureau's per-run setting, carried in `DigitiseOptions`
to the page workers and made there by `digitise.ocr.engine`.
"""

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from archive_service.config import Settings, get_settings
from archive_service.errors import ArchiveError
from search import EmbeddedSearchIndex, SearchIndex
from storage import LocalObjectStore, ObjectStore, S3ObjectStore

if TYPE_CHECKING:
    from celery import Celery

JOB_TASK = "archive.run_job"  # the broker's one task: a doorbell for a job of the job table (jobs/celery_app.py)
JOB_QUEUE = "archive-jobs"
Adapter = TypeVar("Adapter")
_made: dict[str, tuple[Settings, object]] = {}
_making = threading.Lock()


def _for_settings(name: str, make: Callable[[Settings], Adapter]) -> Adapter:
    settings = get_settings()
    with _making:  # two request threads must not both make (and check) an S3 bucket
        held = _made.get(name)
        if held is None or held[0] is not settings:
            held = _made[name] = (settings, make(settings))
    return held[1]  # type: ignore[return-value]  # made by `make` for this name


def object_store() -> ObjectStore:
    """This process's configured object store."""
    return _for_settings("object store", open_store)


def search_index() -> SearchIndex:
    """This process's configured search index."""
    return _for_settings("search index", open_index)


def open_store(settings: Settings, spec: str | None = None) -> ObjectStore:
    """The configured store, or one named by a spec: `local:/path/to/dir` or `s3` (ARCHIVE_S3_* settings)."""
    spec = spec or ("s3" if settings.object_store == "s3" else f"local:{settings.resolved_object_dir}")
    if spec.startswith("local:"):
        return LocalObjectStore(Path(spec[len("local:") :]))
    if spec == "s3" or spec.startswith("s3:"):
        bucket = spec[3:] or settings.s3_bucket
        return S3ObjectStore(
            settings.s3_endpoint,
            settings.s3_access_key,
            settings.s3_secret_key,
            bucket,
            secure=settings.s3_secure,
        )
    raise ArchiveError("store.spec", f"无法识别的存储位置 {spec}：应为 local:/目录 或 s3[:桶名]", "to")


def open_index(settings: Settings) -> SearchIndex:
    if settings.search_backend == "elasticsearch":
        from search.elastic import ElasticsearchIndex

        return ElasticsearchIndex(settings.elasticsearch_url, settings.elasticsearch_alias)
    return EmbeddedSearchIndex(settings.resolved_search_dir)


def job_broker() -> "Celery":
    """The configured broker's Celery app: doorbells are sent through it, `archive worker` runs its task."""
    return _for_settings("job broker", lambda settings: open_broker(settings.broker_url))


def open_broker(url: str) -> "Celery":
    from celery import Celery  # loaded only where a broker is set

    app = Celery("archive", broker=url)
    app.conf.update(
        task_default_queue=JOB_QUEUE,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_ignore_result=True,
        worker_prefetch_multiplier=1,  # a long OCR job must not hold other jobs hostage in one process
        worker_hijack_root_logger=False,
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": 3600},  # Redis: redeliver unacked after an hour
    )
    return app


def ring_doorbell(job_id: int, countdown: float = 0) -> None:
    """Tell the broker's workers that a job is (or will be) due."""
    job_broker().send_task(JOB_TASK, (job_id,), countdown=countdown or None)
