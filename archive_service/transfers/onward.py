"""转递 to a bureau that does not use this installation (002 第二十二条). Files sent on to a bureau with
users here are received by it volume by volume (service.receive); one without users can never check
them in, so the sending bureau prints the 转递单 (the list and its manifest hash), records the receiving
bureau's signed return slip (the scan, stored and checksummed with each file, the signer and the date) to
close the batch, or withdraws a batch that has not left (the files back on their shelf places).
"""

import mimetypes
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service.auth.models import User
from archive_service.auth.permissions import Action, require
from archive_service.db import bureau_today
from archive_service.dossiers.models import CustodyEvent, CustodyEventKind, Dossier, DossierStatus
from archive_service.dossiers.service import record_custody
from archive_service.errors import ArchiveError, Forbidden
from archive_service.preservation.service import ingest
from archive_service.shelving.service import put_back
from archive_service.transfers.models import ItemResult, TransferBatch, TransferItem, TransferKind, TransferStatus
from archive_service.transfers.receipt import receipt_pdf
from archive_service.transfers.service import canonical, get_batch, manifest, manifest_sha256, progress
from archive_service.uploads import scan_frames
from storage import ObjectStore

RETURN_SLIP = "return_slip"  # the role of the stored scan among a dossier's digital objects


def receiver_uses_this_installation(session: Session, batch: TransferBatch) -> bool:
    return (
        session.scalar(select(User.id).where(User.organisation_id == batch.to_org_id, User.active).limit(1)) is not None
    )


def _unsent(session: Session, user: User, batch_id: int) -> TransferBatch:
    """A 转递 batch of the user's bureau that nobody has begun to check in."""
    require(user, Action.send_onward)
    batch = get_batch(session, user, batch_id, lock=True)
    if batch.kind is not TransferKind.onward or batch.from_org_id != user.organisation_id:
        raise Forbidden("只有转出馆可以办理本批次的转递单、回执和撤销")
    if batch.status is not TransferStatus.registered or progress(session, batch).checked:
        raise ArchiveError(
            "batch.status", f"批次状态为{batch.status.label}，已开始接收或已办结，不能再办理", "batch_id", 409
        )
    return batch


def onward_slip(session: Session, user: User, batch_id: int) -> bytes:
    """The 转递单 to print and send with the files: the list, the reason, and the manifest's SHA-256."""
    batch = _unsent(session, user, batch_id)
    data = manifest(session, batch)
    return receipt_pdf({**data, "note": batch.note}, canonical(data), manifest_sha256(data), onward_slip=True)


def record_return_slip(
    session: Session, store: ObjectStore, user: User, batch_id: int, scan: Path, signer: str, signed_on: date | None
) -> TransferBatch:
    """The receiving bureau signed and returned the 转递单: every file is recorded as transferred out to it,
    the scan kept with each file, and the batch closed with its manifest hash."""
    batch = _unsent(session, user, batch_id)
    if receiver_uses_this_installation(session, batch):
        raise ArchiveError(
            "batch.receiver_in_system",
            f"{batch.to_org.name} 使用本系统：由其逐卷核对接收并确认，不以纸质回执办结",
            "batch_id",
            409,
        )
    name = signer.strip()
    if not 2 <= len(name) <= 50:
        raise ArchiveError("signer.required", "请填写回执上接收馆经办人的姓名（2–50 字）", "signer")
    sent_on = batch.sent_at.date() if batch.sent_at else batch.created_at.date()
    if signed_on is None:
        raise ArchiveError("signed_on.required", "请填写回执上的签收日期", "signed_on")
    if not sent_on <= signed_on <= bureau_today():
        raise ArchiveError("signed_on.range", f"签收日期应在转出日 {sent_on} 与今天之间，实为 {signed_on}", "signed_on")
    scan_frames([scan])  # an image or PDF that opens, or a named refusal before anything is written
    now = datetime.now(UTC)
    media_type = mimetypes.guess_type(scan.name)[0] or "application/octet-stream"
    items = session.scalars(select(TransferItem).where(TransferItem.batch_id == batch.id)).all()
    for item in items:
        dossier = session.get(Dossier, item.dossier_id)
        assert dossier is not None
        stored = ingest(
            session, store, dossier, scan, role=RETURN_SLIP, name=f"转递回执-{batch.number}", media_type=media_type
        )
        item.result = ItemResult.accepted
        item.checked_by_id, item.checked_at = user.id, now
        item.received_volumes, item.received_pages, item.received_materials = (
            item.declared_volumes,
            item.declared_pages,
            item.declared_materials,
        )
        dossier.custodian_id = batch.to_org_id
        dossier.status = DossierStatus.transferred_out
        record_custody(
            session,
            dossier,
            CustodyEventKind.transferred_out,
            actor=user,
            from_org_id=batch.from_org_id,
            to_org_id=batch.to_org_id,
            transfer_batch_id=batch.id,
            note=f"转递批次 {batch.number}：{batch.to_org.name} {name} 于 {signed_on} 签收"
            f"（回执 SHA-256 {stored.sha256[:12]}…）",
        )
    batch.return_slip_sha256 = stored.sha256  # the same scan, stored once, recorded with every file
    batch.return_slip_signer, batch.return_slip_signed_on = name, signed_on
    batch.received_at = now
    batch.sender_confirmed_by, batch.sender_confirmed_at = f"{user.display_name}（{batch.from_org.name}）", now
    batch.receiver_confirmed_at = now
    batch.status = TransferStatus.confirmed
    session.flush()
    batch.manifest_sha256 = manifest_sha256(manifest(session, batch))
    session.flush()
    return batch


def cancel_onward(session: Session, user: User, batch_id: int, reason: str) -> TransferBatch:
    """Withdraw a 转递 that has not left: each file back in custody, on the layer it came from if there is
    still room there (else it waits to be shelved), each return a custody event."""
    batch = _unsent(session, user, batch_id)
    why = reason.strip()
    if not 2 <= len(why) <= 500:
        raise ArchiveError("reason.required", "请写明撤销原因（2–500 字）", "reason")
    for item in session.scalars(select(TransferItem).where(TransferItem.batch_id == batch.id)):
        dossier = session.get(Dossier, item.dossier_id)
        assert dossier is not None
        sent = session.scalar(
            select(CustodyEvent).where(
                CustodyEvent.dossier_id == dossier.id,
                CustodyEvent.transfer_batch_id == batch.id,
                CustodyEvent.kind == CustodyEventKind.transfer_sent,
            )
        )
        dossier.status = DossierStatus.in_custody
        slot = put_back(session, dossier, sent.from_slot_id if sent else None)
        record_custody(
            session,
            dossier,
            CustodyEventKind.onward_cancelled,
            actor=user,
            to_slot_id=slot.id if slot else None,
            transfer_batch_id=batch.id,
            note=f"转递批次 {batch.number} 撤销：{why}；"
            + (f"回原架位 {slot.label}" if slot else "原架位已满，待上架"),
        )
    batch.status, batch.cancel_reason = TransferStatus.cancelled, why
    session.flush()
    return batch
