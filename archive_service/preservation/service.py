"""Keeping objects for decades: ingest with checksums, fixity checks, second copies, audited deletion.

The database's digital_object rows are the catalogue of what must exist; every store is checked
against them.
"""

import io
import logging
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, cast

from cryptography.hazmat.primitives import hashes
from sqlalchemy import event, func, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from archive_service.auth.models import Role, User
from archive_service.db import utcnow
from archive_service.dossiers.models import DigitalObject, Dossier
from archive_service.errors import ArchiveError, Forbidden
from archive_service.preservation.models import FixityCheck, FixityRun, ObjectDeletion
from storage import ObjectStore, StorageError, StoredObject
from storage.port import FixityResult, ObjectMissing

log = logging.getLogger("archive.preservation")
ObjectDone = Callable[[int, int], None]  # one object checked or copied: (its bytes, 1)


def ingest(
    session: Session,
    store: ObjectStore,
    dossier: Dossier,
    path: Path,
    *,
    role: str,
    name: str,
    media_type: str,
    **metadata: object,
) -> DigitalObject:
    """Store a file and record it as the next version of `name` in the dossier.

    If recording fails, an object this call newly created is removed again, so the store holds
    no object the database does not know of.
    """
    stored = store.put_file(path)
    try:
        if bureau_hash_algorithm(session, dossier.custodian_id) == "sm3":
            metadata.setdefault("sm3", sm3_of_file(path))
        version = (
            session.scalar(
                select(func.max(DigitalObject.version)).where(
                    DigitalObject.dossier_id == dossier.id, DigitalObject.name == name
                )
            )
            or 0
        ) + 1
        obj = DigitalObject(
            dossier_id=dossier.id,
            role=role,
            name=name,
            version=version,
            storage_key=stored.key,
            sha256=stored.sha256,
            size=stored.size,
            media_type=media_type,
            **metadata,
        )
        session.add(obj)
        session.flush()
    except Exception:
        if stored.created:
            store.delete(stored.key)
        raise
    if stored.created:
        session.info.setdefault(_CREATED, []).append((store, stored.key))
    return obj


def bureau_hash_algorithm(session: Session, organisation_id: int) -> str:
    """SHA-256 or SM3: the bureau's choice in its security policy (auth/policy.py) for fixity sums."""
    chosen = session.execute(
        text("SELECT hash_algorithm FROM security_policy WHERE organisation_id = :o"), {"o": organisation_id}
    ).scalar()
    return chosen or "sha256"


def sm3_of_file(path: Path) -> str:
    h = hashes.Hash(hashes.SM3())
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.finalize().hex()


def _verify_both(store: ObjectStore, key: str, sha256: str) -> tuple[FixityResult, str | None]:
    """SHA-256 and SM3 of a stored object in one read (a bureau that chose SM3); missing: (result, None)."""
    import hashlib

    sha, sm3 = hashlib.sha256(), hashes.Hash(hashes.SM3())
    size = 0
    try:
        for chunk in store.open(key):
            sha.update(chunk)
            sm3.update(chunk)
            size += len(chunk)
    except ObjectMissing:
        return FixityResult(key, sha256, None, 0), None
    return FixityResult(key, sha256, sha.hexdigest(), size), sm3.finalize().hex()


def stage_upload(session: Session, store: ObjectStore, path: Path) -> StoredObject:
    """Keep a file a job will need (scans for a worker on another host). Removed again if the
    transaction that wanted it rolls back; the job that references it removes it when it ends."""
    stored = store.put_file(path)
    if stored.created:
        session.info.setdefault(_CREATED, []).append((store, stored.key))
    return stored


# Objects put during a transaction that is rolled back later (a failed step after the ingest)
# are removed again, so the store never keeps an object the database does not record.
_CREATED = "objects_created_in_transaction"


def install() -> None:
    """Start-up: objects put in a transaction that rolls back are removed again (every session)."""
    for name, listener in (("after_commit", _keep_created_objects), ("after_rollback", _discard_created_objects)):
        if not event.contains(Session, name, listener):
            event.listen(Session, name, listener)


def _keep_created_objects(session: Session) -> None:
    session.info.pop(_CREATED, None)
    for store, key in session.info.pop(_DESTROYED, []):
        try:
            store.delete(key)
        except StorageError:  # recorded as destroyed, skipped by fixity, replication and backup; removed by hand
            log.exception("销毁的存储对象 %s 未能从存储中删除，请人工删除", key)


