"""Missing-material certificates go with the file (红政办规〔2020〕6号 第九条(一): 人事档案有缺失的，国有企业必须按
档案管理要求提供相关情况证明材料一并移交): an intake batch with a received file its register marks 缺失 is not
confirmed until the certificate's scan is recorded on the file (dossiers/missing.py), or the bureau's approver
records why it is accepted without one."""

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from archive_service.auth.models import User
from archive_service.auth.permissions import Action, require
from archive_service.dossiers.models import MissingMaterial
from archive_service.errors import ArchiveError, NotFound
from archive_service.transfers.models import CertificateWaiver, ItemResult, TransferBatch, TransferItem, TransferKind

BASIS = "红政办规〔2020〕6号 第九条(一)（人事档案有缺失的，须提供相关情况证明材料一并移交）"


def without_certificate(session: Session, batch: TransferBatch) -> Sequence[TransferItem]:
    """The batch's received files marked 缺失 with neither a certificate scan on the file nor a waiver."""
    if batch.kind is not TransferKind.intake:
        return []
    return session.scalars(
        select(TransferItem)
        .where(
            TransferItem.batch_id == batch.id,
            TransferItem.result.in_([ItemResult.accepted, ItemResult.discrepancy]),
            TransferItem.missing_materials != "",
            ~exists().where(MissingMaterial.dossier_id == TransferItem.dossier_id),
            ~exists().where(CertificateWaiver.item_id == TransferItem.id),
        )
        .order_by(TransferItem.row_no)
    ).all()


def require_certificates(session: Session, batch: TransferBatch) -> None:
    """Refuse to confirm while a file marked 缺失 has no certificate and no approver's waiver."""
    lacking = without_certificate(session, batch)
    if lacking:
        names = "、".join(f"{i.retiree_name}（缺：{i.missing_materials}）" for i in lacking[:10])
        raise ArchiveError(
            "batch.missing_certificates",
            f"依据 {BASIS}，{len(lacking)} 份档案尚未登记缺失材料证明扫描件，不能确认：{names}。"
            "请在档案页“缺失材料及证明”登记证明，或由审批人记录无证明接收的理由",
            "batch_id",
            409,
        )


def waive(session: Session, user: User, batch_id: int, item_id: int, reason: str) -> CertificateWaiver:
    """The approver accepts a file marked 缺失 without its certificate, saying why."""
    require(user, Action.waive_certificate)
    batch = session.scalar(
        select(TransferBatch).where(TransferBatch.id == batch_id).with_for_update(of=TransferBatch)
    )  # one waiver at a time per batch
    if batch is None or batch.to_org_id != user.organisation_id:
        raise NotFound("该移交批次", "batch_id")
    item = session.get(TransferItem, item_id)
    if item is None or item.batch_id != batch.id or item not in without_certificate(session, batch):
        raise NotFound("该批次中缺少证明的档案", "item_id")
    why = reason.strip()
    if not 4 <= len(why) <= 500:
        raise ArchiveError("reason.required", "请写明无证明接收的理由（4–500 字）", "reason", 422)
    waiver = CertificateWaiver(item_id=item.id, reason=why, approved_by_id=user.id, approved_at=datetime.now(UTC))
    session.add(waiver)
    session.flush()
    return waiver


def waivers(session: Session, batch: TransferBatch) -> Sequence[CertificateWaiver]:
    return session.scalars(
        select(CertificateWaiver)
        .join(TransferItem, TransferItem.id == CertificateWaiver.item_id)
        .where(TransferItem.batch_id == batch.id)
        .order_by(TransferItem.row_no)
    ).all()
