"""Claim, run and finish jobs; the same code for the local workers and for Celery. The handlers of
each kind of job are handed in (`jobs/kinds.HANDLERS`): the runner knows nothing of what jobs do.

A job is claimed by a compare-and-set on its row (queued and due, or running with an expired
lease → running under this worker), so two workers never hold one job, whatever the broker did.
The claimant renews its lease from a heartbeat thread; a worker that dies (kill -9, power cut)
simply stops renewing, and the job is claimed again once the lease has run out. Each attempt
must therefore be safe to repeat: the handlers resume from what is already done and record their
result in one transaction together with the job's end (see `JobContext.finish`).
"""

import logging
import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Select, and_, func, or_, select, update
from sqlalchemy.orm import Session

from archive_service.config import Settings, get_settings, job_folder, page_folder
from archive_service.db import as_utc, utcnow
from archive_service.dossiers.models import DigitalObject, Dossier
from archive_service.errors import ArchiveError
from archive_service.jobs.models import Job, JobKind, JobState
from storage import ObjectStore

log = logging.getLogger("archive.jobs")
MAX_BACKOFF_SECONDS = 15 * 60


class PermanentFailure(Exception):
    """The job cannot succeed by trying again (a QC failure, bad input): fail it at once with this reason."""


class LeaseLost(Exception):
    """Another worker took the job over (this one was presumed dead): stop without recording anything."""


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _due(now):
    return or_(
        and_(Job.state == JobState.queued, Job.run_after <= now),
        and_(Job.state == JobState.running, Job.lease_until < now),
    )


def _fair_turns(session: Session, now: datetime) -> list[int | None]:
    """The bureaus with due jobs, whose turn first: fewest jobs running now, then the one served longest ago,
    then the one waiting longest — round robin, so one bureau's backlog (a 50,000-page PDF, a whole campaign's
    scans) never holds up another bureau's one file. The system's own jobs (no bureau) take turns as one."""
    bureau = Job.organisation_id
    waiting = _by_bureau(session, select(bureau, func.min(Job.run_after)).where(_due(now)))
    running = _by_bureau(
        session, select(bureau, func.count()).where(Job.state == JobState.running, Job.lease_until >= now)
    )
    served = _by_bureau(session, select(bureau, func.max(Job.started_at)))
    never = datetime.min.replace(tzinfo=UTC)

    def turn(organisation: int | None) -> tuple[int, datetime, datetime]:
        last = served.get(organisation)
        return running.get(organisation, 0), as_utc(last) if last else never, as_utc(waiting[organisation])

    return sorted(waiting, key=turn)


def _by_bureau(session: Session, query: Select[Any, Any]) -> dict[int | None, Any]:
    return {organisation: value for organisation, value in session.execute(query.group_by(Job.organisation_id))}


def claim(engine: Engine, worker: str, job_id: int | None = None) -> int | None:
    """Take the next due job (or that one job) for `worker`, the bureaus taking turns; None when there is
    nothing to take."""
    lease = timedelta(seconds=get_settings().job_lease_seconds)
    with Session(engine) as session, session.begin():
        now = utcnow()
        query = select(Job.id).where(_due(now)).order_by(Job.run_after, Job.id).limit(5)
        if job_id is not None:
            query = query.where(Job.id == job_id)
        else:
            turns = _fair_turns(session, now)
            if not turns:
                return None
            query = query.where(Job.organisation_id.is_(None) if turns[0] is None else Job.organisation_id == turns[0])
        for candidate in session.scalars(query).all():
            taken = session.execute(
                update(Job)
                .where(Job.id == candidate, _due(now))
                .values(
                    state=JobState.running,
                    worker=worker,
                    lease_until=now + lease,
                    attempts=Job.attempts + 1,
                    done=0,
                    started_at=func.coalesce(Job.started_at, now),
                )
                .execution_options(synchronize_session=False)
            ).rowcount  # type: ignore[attr-defined]
            if taken:
                return candidate
    return None


