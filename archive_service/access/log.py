"""The access log: every use of a file, append-only and hash-chained.

Each entry holds the SHA-256 of its own fields and of the entry before it, and a gap-free
sequence number, so an edited, inserted or deleted entry breaks the chain at that point;
`archive audit verify` walks the chain and names the first broken entry. Database triggers
refuse UPDATE and DELETE; the chain catches whoever goes around them.

A delivery (a page, a download) is logged on its own connection and committed before the bytes
go out: a crash after delivery cannot lose the entry, a crash before it delivers nothing. A change
of state (an approval, a loan) is logged inside the transaction that makes the change, so the two
commit together or not at all.
"""

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

import orjson
from cryptography.hazmat.primitives import hashes
from sqlalchemy import Connection, Engine, insert, select, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from archive_service.access.models import AccessLogEntry
from archive_service.auth.models import User

GENESIS = "0" * 64
RETRIES = 20  # concurrent writers race for the next sequence number; the loser takes the one after
CHAIN_LOCK = 0x4143434C  # PostgreSQL advisory lock key for appends inside a larger transaction


class AccessAction:
    """What was done; the log keeps these words."""

    view_copy = "view_copy"  # custody staff opened the use copy
    view_page = "view_page"
    proofread_crop = "proofread_crop"  # the part of a page a reading came from, shown for 校对与复核
    view_certificate = "view_certificate"  # a page of a missing material's certificate (dossiers/missing.py)
    download = "download"
    print_page = "print_page"
    search_hit_opened = "search_hit_opened"
    search = "search"  # a requester's search: query, filters and hit count
    approve = "approve"  # its `materials` are the top classes granted (1…10), not catalogue entries
    reject = "reject"  # … the classes asked for
    export = "export"
    fact_sheet = "fact_sheet"  # a file's 核查表 (facts and their evidence pages) handed out
    loan_out = "loan_out"
    loan_return = "loan_return"
    close_request = "close_request"  # 办结: an approved request concluded by the archivist (what was done)
    reading_opened = "reading_opened"  # 到馆查阅 begun: reader's ID checked, staff present (access/reading.py)
    reading_id_refused = "reading_id_refused"  # … refused: the ID shown is not the one the request recorded
    reading_produced = "reading_produced"  # materials from the catalogue handed to the reader in the 阅档室
    reading_ended = "reading_ended"  # … the reading over, the materials checked back, the file back to its slot
    account_created = "account_created"  # an administrator made an account (who, role, organisation)
    account_changed = "account_changed"  # … changed its role or disabled / enabled it
    policy_changed = "policy_changed"  # a rule of the bureau's policy changed (before → after)
    holdings_import = "holdings_import"  # an old ledger brought files in (file, SHA-256, rows read/saved/rejected)
    citizen_id_completed = "citizen_id_completed"  # the ID of a file its ledger held without one, entered later
    enterprise_registered = "enterprise_registered"  # a 移交单位 registered at the desk (its particulars)
    enterprise_changed = "enterprise_changed"  # … its particulars corrected (before → after)
    secrecy_changed = "secrecy_changed"  # a file's 密级 recorded by the archivist (before → after)
    misfiled_page = "misfiled_page"  # a page flagged 疑似他人材料 decided: belongs here, or taken out of the file
    unit_registered = "unit_registered"  # a street, township, community or entrusted custodian (organisations/units.py)
    unit_changed = "unit_changed"  # … its particulars corrected (before → after)
    custody_moved = "custody_moved"  # a file kept by a street or custodian for the bureau, or taken back in
    # The system's own events (GB/T 22239-2019 8.1.4.3 安全审计), on the same chain:
    login = "login"  # signed in (both factors where the policy asks), from where, by web or API
    login_failed = "login_failed"  # a wrong password, code or recovery code; a replayed code; a disabled account
    logout = "logout"
    session_ended = "session_ended"  # timed out (idle or absolute), or ended by its owner or the security officer
    password_changed = "password_changed"  # by its owner
    password_reset = "password_reset"  # by the security officer: to be changed at the next login
    two_factor_enrolled = "two_factor_enrolled"
    two_factor_reset = "two_factor_reset"  # by the security officer (a lost phone): to enrol again
    recovery_code_used = "recovery_code_used"
    backup = "backup"
    restore = "restore"
    audit_verified = "audit_verified"  # `archive audit verify` or the page's check: entries and result
    # 处置 (disposal/): a 销毁清册 drawn up (its files), signed (by whom, the opinion), carried out (per file)
    disposal_drawn = "disposal_drawn"
    disposal_signed = "disposal_signed"
    disposal_carried_out = "disposal_carried_out"
    fee_paid = "fee_paid"  # a batch's 移交费用 paid: amount, date, voucher (transfers/fees.py)