def _discard_created_objects(session: Session) -> None:
    session.info.pop(_DESTROYED, None)  # the disposal rolled back: the objects stay, as their records say
    created = session.info.pop(_CREATED, [])
    if not created:
        return
    with Session(bind=session.get_bind()) as check:
        for store, key in created:
            # Content-addressed: another transaction may have recorded the same bytes meanwhile.
            if not check.scalar(select(func.count()).where(DigitalObject.storage_key == key)):
                store.delete(key)


def count_recorded_objects(session: Session) -> int:
    return session.scalar(select(func.count(func.distinct(DigitalObject.storage_key)))) or 0


def _deleted_keys(session: Session) -> set[str]:
    return set(session.scalars(select(ObjectDeletion.storage_key)))


@dataclass
class FixityReport:
    run_id: int
    checked: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)  # (key, outcome)
    bytes_read: int = 0

    @property
    def ok(self) -> bool:
        return not self.failures


def check_fixity(
    sessions: sessionmaker[Session],
    store: ObjectStore,
    *,
    sample: int | None = None,
    resume: bool = False,
    max_mb_per_s: float | None = None,
    progress: ObjectDone | None = None,
    batch: int = 50,
) -> FixityReport:
    """Re-verify recorded SHA-256s. Each check is committed as it is made (in small batches), so
    an interrupted run resumes after the last committed key with `resume=True`."""
    with sessions() as session, session.begin():
        run = None
        if resume:
            run = session.scalar(
                select(FixityRun)
                .where(FixityRun.finished_at.is_(None), FixityRun.store == store.description)
                .order_by(FixityRun.id.desc())
            )
        if run is None:
            run = FixityRun(store=store.description, sample_size=sample)
            session.add(run)
            session.flush()
        run_id, after = run.id, run.last_key
        skip = _deleted_keys(session)
        rows = session.execute(
            select(DigitalObject.storage_key, DigitalObject.sha256)
            .where(DigitalObject.storage_key > after)
            .distinct()
            .order_by(DigitalObject.storage_key)
        ).all()
        # SM3 as well where it was recorded, or where the custodian bureau chose SM3 (recorded at the first check).
        sm3: dict[str, str | None] = {}
        sm3_bureaus = set(
            session.scalars(text("SELECT organisation_id FROM security_policy WHERE hash_algorithm='sm3'"))
        )
        for key, recorded, custodian in session.execute(
            select(DigitalObject.storage_key, DigitalObject.sm3, Dossier.custodian_id)
            .join(Dossier, DigitalObject.dossier_id == Dossier.id)
            .where(DigitalObject.storage_key > after)
        ):
            if recorded or custodian in sm3_bureaus:
                sm3[key] = recorded or sm3.get(key)
    targets = [(k, s) for k, s in rows if k not in skip]
    if sample is not None and sample < len(targets):
        # A seeded sample per run: repeatable if resumed, different from one run to the next.
        targets = sorted(random.Random(run_id).sample(targets, sample))
    report = FixityReport(run_id)
    started = time.monotonic()
    pending: list[FixityCheck] = []

    def flush(last_key: str, finished: bool = False) -> None:
        with sessions() as session, session.begin():
            session.add_all(pending)
            run = session.get(FixityRun, run_id)
            assert run is not None
            run.last_key = last_key
            run.checked += len(pending)
            run.failures += sum(1 for c in pending if c.outcome != "ok")
            if finished:
                run.finished_at = utcnow()
        pending.clear()

    last = after
    for key, sha256 in targets:
        outcome = None
        if key in sm3:
            result, actual_sm3 = _verify_both(store, key, sha256)
            expected_sm3 = sm3[key]
            if result.ok and expected_sm3 is None and actual_sm3:  # SHA-256 holds: its SM3 is recorded from now on
                with sessions() as session, session.begin():
                    session.execute(
                        update(DigitalObject)
                        .where(DigitalObject.storage_key == key, DigitalObject.sm3.is_(None))
                        .values(sm3=actual_sm3)
                    )
            elif result.ok and actual_sm3 != expected_sm3:
                outcome = "mismatch"
        else:
            result = store.verify(key, sha256)
        outcome = outcome or result.outcome
        pending.append(
            FixityCheck(
                run_id=run_id,
                storage_key=key,
                outcome=outcome,
                expected_sha256=sha256,
                actual_sha256=result.actual_sha256,
            )
        )
        report.checked += 1
        report.bytes_read += result.size
        if outcome != "ok":
            report.failures.append((key, outcome))
        if progress:
            progress(result.size, 1)
        last = key
        if len(pending) >= batch:
            flush(last)
        if max_mb_per_s:  # stay under the rate so daytime work is not starved of disk
            ahead = report.bytes_read / (max_mb_per_s * 1024 * 1024) - (time.monotonic() - started)
            if ahead > 0:
                time.sleep(ahead)
    flush(last, finished=True)
    return report


