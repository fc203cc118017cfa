"""转递 to a bureau that does not use this installation (002 第二十二条). Files sent on to a bureau with
users here are received by it volume by volume (receiving.receive); one without users can never check
them in, so the sending bureau prints the 转递单 (the list and its manifest hash), records the receiving
bureau's signed return slip (the scan, stored and checksummed with each file, the signer and the date) to
close the batch, or withdraws a batch that has not left (the files back on their shelf places).
"""

import mimetypes
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service.access.models import ReadingSession
from archive_service.access.transfer_ending import end_requests_for_file_sent_on
from archive_service.auth.models import User
from archive_service.auth.permissions import Action, require
from archive_service.db import bureau_today
from archive_service.dossiers.models import CustodyEvent, CustodyEventKind, DigitalObject, Dossier, DossierStatus
from archive_service.dossiers.service import record_custody
from archive_service.errors import ArchiveError, Forbidden
from archive_service.organisations.models import Organisation, OrganisationKind
from archive_service.preservation.service import ingest
from archive_service.shelving.placement import put_back, take_off_shelf
from archive_service.transfers import register
from archive_service.transfers.models import (
    ItemResult,
    RetainedCopy,
    TransferBatch,
    TransferItem,
    TransferKind,
    TransferStatus,
)
from archive_service.transfers.receipt import canonical, manifest, manifest_sha256, receipt_pdf
from archive_service.transfers.service import get_batch, next_batch_number, progress
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
        end_requests_for_file_sent_on(
            session, user, dossier.id, batch.from_org_id, batch.to_org.name, batch.number, signed_on
        )
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


def send_onward(
    session: Session, user: User, to_org_id: int, archival_codes: Sequence[str], note: str = ""
) -> TransferBatch:
    """Send files to the bureau of the place a retiree moved to (002 第二十二条): one batch, the same
    register, receiving and confirmation as an intake. The files leave the shelves now and stay in
    transfer until the receiving bureau checks them in. Every problem is listed; any problem sends nothing."""
    require(user, Action.send_onward)
    target = session.get(Organisation, to_org_id)
    if target is None or target.kind is not OrganisationKind.bureau or target.id == user.organisation_id:
        raise ArchiveError("to_org_id.bureau", "请选择另一个档案馆作为接收方", "to_org_id", 422)
    codes = list(dict.fromkeys(c.strip().upper() for c in archival_codes if c.strip()))
    if not codes:
        raise ArchiveError("archival_codes.required", "请扫描或输入要转递的档号", "archival_codes", 422)
    if not 2 <= len(note.strip()) <= 500:
        raise ArchiveError("note.required", "请写明转递原因（如：户籍迁至某地，2–500 字）", "note", 422)
    found = {
        d.archival_code: d
        for d in session.scalars(
            select(Dossier).where(Dossier.archival_code.in_(codes), Dossier.custodian_id == user.organisation_id)
        )
    }
    in_reading_room = set(
        session.scalars(
            select(ReadingSession.dossier_id).where(
                ReadingSession.dossier_id.in_([d.id for d in found.values()]),
                ReadingSession.out_at.is_not(None),
                ReadingSession.ended_at.is_(None),
            )
        )
    )
    problems = []
    for n, code in enumerate(codes, start=1):
        dossier = found.get(code)
        if dossier is None:
            problems.append(register.Problem(n, "档号", "archival_code.not_held", f"本馆没有档号为 {code} 的档案"))
        elif dossier.retiree.citizen_id is None:
            problems.append(
                register.Problem(
                    n, "档号", "citizen_id.missing", f"{code} 的公民身份号码待补录（存量档案台账未载），补录后才能转递"
                )
            )
        elif dossier.status is not DossierStatus.in_custody:
            problems.append(
                register.Problem(
                    n, "档号", "dossier.status", f"{code} 状态为{dossier.status.label}，在馆的档案才能转递"
                )
            )
        elif dossier.id in in_reading_room:  # out of its slot for a 到馆查阅 (access/reading.py)
            problems.append(register.Problem(n, "档号", "dossier.in_reading", f"{code} 正在阅档室查阅，归架后才能转递"))
    if problems:
        raise ArchiveError(
            "archival_codes.rows",
            f"{len(problems)} 个档号不能转递，未转递任何档案：" + "；".join(p.message for p in problems[:5]),
            "archival_codes",
            422,
            problems=[p.as_dict() for p in problems],
        )
    now = datetime.now(UTC)
    batch = TransferBatch(
        number=next_batch_number(session, now.year, TransferKind.onward),
        kind=TransferKind.onward,
        from_org_id=user.organisation_id,
        to_org_id=target.id,
        status=TransferStatus.registered,
        created_by_id=user.id,
        sent_at=now,
        note=note.strip(),
    )
    session.add(batch)
    session.flush()
    for n, code in enumerate(codes, start=1):
        dossier = found[code]
        session.add(
            TransferItem(
                batch_id=batch.id,
                row_no=n,
                particulars=dossier.retiree.particulars,
                archival_code=code,
                declared_volumes=dossier.volumes,
                declared_pages=dossier.pages,
                declared_materials=len(dossier.materials),
                dossier_id=dossier.id,
                result=ItemResult.pending,
            )
        )
        slot = take_off_shelf(session, dossier)
        dossier.status = DossierStatus.in_transfer
        record_custody(
            session,
            dossier,
            CustodyEventKind.transfer_sent,
            actor=user,
            from_org_id=user.organisation_id,
            to_org_id=target.id,
            from_slot_id=slot,
            transfer_batch_id=batch.id,
            note=f"转递批次 {batch.number} 至 {target.name}：{batch.note}",
        )
    session.flush()
    session.expire(batch, ["items"])
    return batch


def retained_copies(session: Session, user: User, batch_id: int) -> dict[int, DigitalObject]:
    """The copies the sending bureau kept of a 转递 batch's files: dossier id → latest retained use copy."""
    require(user, Action.read_digital_copy)
    batch = get_batch(session, user, batch_id)
    rows = session.execute(
        select(RetainedCopy.dossier_id, DigitalObject)
        .join(DigitalObject, DigitalObject.id == RetainedCopy.digital_object_id)
        .where(RetainedCopy.transfer_batch_id == batch.id, RetainedCopy.organisation_id == user.organisation_id)
        .order_by(DigitalObject.version)
    ).all()
    return {dossier_id: obj for dossier_id, obj in rows}