FIELDS = (
    "seq",
    "at",
    "user_id",
    "role",
    "organisation_id",
    "client_address",
    "action",
    "dossier_id",
    "materials",
    "pages",
    "request_id",
    "detail",
    "prev_hash",
)
SEQ, AT, PREV = FIELDS.index("seq"), FIELDS.index("at"), FIELDS.index("prev_hash")


def entry_hash(values: dict, algorithm: str = "sha256") -> str:
    """SHA-256 (or SM3, where the bureau chose it) over the entry's fields in a fixed order, as compact UTF-8 JSON."""
    return _hash_row([values[f] for f in FIELDS], algorithm)


def _hash_row(row: list, algorithm: str = "sha256") -> str:
    row[AT] = _utc_text(row[AT])
    return digest_hex(orjson.dumps(row), algorithm)


def digest_hex(data: bytes, algorithm: str) -> str:
    """SHA-256, or SM3 (GB/T 32905, through `cryptography`): the chain's and the fixity sums' two algorithms."""
    if algorithm == "sm3":
        h = hashes.Hash(hashes.SM3())
        h.update(data)
        return h.finalize().hex()
    return hashlib.sha256(data).hexdigest()


def chain_algorithm(conn: Session | Connection, organisation_id: int | None) -> str:
    """The algorithm an entry is chained with: its bureau's choice (security policy); an entry of no bureau (the
    system's own, a requester's) uses SM3 as soon as any bureau chose it."""
    if organisation_id is None:
        query = text("SELECT 1 FROM security_policy WHERE hash_algorithm = 'sm3' LIMIT 1")
        return "sm3" if conn.execute(query).first() else "sha256"
    chosen = conn.execute(
        text("SELECT hash_algorithm FROM security_policy WHERE organisation_id = :o"), {"o": organisation_id}
    ).scalar()
    return chosen or "sha256"


def _utc_text(moment: datetime) -> str:
    # PostgreSQL gives the time back with its zone, SQLite without: hash the same UTC text for both.
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.isoformat()


def record_change(
    session: Session,
    user: User,
    action: str,
    client_address: str,
    what: str,
    before: object,
    after: object,
    *,
    dossier_id: int | None = None,
) -> AccessLogEntry:
    """A setting, an account or a file's particular changed: `what` (ending in its own "：" or space, or empty),
    then `before → after`, so the auditor reads both sides; logged in the change's own transaction, so the two
    commit together or not at all."""
    detail = f"{what}{before} → {after}"
    return record_access(session, user, action, client_address, dossier_id=dossier_id, detail=detail, with_change=True)


def record_access(
    session: Session,
    user: User | None,
    action: str,
    client_address: str,
    *,
    dossier_id: int | None = None,
    materials: list[int] | None = None,
    pages: list[int] | None = None,
    request_id: int | None = None,
    detail: str = "",
    with_change: bool = False,
) -> AccessLogEntry:
    """Append one entry: committed at once on its own connection, or (`with_change`) in `session`'s transaction."""
    fields = {
        "at": datetime.now(UTC),
        "user_id": user.id if user else None,
        "role": user.role.value if user else "system",
        "organisation_id": user.organisation_id if user else None,
        "client_address": client_address,
        "action": action,
        "dossier_id": dossier_id,
        "materials": materials,
        "pages": pages,
        "request_id": request_id,
        "detail": detail,
    }
    if with_change:
        _hold_chain_head(session)
        entry = _next_entry(session, fields)
        session.add(entry)
        session.flush()
        return entry
    engine = cast(Engine, session.get_bind())  # the sessions' engine (sessionmaker binds one)
    for attempt in range(RETRIES):
        with engine.connect() as conn:  # Core, not the ORM: this runs for every page delivered
            began = time.monotonic()
            try:
                with conn.begin():
                    if conn.dialect.name == "sqlite":
                        # The write lock before the chain head is read. With SQLite's deferred BEGIN the head was
                        # read first and written after; a connection whose snapshot had gone stale meanwhile
                        # cannot become the writer and fails at once (SQLITE_BUSY_SNAPSHOT, no busy timeout):
                        # "database is locked" on the 校对 screen's crops, four requests at a time.
                        conn.exec_driver_sql("BEGIN IMMEDIATE")
                    _hold_chain_head(conn)
                    entry = _next_entry(conn, fields)
                    conn.execute(insert(AccessLogEntry), [{**_values(entry)}])
                return entry
            except IntegrityError:  # another writer took this sequence number first
                continue
            except OperationalError as e:
                if (
                    not getattr(e.orig, "sqlite_errorname", "").startswith("SQLITE_BUSY")
                    or time.monotonic() - began > 5
                ):
                    raise  # not SQLite's lock, or the busy timeout ran out: a writer holds it that long
                # Busy at once, not after the busy timeout: this connection still held a read snapshot. It goes,
                # with the snapshot; the next try takes another.
                conn.invalidate()
        time.sleep(0.02 * (attempt + 1))
    raise RuntimeError("access log: could not append after repeated contention")


