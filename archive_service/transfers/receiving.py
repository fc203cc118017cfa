"""Receiving a batch volume by volume: each scan or typed key finds its register row, the volume is checked
(counts, a noted difference, or sent back with the reason), and an accepted file enters the bureau's
custody (dossiers.service.enter_custody) — for a 转递 batch, the file held by the sending bureau."""

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from archive_service.access.transfer_ending import end_requests_for_file_sent_on
from archive_service.auth.models import Role, User
from archive_service.auth.permissions import Action, require
from archive_service.config import get_settings
from archive_service.db import bureau_today
from archive_service.dossiers.models import (
    CustodyEventKind,
    DigitalObject,
    Dossier,
    DossierStatus,
    Retiree,
)
from archive_service.dossiers.service import enter_custody, record_custody
from archive_service.errors import ArchiveError, Forbidden
from archive_service.organisations.models import Organisation
from archive_service.transfers import catalogues
from archive_service.transfers.models import (
    ItemResult,
    RetainedCopy,
    TransferBatch,
    TransferItem,
    TransferKind,
    TransferStatus,
)
from archive_service.transfers.service import get_batch
from archive_service.values import ValueRuleError, check_citizen_id

# ---- receiving --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """What the clerk found for one volume. Counts left empty mean "as on the register"."""

    key: str  # scanned archival code, citizen ID, or "#row"
    result: ItemResult = ItemResult.accepted
    reason: str = ""
    volumes: int | None = None
    pages: int | None = None
    materials: int | None = None


def find_item(session: Session, batch: TransferBatch, key: str) -> TransferItem:
    key = key.strip().upper()
    if not key:
        raise ArchiveError("key.required", "请扫描档号条码或输入公民身份号码", "key", 422)
    query = select(TransferItem).where(TransferItem.batch_id == batch.id)
    if key.startswith("#") and key[1:].isdigit():
        item = session.scalar(query.where(TransferItem.row_no == int(key[1:])))
    else:
        item = session.scalar(query.where(or_(TransferItem.archival_code == key, TransferItem.citizen_id == key)))
    if item is None:
        if re.fullmatch(r"\d{15,19}X?", key):  # meant as an ID: a mistyped one is named as such, not "not here"
            try:
                check_citizen_id(key)
            except ValueRuleError as e:
                raise ArchiveError(e.code, f"“{key}”：{e.message}（请核对后重新输入）", "key", 422) from None
        raise ArchiveError("key.not_in_register", f"“{key}”不在本批次名册中", "key", 404)
    return item


