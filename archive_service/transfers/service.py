"""Transfer batches once made (from a register: intake.py; 转递: onward.py): who sees them, their numbers,
progress and two-month clocks, the acceptance of the digitised copies, both sides' confirmation, the canonical
manifest behind the receipt. Receiving each volume against its row is receiving.py's."""

import calendar
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from archive_service.auth.models import User
from archive_service.auth.permissions import Action, require
from archive_service.db import in_bureau_time
from archive_service.dossiers.models import (
    DigitisationState,
    Dossier,
)
from archive_service.errors import ArchiveError, Forbidden, NotFound
from archive_service.numbering import next_in_series
from archive_service.transfers import acceptance, certificates
from archive_service.transfers.models import (
    ItemResult,
    TransferBatch,
    TransferItem,
    TransferKind,
    TransferStatus,
)
from archive_service.transfers.receipt import (
    ReceiptCheck,
    canonical,
    manifest,
    manifest_sha256,
    read_receipt,
    receipt_pdf,
)
from storage import ObjectStore

# 条例 第二十五条: the sender hands over within two months, the receiver audits and shelves within two
# months of receipt. Shown as both clocks on the batch (STANDARDS Part A, Custody).
DEADLINE_MONTHS = 2


def months_after(moment: datetime, months: int = DEADLINE_MONTHS) -> date:
    """The same day `months` calendar months after the bureau's date of `moment` (the month's last day when
    it has no such day: 12-31 → 02-28): a batch registered on 1 January at 01:30 Beijing time is due on
    1 March, not 61 days after 31 December UTC."""
    return add_months(in_bureau_time(moment).date(), months)


def add_months(day: date, months: int) -> date:
    """The same day `months` calendar months later, or that month's last day when it has no such day."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def visible_batches(user: User) -> Select[Any]:
    """A bureau sees the batches it receives and the 转递 batches it sends; nobody else's."""
    require(user, Action.view_dossiers)
    return select(TransferBatch).where(
        or_(TransferBatch.to_org_id == user.organisation_id, TransferBatch.from_org_id == user.organisation_id)
    )


def open_batch_count(session: Session, organisation_id: int) -> int:
    """Batches to the bureau not yet closed (the dashboard's tile)."""
    return (
        session.scalar(
            select(func.count())
            .select_from(TransferBatch)
            .where(
                TransferBatch.to_org_id == organisation_id,
                TransferBatch.status.not_in([TransferStatus.confirmed, TransferStatus.cancelled]),
            )
        )
        or 0
    )


def get_batch(session: Session, user: User, batch_id: int, *, lock: bool = False) -> TransferBatch:
    query = visible_batches(user).where(TransferBatch.id == batch_id)
    batch: TransferBatch | None = session.scalar(query.with_for_update(of=TransferBatch) if lock else query)
    if batch is None:
        raise NotFound("该移交批次", "batch_id")
    return batch


def next_batch_number(session: Session, year: int, kind: TransferKind = TransferKind.intake) -> str:
    prefix = f"{'YJ' if kind is TransferKind.intake else 'ZD'}{year}-"  # 移交 / 转递

    def highest_so_far() -> int:
        last = session.scalar(select(func.max(TransferBatch.number)).where(TransferBatch.number.startswith(prefix)))
        return int(last.rsplit("-", 1)[1]) if last else 0

    return f"{prefix}{next_in_series(session, prefix.rstrip('-'), highest_so_far):04d}"


def list_batches(session: Session, user: User) -> Sequence[TransferBatch]:
    return session.scalars(visible_batches(user).order_by(TransferBatch.id.desc()).limit(500)).all()


@dataclass(frozen=True)
class BatchProgress:
    total: int
    checked: int
    accepted: int  # incl. with a discrepancy
    discrepancies: int
    rejected: int
    volumes: int  # received (accepted items)
    pages: int
    sender_due: date | None  # the sender's 2-month clock (from when the files were ready)
    receiver_due: date | None  # the receiver's: audit and shelve within 2 months of receipt

    @property
    def pending(self) -> int:
        return self.total - self.checked