@dataclass
class JobContext:
    """What a handler gets: its job's parameters, the stores, and the means to report and finish."""

    engine: Engine
    store: ObjectStore
    settings: Settings
    job_id: int
    kind: JobKind
    params: dict[str, Any]
    attempt: int
    worker: str
    finished: bool = False
    lost: bool = False
    units_done: int = 0
    _total: int | None = None
    _reported_at: float = 0.0

    def progress(self, done: int, total: int | None = None) -> None:
        """`done` more units finished (pages, objects); written at most once a second."""
        if self.lost:
            raise LeaseLost(f"job {self.job_id} was taken over by another worker")
        self.units_done += done
        self._total = total if total is not None else self._total
        now = time.monotonic()
        if now - self._reported_at >= 1.0 or (self._total is not None and self.units_done >= self._total):
            self._reported_at = now
            with Session(self.engine) as session, session.begin():
                session.execute(
                    update(Job)
                    .where(Job.id == self.job_id, Job.worker == self.worker)
                    .values(done=self.units_done, total=self._total)
                )

    def stage(self, keys: Iterable[str]) -> None:
        """Note objects this attempt is about to store, before storing them (committed at once)."""
        with Session(self.engine) as session, session.begin():
            job = session.get(Job, self.job_id)
            assert job is not None
            job.staged_keys = sorted(set(job.staged_keys or []) | set(keys))

    def finish(self, session: Session, result: dict[str, Any], failed: str | None = None) -> None:
        """End the job inside the handler's own transaction, so its work and its end commit together:
        a crash after the commit cannot make the next attempt do the work twice."""
        ended = session.execute(
            update(Job)
            .where(Job.id == self.job_id, Job.worker == self.worker, Job.state == JobState.running)
            .values(
                state=JobState.failed if failed else JobState.done,
                result=result,
                error=failed,
                finished_at=utcnow(),
                lease_until=None,
                done=self.units_done,
                total=self._total,
            )
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
        if not ended:
            raise LeaseLost(f"job {self.job_id} was taken over by another worker")
        self.finished = True


Handler = Callable[[JobContext], dict[str, Any] | None]
Handlers = dict[JobKind, Handler]


class _Heartbeat(threading.Thread):
    """Renews the lease while the handler works; notices when the job was taken over."""

    def __init__(self, context: JobContext, every: float) -> None:
        super().__init__(name=f"job-{context.job_id}-heartbeat", daemon=True)
        self.context, self.every = context, every
        self._stop = threading.Event()

    def run(self) -> None:
        lease = timedelta(seconds=self.context.settings.job_lease_seconds)
        while not self._stop.wait(self.every):
            try:
                with Session(self.context.engine) as session, session.begin():
                    kept = session.execute(
                        update(Job)
                        .where(
                            Job.id == self.context.job_id,
                            Job.worker == self.context.worker,
                            Job.state == JobState.running,
                        )
                        .values(lease_until=utcnow() + lease)
                    ).rowcount  # type: ignore[attr-defined]
                if not kept and not self.context.finished:
                    self.context.lost = True
                    return
            except Exception:  # the database is briefly unreachable: try again at the next beat
                log.warning("任务 %s：续租失败", self.context.job_id, exc_info=True)

    def stop(self) -> None:
        self._stop.set()


@dataclass
class RunOutcome:
    job_id: int
    state: JobState | None  # None: not claimed (done, failed, or held by another worker)
    retry_in: float | None = None  # seconds until the next attempt is due (Celery schedules its doorbell)


def run(engine: Engine, store: ObjectStore, job_id: int, worker: str, handlers: Handlers) -> RunOutcome:
    """Run one claimed job to its end or to its next attempt."""
    settings = get_settings()
    with Session(engine) as session:
        job = session.get(Job, job_id)
        assert job is not None
        context = JobContext(engine, store, settings, job.id, job.kind, dict(job.params), job.attempts, worker)
        over_limit = job.attempts > job.max_attempts
    if over_limit:  # each earlier attempt died with its worker (a poison input): stop trying
        return _give_up(context, f"处理进程中断 {context.attempt - 1} 次，已停止重试")
    heartbeat = _Heartbeat(context, every=max(settings.job_lease_seconds / 3, 0.5))
    heartbeat.start()
    try:
        if context.attempt > 1:
            sweep_staged(engine, store, job_id, keep=_inputs(context.params))
        result = handlers[context.kind](context)
        if not context.finished:
            with Session(engine) as session, session.begin():
                context.finish(session, result or {})
    except LeaseLost:
        log.warning("任务 %s：已由另一进程接手，本次执行停止", job_id)
        return RunOutcome(job_id, None)
    except (PermanentFailure, ArchiveError) as e:
        if isinstance(e, ArchiveError) and e.status >= 500:
            return _retry_or_fail(context, e)
        return _give_up(context, e.message if isinstance(e, ArchiveError) else str(e))
    except Exception as e:
        log.exception("任务 %s（%s）第 %s 次执行失败", job_id, context.kind, context.attempt)
        return _retry_or_fail(context, e)
    finally:
        heartbeat.stop()
    sweep_staged(engine, store, job_id)
    with Session(engine) as session:
        state = session.scalar(select(Job.state).where(Job.id == job_id))
    return RunOutcome(job_id, state)


def _inputs(params: dict[str, Any]) -> set[str]:
    return {scan["key"] for scan in params.get("scans", [])}


def backoff_seconds(attempt: int) -> float:
    """1×, 2×, 4×… the configured first delay, at most a quarter of an hour."""
    return float(min(get_settings().job_retry_seconds * 2 ** (attempt - 1), MAX_BACKOFF_SECONDS))


def _retry_or_fail(context: JobContext, error: Exception) -> RunOutcome:
    # What the job page shows: the library's own words (English) are for the server log, written above.
    failed = f"处理出错（{type(error).__name__}），详情已记入服务器日志"
    reason = error.message if isinstance(error, ArchiveError) else failed
    with Session(context.engine) as session:
        job = session.get(Job, context.job_id)
        assert job is not None
        if job.worker != context.worker or job.state is not JobState.running:
            return RunOutcome(context.job_id, None)
        attempts, max_attempts = job.attempts, job.max_attempts
    if attempts >= max_attempts:
        return _give_up(context, f"重试 {attempts} 次后仍失败：{reason}")
    delay = backoff_seconds(attempts)
    with Session(context.engine) as session, session.begin():
        session.execute(
            update(Job)
            .where(Job.id == context.job_id, Job.worker == context.worker)
            .values(
                state=JobState.queued, error=reason, lease_until=None, run_after=utcnow() + timedelta(seconds=delay)
            )
        )
    return RunOutcome(context.job_id, JobState.queued, retry_in=delay)


def _give_up(context: JobContext, reason: str) -> RunOutcome:
    with Session(context.engine) as session, session.begin():
        session.execute(
            update(Job)
            .where(Job.id == context.job_id, Job.worker == context.worker)
            .values(state=JobState.failed, error=reason[:2000], finished_at=utcnow(), lease_until=None)
        )
    sweep_staged(context.engine, context.store, context.job_id)
    discard_work(context.engine, context.settings, context.job_id)
    return RunOutcome(context.job_id, JobState.failed)


def discard_work(engine: Engine, settings: Settings, job_id: int) -> None:
    """A job given up keeps nothing in the work folder (issue 40): the scans fetched for it and, for a
    digitisation, the pages finished for its dossier, unless another unfinished job is on that dossier."""
    shutil.rmtree(job_folder(settings, job_id), ignore_errors=True)
    with Session(engine) as session:
        job = session.get(Job, job_id)
        if job is None or job.kind is not JobKind.digitise or "dossier_id" not in job.params:
            return
        dossier_id = job.params["dossier_id"]
        others = session.scalars(
            select(Job.params).where(
                Job.id != job_id, Job.kind == JobKind.digitise, Job.state.in_([JobState.queued, JobState.running])
            )
        )
        if any(params.get("dossier_id") == dossier_id for params in others):
            return
        code = session.scalar(select(Dossier.archival_code).where(Dossier.id == dossier_id))
    if code is not None:
        shutil.rmtree(page_folder(settings.digitise_work_dir, code), ignore_errors=True)


def sweep_staged(engine: Engine, store: ObjectStore, job_id: int, keep: set[str] = frozenset()) -> int:  # type: ignore[assignment]
    """Remove the objects a job staged that the catalogue does not record (and no other unfinished
    job still needs); keys in `keep` stay (an unfinished job's inputs). The number removed."""
    with Session(engine) as session, session.begin():
        job = session.get(Job, job_id)
        if job is None or not job.staged_keys:
            return 0
        staged = set(job.staged_keys) - keep
        recorded = set(session.scalars(select(DigitalObject.storage_key).where(DigitalObject.storage_key.in_(staged))))
        others = session.scalars(
            select(Job.staged_keys).where(
                Job.id != job_id, Job.state.in_([JobState.queued, JobState.running]), Job.staged_keys.is_not(None)
            )
        ).all()
        needed: set[str] = set().union(*(set(keys or []) for keys in others))
        removed = 0
        for key in sorted(staged - recorded - needed):
            if store.exists(key):
                store.delete(key)
                removed += 1
        job.staged_keys = sorted(keep & set(job.staged_keys)) or None
        return removed


def sweep_finished(engine: Engine, store: ObjectStore) -> int:
    """Finish the clean-up of jobs whose worker died between their end and their sweep (or that were cancelled)."""
    with Session(engine) as session:
        ended = session.execute(
            select(Job.id, Job.state).where(
                Job.state.in_([JobState.done, JobState.failed]), Job.staged_keys.is_not(None)
            )
        ).all()
    for job_id, state in ended:
        if state is JobState.failed:
            discard_work(engine, get_settings(), job_id)
    return sum(sweep_staged(engine, store, job_id) for job_id, _ in ended)


def run_next(engine: Engine, store: ObjectStore, worker: str, handlers: Handlers) -> RunOutcome | None:
    """Claim and run the next due job; None when none is due."""
    job_id = claim(engine, worker)
    return run(engine, store, job_id, worker, handlers) if job_id is not None else None


def run_one(engine: Engine, store: ObjectStore, job_id: int, worker: str, handlers: Handlers) -> RunOutcome:
    """Run this job if it is due; otherwise say when to look again."""
    if claim(engine, worker, job_id) is not None:
        return run(engine, store, job_id, worker, handlers)
    return _look_again(engine, job_id)


def answer_doorbell(engine: Engine, store: ObjectStore, rung: int, worker: str, handlers: Handlers) -> RunOutcome:
    """A Celery doorbell rung for job `rung`: run the next due job by the bureaus' turns, as a local worker does.
    The broker's queue is first come, first served: a doorbell that ran the job it names let one bureau's backlog,
    queued first, hold up every other bureau's file behind it. The job rung for, when another ran, is still due
    and is taken at the doorbell of the one that ran (each due job has one on its way, and the sweeper rings any
    left waiting). Nothing due: say when to look again at `rung`."""
    taken = claim(engine, worker)
    if taken is not None:
        return run(engine, store, taken, worker, handlers)
    return _look_again(engine, rung)


def _look_again(engine: Engine, job_id: int) -> RunOutcome:
    with Session(engine) as session:
        job = session.get(Job, job_id)
        if job is None or job.state in (JobState.done, JobState.failed):
            return RunOutcome(job_id, None)
        wake = job.lease_until if job.state is JobState.running else job.run_after
        wait = (as_utc(wake) - utcnow()).total_seconds() if wake else 1.0
        return RunOutcome(job_id, None, retry_in=max(wait, 0.0) + 1.0)


def overdue(engine: Engine, older_than: float) -> list[int]:
    """Jobs due for `older_than` seconds that nobody took (a lost doorbell, a dead worker), not rung
    again within five times that: Celery's sweeper rings these. Marks them rung."""
    now = utcnow()
    late = now - timedelta(seconds=older_than)
    with Session(engine) as session, session.begin():
        ids = list(
            session.scalars(
                select(Job.id).where(
                    _due(late), or_(Job.rung_at.is_(None), Job.rung_at < now - timedelta(seconds=5 * older_than))
                )
            )
        )
        if ids:
            session.execute(update(Job).where(Job.id.in_(ids)).values(rung_at=now))
        return ids
