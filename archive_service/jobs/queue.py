"""The job queue: what pages, the API and domain services use to start jobs and read them.

A job is a row (`jobs/models.py`); queueing it is part of the caller's transaction. With a broker
(Celery), a doorbell rings once that transaction commits — the ringer is handed in at start-up
(`install`), so this module knows nothing of Celery. Running jobs is `jobs/runner.py`.
"""

import logging
from collections.abc import Iterable
from typing import Any

from sqlalchemy import event, or_, select, update
from sqlalchemy.orm import Session

from archive_service import adapters
from archive_service.auth.models import User
from archive_service.auth.permissions import Action, require
from archive_service.config import get_settings
from archive_service.db import utcnow
from archive_service.errors import ArchiveError, NotFound
from archive_service.jobs.models import Job, JobKind, JobState

log = logging.getLogger("archive.jobs")
_TO_RING = "jobs_to_ring_after_commit"


def install() -> None:
    """Start-up: with a broker configured, a job queued in a transaction rings its doorbell once that commits
    (without one, local workers poll the table)."""
    for name, listener in (("after_commit", _ring_after_commit), ("after_rollback", _forget_doorbells)):
        if not event.contains(Session, name, listener):
            event.listen(Session, name, listener)


def enqueue(
    session: Session,
    kind: JobKind,
    params: dict[str, Any],
    *,
    actor: User | None = None,
    dossier_id: int | None = None,
    staged_keys: Iterable[str] = (),
    total: int | None = None,
) -> Job:
    """Queue a job in the caller's transaction; with a broker, its doorbell rings once that commits."""
    settings = get_settings()
    job = Job(
        kind=kind,
        params=params,
        created_by_id=actor.id if actor else None,
        organisation_id=actor.organisation_id if actor else None,
        dossier_id=dossier_id,
        staged_keys=list(staged_keys) or None,
        total=total,
        max_attempts=settings.job_max_attempts,
    )
    session.add(job)
    session.flush()
    if settings.broker_url:
        session.info.setdefault(_TO_RING, []).append(job.id)
    return job


def _forget_doorbells(session: Session) -> None:
    session.info.pop(_TO_RING, None)


def _ring_after_commit(session: Session) -> None:
    """Send the doorbells of jobs queued in a transaction that has just committed (Celery only)."""
    ids = session.info.pop(_TO_RING, [])
    for job_id in ids:
        try:
            adapters.ring_doorbell(job_id)
        except Exception:  # the broker is down: the job stays queued and a worker's sweep rings again
            log.warning("任务 %s 未能通知消息队列；后台进程稍后会自行领取", job_id)


# ---- starting and reading jobs (pages and API) ------------------------------------------------


def start_maintenance(session: Session, user: User, kind: str, sample: int | None, to: str | None) -> Job:
    """A fixity check, a replication or a reindex, ordered by an administrator."""
    require(user, Action.run_maintenance)
    if kind == JobKind.replicate:
        if not to:
            raise ArchiveError("to.required", "请填写复制目标（local:/目录 或 s3[:桶名]）", "to", 422)
        if to not in get_settings().replica_targets:  # not any path on the server a web request names
            allowed = "、".join(get_settings().replica_targets) or "（未配置，请在服务器上用 archive replicate）"
            raise ArchiveError("to.not_configured", f"复制目标须为配置的目标之一：{allowed}", "to", 422)
        return enqueue(session, JobKind.replicate, {"to": to}, actor=user)
    if kind == JobKind.fixity:
        return enqueue(session, JobKind.fixity, {"sample": sample}, actor=user)
    return enqueue(session, JobKind.search_reindex, {}, actor=user)


def get_job(session: Session, user: User, job_id: int) -> Job:
    require(user, Action.view_jobs)
    job = session.get(Job, job_id)
    if job is None or job.organisation_id not in (None, user.organisation_id):
        raise NotFound("该任务", "job_id")
    return job


def list_jobs(session: Session, user: User, state: JobState | None = None, limit: int = 100) -> list[Job]:
    require(user, Action.view_jobs)
    query = select(Job).where(or_(Job.organisation_id.is_(None), Job.organisation_id == user.organisation_id))
    if state:
        query = query.where(Job.state == state)
    return list(session.scalars(query.order_by(Job.id.desc()).limit(limit)))


def cancel_job(session: Session, user: User, job_id: int) -> Job:
    """Stop a queued or running job of the bureau (a wrong file, a 50,000-page PDF): it ends as failed, saying
    who stopped it. A running job's worker notices at its next heartbeat (it no longer holds a running job) and
    stops at its next page; what it had staged is swept like any failed job's."""
    job = get_job(session, user, job_id)
    ended = session.execute(
        update(Job)
        .where(Job.id == job.id, Job.state.in_([JobState.queued, JobState.running]))
        .values(state=JobState.failed, error=f"已由{user.display_name}取消", finished_at=utcnow(), lease_until=None)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if not ended:
        raise ArchiveError("job.finished", "该任务已经结束，无需取消", "job_id", 409)
    session.refresh(job)
    return job