def progress(session: Session, batch: TransferBatch) -> BatchProgress:
    counts = dict(
        session.execute(
            select(TransferItem.result, func.count())
            .where(TransferItem.batch_id == batch.id)
            .group_by(TransferItem.result)
        ).all()
    )
    volumes, pages = session.execute(
        select(
            func.coalesce(func.sum(TransferItem.received_volumes), 0),
            func.coalesce(func.sum(TransferItem.received_pages), 0),
        ).where(
            TransferItem.batch_id == batch.id, TransferItem.result.in_([ItemResult.accepted, ItemResult.discrepancy])
        )
    ).one()
    total = sum(counts.values())
    accepted = counts.get(ItemResult.accepted, 0) + counts.get(ItemResult.discrepancy, 0)
    return BatchProgress(
        total=total,
        checked=total - counts.get(ItemResult.pending, 0),
        accepted=accepted,
        discrepancies=counts.get(ItemResult.discrepancy, 0),
        rejected=counts.get(ItemResult.rejected, 0),
        volumes=int(volumes or 0),
        pages=int(pages or 0),
        sender_due=months_after(batch.created_at) if batch.created_at else None,
        receiver_due=months_after(batch.received_at) if batch.received_at else None,
    )


# ---- 转递 (transfers/onward.py) and receiving (transfers/receiving.py) live beside this module.


# ---- acceptance of the digitised copies -------------------------------------------------------


def _batch_for_acceptance(session: Session, user: User, batch_id: int) -> TransferBatch:
    require(user, Action.digitise)  # the archivist's work, like digitising itself
    batch = get_batch(session, user, batch_id, lock=True)
    if batch.to_org_id != user.organisation_id:
        raise Forbidden("只有接收方可以验收")
    if batch.status in (TransferStatus.confirmed, TransferStatus.cancelled):
        raise ArchiveError("batch.closed", f"批次状态为{batch.status.label}，不能再验收", "batch_id", 409)
    if progress(session, batch).pending:
        raise ArchiveError("batch.pending_items", "名册中的档案全部核对后才能验收数字化成果", "batch_id", 409)
    return batch


def start_acceptance(session: Session, store: ObjectStore, user: User, batch_id: int) -> dict[str, Any]:
    return acceptance.start(session, store, user, _batch_for_acceptance(session, user, batch_id))


def inspect_sample(
    session: Session, user: User, batch_id: int, dossier_id: int, marks: dict[str, bool], note: str = ""
) -> dict[str, Any]:
    return acceptance.inspect(session, user, _batch_for_acceptance(session, user, batch_id), dossier_id, marks, note)


def conclude_acceptance(session: Session, user: User, batch_id: int) -> dict[str, Any]:
    return acceptance.conclude(session, user, _batch_for_acceptance(session, user, batch_id))


# ---- confirmation and the manifest ------------------------------------------------------------


# Enterprises digitise files before handing them over; a bureau may still take some in on paper,
# but says why when it confirms, and they wait in the digitisation backlog (digitisation.backlog).
PAPER_ONLY = "000 §三(二)2、002 第九条(四)、003 二(三)：移交前应完成数字化"


def undigitised(session: Session, batch: TransferBatch) -> int:
    """How many of the files received in an intake batch have no finished digitised copy."""
    if batch.kind is not TransferKind.intake:
        return 0
    return (
        session.scalar(
            select(func.count())
            .select_from(TransferItem)
            .join(Dossier, Dossier.id == TransferItem.dossier_id)
            .where(
                TransferItem.batch_id == batch.id,
                TransferItem.result.in_([ItemResult.accepted, ItemResult.discrepancy]),
                Dossier.digitisation != DigitisationState.done,
            )
        )
        or 0
    )


