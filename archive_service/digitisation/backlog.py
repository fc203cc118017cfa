"""The digitisation backlog: files the bureau holds on paper only, by enterprise, oldest first.

Files are to be digitised before handover (transfers.service.PAPER_ONLY); those taken in without
it, and older holdings never digitised, stay on this list until their digitisation is done — and done
means with the pages on record (digitisation.page_counts)."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive_service.db import as_utc
from archive_service.digitisation.page_counts import awaiting_digitisation
from archive_service.dossiers.models import (
    CustodyEvent,
    CustodyEventKind,
    Dossier,
    DossierStatus,
    Retiree,
)
from archive_service.organisations.models import Organisation


@dataclass(frozen=True)
class EnterpriseBacklog:
    enterprise: str
    files: int
    oldest_received: datetime  # when the longest-waiting of them came into custody


@dataclass(frozen=True)
class Backlog:
    files: int
    oldest_received: datetime | None
    oldest_code: str | None  # 档号 of the file waiting longest
    by_enterprise: list[EnterpriseBacklog]  # most files first


def backlog(session: Session, organisation_id: int) -> Backlog:
    """The bureau's files in custody (on the shelf or lent out) whose digitisation is not done."""
    received = (
        select(CustodyEvent.dossier_id, func.max(CustodyEvent.at).label("at"))
        .where(CustodyEvent.kind == CustodyEventKind.received, CustodyEvent.to_org_id == organisation_id)
        .group_by(CustodyEvent.dossier_id)
        .subquery()
    )
    # Files that came before custody events were kept (the demo's, a migrated register) count from
    # when their record was made.
    since = func.coalesce(received.c.at, Dossier.created_at)
    waiting = (
        select(Dossier.archival_code, Organisation.name.label("enterprise"), since.label("since"))
        .join(Retiree, Retiree.id == Dossier.retiree_id)
        .join(Organisation, Organisation.id == Retiree.enterprise_id)
        .outerjoin(received, received.c.dossier_id == Dossier.id)
        .where(
            Dossier.custodian_id == organisation_id,
            Dossier.status.in_([DossierStatus.in_custody, DossierStatus.on_loan]),
            awaiting_digitisation(),
        )
        .subquery()
    )
    rows = session.execute(
        select(waiting.c.enterprise, func.count(), func.min(waiting.c.since))
        .group_by(waiting.c.enterprise)
        .order_by(func.count().desc(), waiting.c.enterprise)
    ).all()
    by_enterprise = [EnterpriseBacklog(name, n, as_utc(oldest)) for name, n, oldest in rows]
    oldest = session.execute(
        select(waiting.c.archival_code, waiting.c.since).order_by(waiting.c.since, waiting.c.archival_code).limit(1)
    ).first()
    return Backlog(
        files=sum(e.files for e in by_enterprise),
        oldest_received=as_utc(oldest.since) if oldest else None,
        oldest_code=oldest.archival_code if oldest else None,
        by_enterprise=by_enterprise,
    )