def receive(session: Session, user: User, batch_id: int, check: Check) -> TransferItem:
    """Record the check of one volume against its register row. The batch row is locked for the
    moment of the check, and the item changes only from pending: two clerks never count one volume twice."""
    require(user, Action.receive_transfers)
    batch = get_batch(session, user, batch_id, lock=True)
    if batch.to_org_id != user.organisation_id:
        raise Forbidden("只有接收方可以登记接收")
    if batch.status not in (TransferStatus.registered, TransferStatus.receiving):
        raise ArchiveError(
            "batch.closed", f"批次 {batch.number} 状态为{batch.status.label}，不能再登记", "batch_id", 409
        )
    item = find_item(session, batch, check.key)
    if item.classified and user.role is not Role.archivist:
        raise Forbidden("涉密档案须由档案管理员接收")
    result, reason = check.result, check.reason.strip()
    counts = {
        "volumes": check.volumes if check.volumes is not None else item.declared_volumes,
        "pages": check.pages if check.pages is not None else item.declared_pages,
        "materials": check.materials if check.materials is not None else item.declared_materials,
    }
    for name, value in counts.items():
        if not 0 <= value <= 100000:
            raise ArchiveError(f"{name}.range", "数量须在 0–100000 之间", name, 422)
    differs = (counts["volumes"], counts["pages"], counts["materials"]) != (
        item.declared_volumes,
        item.declared_pages,
        item.declared_materials,
    )
    if result is ItemResult.pending:
        raise ArchiveError("result.pending", "请选择接收、有差异接收或退回", "result", 422)
    if result is ItemResult.rejected and not reason:
        raise ArchiveError("reason.required", "退回须写明原因", "reason", 422)
    if result is not ItemResult.rejected:
        if counts["volumes"] < 1:
            raise ArchiveError("volumes.range", "接收的卷数至少为 1", "volumes", 422)
        result = ItemResult.discrepancy if differs else ItemResult.accepted
        if differs and not reason:
            reason = _difference(item, counts)
    claimed = session.execute(  # type: ignore[attr-defined]
        update(TransferItem)
        .where(TransferItem.id == item.id, TransferItem.result == ItemResult.pending)
        .values(
            result=result,
            reason=reason,
            received_volumes=counts["volumes"] if result is not ItemResult.rejected else None,
            received_pages=counts["pages"] if result is not ItemResult.rejected else None,
            received_materials=counts["materials"] if result is not ItemResult.rejected else None,
            checked_by_id=user.id,
            checked_at=datetime.now(UTC),
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        session.refresh(item)
        raise ArchiveError(
            "item.already_checked",
            f"第 {item.row_no} 行（{item.retiree_name}）已登记为“{item.result.label}”，不能重复登记",
            "key",
            409,
        )
    session.refresh(item)
    if batch.status is TransferStatus.registered:
        # Two desks may check in the batch's first volumes at the same moment: the first one opens receiving,
        # the other finds it open (a conditional update, not the batch's version check, which would refuse it).
        session.execute(
            update(TransferBatch)
            .where(TransferBatch.id == batch.id, TransferBatch.status == TransferStatus.registered)
            .values(status=TransferStatus.receiving, received_at=datetime.now(UTC), version=TransferBatch.version + 1)
            .execution_options(synchronize_session=False)
        )
        session.refresh(batch)
    if batch.kind is TransferKind.onward:
        _settle_onward_item(session, user, batch, item)
    elif result is not ItemResult.rejected:
        item.dossier_id = _take_into_custody(session, user, batch, item).id
    session.flush()
    return item


def _difference(item: TransferItem, counts: dict[str, int]) -> str:
    parts = []
    for label, declared, found in (
        ("卷数", item.declared_volumes, counts["volumes"]),
        ("页数", item.declared_pages, counts["pages"]),
        ("材料份数", item.declared_materials, counts["materials"]),
    ):
        if declared != found:
            parts.append(f"{label}名册 {declared}、实收 {found}")
    return "；".join(parts)


def _take_into_custody(session: Session, user: User, batch: TransferBatch, item: TransferItem) -> Dossier:
    """The accepted volume becomes a dossier in the bureau's custody, its arrival a custody event."""
    bureau = session.get(Organisation, batch.to_org_id)
    assert bureau is not None
    # Registered elsewhere since the register was checked (by hand, or by another bureau): said, never a 500.
    if session.scalar(select(Retiree.id).where(Retiree.citizen_id == item.citizen_id)):
        raise ArchiveError(
            "citizen_id.held", f"{item.retiree_name} 的档案已另行登记在馆（或由他馆保管），不能重复接收", "key", 409
        )
    if item.archival_code and session.scalar(select(Dossier.id).where(Dossier.archival_code == item.archival_code)):
        raise ArchiveError("archival_code.duplicate", f"档号 {item.archival_code} 已被使用", "key", 409)
    retiree = Retiree(particulars=item.particulars, enterprise_id=batch.from_org_id)
    dossier = enter_custody(
        session, user, bureau, retiree,
        archival_code=item.archival_code or None,
        volumes=item.received_volumes or item.declared_volumes,
        pages=item.received_pages or 0,
        class_scheme="enterprise-1992",
        from_org_id=batch.from_org_id,
        transfer_batch_id=batch.id,
        note=f"移交批次 {batch.number} 第 {item.row_no} 行" + (f"（{item.reason}）" if item.reason else ""),
    )  # fmt: skip
    catalogues.apply_waiting(session, user, item, dossier)
    return dossier


def _settle_onward_item(session: Session, user: User, batch: TransferBatch, item: TransferItem) -> None:
    """A checked 转递 volume: accepted, the receiving bureau becomes its custodian (and the sender keeps
    a copy of the digitised file if so configured); rejected, it goes back to the sender."""
    dossier = session.get(Dossier, item.dossier_id)
    assert dossier is not None
    returned = item.result is ItemResult.rejected
    if not returned:
        if get_settings().onward_digital_copy == "retain":
            objects = session.scalars(
                select(DigitalObject).where(DigitalObject.dossier_id == dossier.id, DigitalObject.role == "use_copy")
            ).all()
            session.add_all(
                RetainedCopy(
                    organisation_id=batch.from_org_id,
                    dossier_id=dossier.id,
                    digital_object_id=obj.id,
                    transfer_batch_id=batch.id,
                )
                for obj in objects
            )
        dossier.custodian_id = batch.to_org_id
        # Ended in the sending bureau's name: the archivist who sent the file on (the log is that bureau's).
        sender = session.get(User, batch.created_by_id) if batch.created_by_id else None
        end_requests_for_file_sent_on(
            session, sender or user, dossier.id, batch.from_org_id, batch.to_org.name, batch.number, bureau_today()
        )
    dossier.status = DossierStatus.in_custody
    record_custody(
        session,
        dossier,
        CustodyEventKind.received,
        actor=user,
        from_org_id=batch.to_org_id if returned else batch.from_org_id,
        to_org_id=batch.from_org_id if returned else batch.to_org_id,
        transfer_batch_id=batch.id,
        note=f"转递批次 {batch.number} "
        + (
            f"被退回：{item.reason}"
            if returned
            else f"第 {item.row_no} 行" + (f"（{item.reason}）" if item.reason else "")
        ),
    )