def _hold_chain_head(session: Session | Connection) -> None:
    """PostgreSQL: one appender at a time until its transaction ends (SQLite has a single writer anyway)."""
    dialect = session.dialect if isinstance(session, Connection) else session.get_bind().dialect
    if dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHAIN_LOCK})


def _values(entry: AccessLogEntry) -> dict:
    return {f: getattr(entry, f) for f in (*FIELDS, "entry_hash", "algorithm")}


def chain_head(session: Session | Connection):
    """The last entry's (seq, entry_hash), or None for an empty log."""
    return session.execute(
        select(AccessLogEntry.seq, AccessLogEntry.entry_hash).order_by(AccessLogEntry.seq.desc()).limit(1)
    ).first()


def _next_entry(session: Session | Connection, fields: dict) -> AccessLogEntry:
    last = chain_head(session)
    values = {**fields, "seq": (last.seq if last else 0) + 1, "prev_hash": last.entry_hash if last else GENESIS}
    algorithm = chain_algorithm(session, fields["organisation_id"])
    return AccessLogEntry(**values, entry_hash=entry_hash(values, algorithm), algorithm=algorithm)


@dataclass
class ChainReport:
    entries: int
    broken_seq: int | None = None
    broken_id: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_seq is None


def verify_chain(session: Session, progress: Callable[[int], None] | None = None, batch: int = 20_000) -> ChainReport:
    """Walk the chain in sequence order; stop at the first entry that does not hold.

    Core rows, not ORM objects: a bureau's log reaches millions of entries (1,000,000 in ~15 s).
    """
    columns = [getattr(AccessLogEntry, f) for f in FIELDS]
    query = select(*columns, AccessLogEntry.id, AccessLogEntry.entry_hash, AccessLogEntry.algorithm).order_by(
        AccessLogEntry.seq
    )
    rows = session.connection().execution_options(yield_per=batch).execute(query)
    expected_prev, expected_seq, count = GENESIS, 1, 0
    n = len(FIELDS)
    for row in rows:
        seq, prev_hash, stored_hash = row[SEQ], row[PREV], row[n + 1]
        problem = ""
        if seq != expected_seq:
            problem = f"序号从 {expected_seq - 1} 跳到 {seq}：有条目缺失"
        elif prev_hash != expected_prev:
            problem = "与前一条不相衔接（有条目被删除或插入）"
        elif _hash_row(list(row[:n]), row[n + 2]) != stored_hash:
            problem = "内容与其哈希值不符（该条目被改动）"
        if problem:
            return ChainReport(count, seq, row[n], problem)
        expected_prev, expected_seq = stored_hash, expected_seq + 1
        count += 1
        if progress and count % batch == 0:
            progress(batch)
    return ChainReport(count)


def verify_and_record(session: Session, actor: User | None, client: str) -> ChainReport:
    """Walk the chain and put the result on the log itself (the assessor's "last check"; an entry after the
    walk, so it never checks itself)."""
    report = verify_chain(session)
    session.rollback()  # end the read before the entry is appended on its own connection
    detail = (
        f"完好：{report.entries} 条，哈希链核验通过"
        if report.ok
        else f"在序号 {report.broken_seq} 处断裂：{report.reason}；此前 {report.entries} 条核验通过"
    )
    record_access(session, actor, AccessAction.audit_verified, client, detail=detail)
    return report