def fixity_alerts(session: Session, organisation_id: int) -> list[FixityCheck]:
    """Objects of this bureau's dossiers whose latest check failed: shown on the dashboard."""
    latest = (
        select(FixityCheck.storage_key, func.max(FixityCheck.id).label("id"))
        .group_by(FixityCheck.storage_key)
        .subquery()
    )
    return list(
        session.scalars(
            select(FixityCheck)
            .join(latest, FixityCheck.id == latest.c.id)
            .join(DigitalObject, DigitalObject.storage_key == FixityCheck.storage_key)
            .join(Dossier, Dossier.id == DigitalObject.dossier_id)
            .where(FixityCheck.outcome != "ok", Dossier.custodian_id == organisation_id)
            .distinct()
        )
    )


@dataclass
class ReplicationReport:
    total: int = 0
    copied: int = 0
    already_there: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed


def replicate(
    session: Session, source: ObjectStore, target: ObjectStore, *, progress: ObjectDone | None = None
) -> ReplicationReport:
    """Copy every recorded object that the target lacks, verify each copy, then compare the whole
    catalogue against the target (count and checksums). Run again: copies only what is new."""
    skip = _deleted_keys(session)
    rows = [
        (k, s)
        for k, s in session.execute(
            select(DigitalObject.storage_key, DigitalObject.sha256).distinct().order_by(DigitalObject.storage_key)
        ).all()
        if k not in skip
    ]
    report = ReplicationReport(total=len(rows))
    for key, sha256 in rows:
        size = 0
        try:
            if target.exists(key):
                report.already_there += 1
            else:
                chunks = cast(BinaryIO, _ChunkReader(source.open(key)))  # read as a binary file, as put_stream reads
                stored = target.put_stream(chunks, expected_sha256=sha256)
                size = stored.size
                if not target.verify(key, sha256).ok:
                    raise StorageError("copy does not verify")
                report.copied += 1
        except StorageError as e:
            report.failed.append((key, str(e)))
        if progress:
            progress(size, 1)
    # Final comparison: every recorded object is present in the target with its checksum.
    for key, sha256 in rows:
        if key not in dict(report.failed) and not target.verify(key, sha256).ok:
            report.failed.append((key, "missing or different in the target after copying"))
    return report


def delete_object(session: Session, store: ObjectStore, actor: User, storage_key: str, reason: str) -> None:
    """The only way an archival object is destroyed: an administrator, a stated reason, a record first."""
    if actor.role is not Role.administrator:
        raise Forbidden("只有系统管理员可以销毁存储对象")
    if len(reason.strip()) < 5:
        raise ArchiveError("reason.too_short", "销毁存储对象必须写明理由（至少5个字）", "reason")
    if session.scalar(select(DigitalObject.id).where(DigitalObject.storage_key == storage_key)) is None:
        raise ArchiveError("storage_key.unknown", f"没有登记为 {storage_key} 的数字对象", "storage_key", 404)
    session.add(
        ObjectDeletion(storage_key=storage_key, store=store.description, actor_id=actor.id, reason=reason.strip())
    )
    session.flush()  # the record is written in the same transaction; if deleting fails, it rolls back
    store.delete(storage_key)


# Objects a disposal destroys (disposal/service.py) leave the store only once the transaction that records their
# destruction has committed: a disposal that fails half-way leaves every object and its record as they were.
_DESTROYED = "objects_destroyed_at_commit"


def destroy_at_commit(session: Session, store: ObjectStore, actor: User, storage_key: str, reason: str) -> None:
    """An object destroyed on an approved 销毁清册: its deletion recorded now (the DigitalObject rows stay, with
    their checksums, as the record of what was destroyed), the bytes removed from the store at commit."""
    session.add(ObjectDeletion(storage_key=storage_key, store=store.description, actor_id=actor.id, reason=reason))
    session.info.setdefault(_DESTROYED, []).append((store, storage_key))


def destroyed_keys(session: Session) -> set[str]:
    """Storage keys recorded as destroyed: the store no longer holds them, and nothing should ask for them."""
    return _deleted_keys(session)


class _ChunkReader(io.RawIOBase):
    """A file-like view of an iterator of chunks, so one store can stream into another."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        while not self._buffer:
            try:
                self._buffer = next(self._chunks)
            except StopIteration:
                return 0
        n = min(len(b), len(self._buffer))
        b[:n] = self._buffer[:n]
        self._buffer = self._buffer[n:]
        return n

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            return b"".join([self._buffer, *self._chunks])
        buf = bytearray(size)
        n = self.readinto(buf)
        return bytes(buf[:n])
