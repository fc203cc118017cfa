"""Keeping the index in step: apply the outbox, rebuild, verify.

One applier at a time (a PostgreSQL advisory lock, or a file lock beside the SQLite database):
two appliers could otherwise write an older document over a newer one. An outbox row is deleted
only after its dossier's document is in the index, in the same loop turn, so a crash at any
point leaves the row to be applied again — applying is idempotent — and never loses an update.
"""

import fcntl
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session

from archive_service.dossiers.models import Dossier
from archive_service.finding.documents import documents
from archive_service.finding.models import SearchOutbox
from search import DocumentsIndexed, SearchIndex

log = logging.getLogger("archive.search")
APPLIER_LOCK = 0x5EA4C4  # pg_advisory_lock key of the outbox applier
BATCH = 200


@contextmanager
def applier_lock(engine: Engine, *, wait: bool) -> Iterator[bool]:
    """Hold the one-applier lock; yields False (without waiting) when another holds it."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            if wait:
                conn.execute(select(func.pg_advisory_lock(APPLIER_LOCK)))
                got = True
            else:
                got = bool(conn.scalar(select(func.pg_try_advisory_lock(APPLIER_LOCK))))
            conn.commit()
            try:
                yield got
            finally:
                if got:
                    conn.execute(select(func.pg_advisory_unlock(APPLIER_LOCK)))
                    conn.commit()
        return
    path = Path(engine.url.database or "archive.db").with_suffix(".search-applier.lock")
    with open(path, "a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
            got = True
        except BlockingIOError:
            got = False
        try:
            yield got
        finally:
            if got:
                fcntl.flock(f, fcntl.LOCK_UN)


def apply_outbox(engine: Engine, index: SearchIndex, *, wait: bool = False, batch: int = BATCH) -> int:
    """Bring every queued dossier's document into the index; the number of dossiers applied.

    Returns 0 at once when another applier is at work (unless `wait`).
    """
    applied: set[int] = set()
    with applier_lock(engine, wait=wait) as got:
        if not got:
            return 0
        while True:
            with Session(engine) as session:
                rows = session.execute(
                    select(SearchOutbox.id, SearchOutbox.dossier_id).order_by(SearchOutbox.id).limit(batch)
                ).all()
                if not rows:
                    return len(applied)
                wanted = {r.dossier_id for r in rows}
                # Read after the outbox rows: each document is at least as new as the change that queued it.
                docs = list(documents(session, wanted))
                gone = wanted - {d.dossier_id for d in docs}
                if docs:
                    index.upsert(docs)
                if gone:
                    index.delete(sorted(gone))
                session.execute(delete(SearchOutbox).where(SearchOutbox.id.in_([r.id for r in rows])))
                session.commit()
                applied |= wanted


def reindex(engine: Engine, index: SearchIndex, progress: DocumentsIndexed | None = None) -> int:
    """Rebuild the whole index from the database and switch to it at once; the number indexed.

    Holds the applier lock throughout: changes made meanwhile wait in the outbox and are applied
    to the new index afterwards, not to the old one that is about to be dropped.
    """
    with applier_lock(engine, wait=True), Session(engine) as session:
        total = session.scalar(select(func.count()).select_from(Dossier)) or 0
        return index.rebuild(documents(session), progress=(lambda n, _: progress(n, total)) if progress else None)


@dataclass
class VerifyReport:
    dossiers: int = 0
    missing: list[str] = field(default_factory=list)  # 档号 in the database, not in the index
    stale: list[str] = field(default_factory=list)  # indexed, but not as the database has it now
    extra: list[int] = field(default_factory=list)  # dossier ids in the index the database lacks
    pending: int = 0  # dossiers queued in the outbox: expected to differ until applied

    @property
    def ok(self) -> bool:
        return not (self.missing or self.stale or self.extra)


def verify(engine: Engine, index: SearchIndex) -> VerifyReport:
    """Compare every dossier's document with the index (fingerprints); queued dossiers aside."""
    report = VerifyReport()
    indexed = index.fingerprints()
    with Session(engine) as session:
        queued = set(session.scalars(select(SearchOutbox.dossier_id).distinct()))
        report.pending = len(queued)
        for doc in documents(session):
            report.dossiers += 1
            have = indexed.pop(doc.dossier_id, None)
            if doc.dossier_id in queued:
                continue
            if have is None:
                report.missing.append(doc.archival_code)
            elif have != doc.fingerprint():
                report.stale.append(doc.archival_code)
    report.extra = sorted(i for i in indexed if i not in queued)
    return report


class OutboxApplier(threading.Thread):
    """The embedded installation's local worker: applies the outbox every few seconds."""

    def __init__(self, engine: Engine, index: SearchIndex, interval: float) -> None:
        super().__init__(name="search-outbox", daemon=True)
        self.engine, self.index, self.interval = engine, index, interval
        self._stopping = threading.Event()  # not `_stop`: threading.Thread has a method of that name

    def run(self) -> None:
        while not self._stopping.wait(self.interval):
            try:
                apply_outbox(self.engine, self.index)
            except Exception:  # the rows stay queued; the next turn tries again
                log.exception("写入检索索引失败（待办队列）")

    def stop(self) -> None:
        self._stopping.set()
        self.join(timeout=30)
