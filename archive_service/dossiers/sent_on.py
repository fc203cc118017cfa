"""The sending bureau's record of a file it sent on (转递, 002 第二十二条: registration on both sides). Once
the receiving bureau has the file, the sender no longer sees the file itself (dossiers.service.visible_to),
but keeps a read-only record: whose custody it is in now, since when, and the 转递 batch with its 转递单 and
交接书. The dashboard's 已转出 tile and the dossier list's 已转出 count these files."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, exists, select
from sqlalchemy.orm import Session

from archive_service.db import as_utc, in_bureau_time
from archive_service.dossiers.models import Dossier
from archive_service.organisations.models import Organisation
from archive_service.transfers.models import ItemResult, TransferBatch, TransferItem, TransferKind

TAKEN = (ItemResult.accepted, ItemResult.discrepancy)


def _sent_by(organisation_id: int) -> ColumnElement[bool]:
    return and_(
        TransferItem.batch_id == TransferBatch.id,
        TransferBatch.kind == TransferKind.onward,
        TransferBatch.from_org_id == organisation_id,
        TransferItem.result.in_(TAKEN),
    )


def sent_on_by(organisation_id: int) -> ColumnElement[bool]:
    """Files the bureau sent on that another bureau now holds (one that came back is its own again)."""
    return and_(
        Dossier.custodian_id != organisation_id,
        exists().where(TransferItem.dossier_id == Dossier.id, _sent_by(organisation_id)),
    )


@dataclass(frozen=True)
class SentOn:
    dossier: Dossier
    batch: TransferBatch
    holder: Organisation  # whose custody the file is in now (the receiver, or a bureau it went on to)
    taken_at: datetime  # when the receiving bureau took it (checked it in, or signed the return slip)

    @property
    def sentence(self) -> str:
        on = in_bureau_time(self.taken_at).date()
        return (
            f"档案 {self.dossier.archival_code} 已于 {on} 转递至 {self.batch.to_org.name}"
            f"（转递批次 {self.batch.number}），本馆仅保留转出记录"
        )


def sent_on_record(session: Session, organisation_id: int, dossier_id: int) -> SentOn | None:
    """The bureau's record of a file it sent on, from its latest 转递 of it; None if it never sent it on."""
    row = session.execute(
        select(Dossier, TransferBatch, TransferItem)
        .join(TransferItem, TransferItem.dossier_id == Dossier.id)
        .join(TransferBatch, TransferBatch.id == TransferItem.batch_id)
        .where(Dossier.id == dossier_id, Dossier.custodian_id != organisation_id, _sent_by(organisation_id))
        .order_by(TransferBatch.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    dossier, batch, item = row
    holder = session.get(Organisation, dossier.custodian_id)
    assert holder is not None
    taken = item.checked_at or batch.received_at or batch.created_at
    return SentOn(dossier, batch, holder, as_utc(taken))