def confirm(
    session: Session, user: User, batch_id: int, side: str, sender_name: str = "", paper_reason: str = ""
) -> TransferBatch:
    """Record one side's confirmation; when both have confirmed the batch is closed for good and its
    manifest's SHA-256 fixed. The sending enterprise has no account here: the clerk records the name of
    the person who signed the paper 交接书 for it. The bureau's own confirmation of files received
    on paper only carries its reason (PAPER_ONLY)."""
    batch = get_batch(session, user, batch_id, lock=True)
    onward_sender = batch.kind is TransferKind.onward and side == "sender"
    if onward_sender:  # both bureaus use this system: the sender confirms for itself
        require(user, Action.send_onward)
        if batch.from_org_id != user.organisation_id:
            raise Forbidden("只有转出馆可以确认转出")
        sender_name = f"{user.display_name}（{batch.from_org.name}）"
    else:
        require(user, Action.receive_transfers)
        if batch.to_org_id != user.organisation_id:
            raise Forbidden("只有接收方可以登记确认")
    if batch.status not in (TransferStatus.receiving, TransferStatus.received):
        raise ArchiveError("batch.status", f"批次状态为{batch.status.label}，不能确认", "batch_id", 409)
    still = progress(session, batch).pending
    if still:
        raise ArchiveError("batch.pending_items", f"尚有 {still} 份档案未核对，不能确认", "batch_id", 409)
    acceptance.require_judged(session, batch)
    certificates.require_certificates(session, batch)  # 001 第九条(一): 证明材料一并移交
    batch.status = TransferStatus.received
    now = datetime.now(UTC)
    if side == "sender":
        name = sender_name.strip()
        if not 2 <= len(name) <= 100:
            raise ArchiveError("sender_name.required", "请填写移交方经办人姓名（2–100 字）", "sender_name", 422)
        if batch.sender_confirmed_at:
            raise ArchiveError("sender.confirmed", "移交方已确认", "side", 409)
        batch.sender_confirmed_by, batch.sender_confirmed_at = name, now
    elif side == "receiver":
        if batch.receiver_confirmed_at:
            raise ArchiveError("receiver.confirmed", "接收方已确认", "side", 409)
        paper = undigitised(session, batch)
        reason = paper_reason.strip()
        if paper and len(reason) < 4:
            raise ArchiveError(
                "paper_reason.required",
                f"本批次有 {paper} 份档案尚未数字化（{PAPER_ONLY}），接收纸质档案须填写理由（至少 4 个字）",
                "paper_reason",
                422,
            )
        batch.paper_reason = reason if paper else ""
        batch.receiver_confirmed_by_id, batch.receiver_confirmed_at = user.id, now
    else:
        raise ArchiveError("side.unknown", "确认方应为 sender（移交方）或 receiver（接收方）", "side", 422)
    if batch.sender_confirmed_at and batch.receiver_confirmed_at:
        batch.status = TransferStatus.confirmed
        session.flush()
        batch.manifest_sha256 = manifest_sha256(manifest(session, batch))
    session.flush()
    return batch


# ---- the receipt ------------------------------------------------------------------------------


def receipt(session: Session, user: User, batch_id: int) -> bytes:
    """The 交接书 of a confirmed batch. Refused if the records changed since both sides confirmed."""
    batch = get_batch(session, user, batch_id)
    if batch.status is not TransferStatus.confirmed:
        raise ArchiveError("batch.not_confirmed", "双方确认后才能生成交接书", "batch_id", 409)
    data = manifest(session, batch)
    text = canonical(data)
    sha = hashlib.sha256(text).hexdigest()
    if sha != batch.manifest_sha256:
        raise ArchiveError(
            "manifest.changed", "该批次的记录在双方确认后被改动（清单摘要与确认时不一致），请核查", "batch_id", 409
        )
    # A 转递's reason is printed as on its 转递单 (onward.onward_slip): beside the manifest, whose hash it predates.
    return receipt_pdf({**data, "note": batch.note} if batch.kind is TransferKind.onward else data, text, sha)


def verify_receipt(session: Session, data: bytes, user: User | None = None) -> ReceiptCheck:
    """A receipt's attached manifest against the hash it prints and, when this installation holds the
    batch, against the hash fixed at confirmation and the records as they stand now. A person checks it
    against their own bureau's batches (`user`); the operator's command against all."""
    found, _, check = read_receipt(data)
    problems = list(check.problems)
    if found is not None:
        batches = visible_batches(user) if user is not None else select(TransferBatch)
        batch = session.scalar(batches.where(TransferBatch.number == found.get("number")))
        if batch is None:
            problems.append(f"本系统没有批次 {found.get('number')}（只核对了交接书自身）")
        else:
            if batch.manifest_sha256 != check.computed:
                problems.append(f"与本系统确认时记录的清单摘要 {batch.manifest_sha256} 不一致")
            if manifest_sha256(manifest(session, batch)) != batch.manifest_sha256:
                problems.append("本系统中的批次记录在确认后被改动")
    return replace(check, problems=problems)
