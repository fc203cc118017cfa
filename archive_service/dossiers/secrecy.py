"""A file's 密级, recorded by the archivist (values.SecrecyLevel): a level read from the register or an old ledger,
or a file migrated from the earlier yes/no 涉密 flag as 涉密（密级未定） whose level is now known. A file made
classified is never served online (access/service.py), so a file with an approved online request still open is
refused until that request is concluded (办结). Every change, before → after, is on the access log."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service.access.log import AccessAction, record_change
from archive_service.access.models import RequestMode, RequestStatus, RetrievalRequest
from archive_service.auth.models import User
from archive_service.auth.permissions import Action, require
from archive_service.dossiers.models import Dossier
from archive_service.dossiers.service import get_dossier
from archive_service.errors import ArchiveError, NotFound
from archive_service.values import SECRECY_LABELS, SecrecyLevel


def set_secrecy(session: Session, user: User, dossier_id: int, level: str, client: str) -> Dossier:
    require(user, Action.register_dossier)
    dossier = get_dossier(session, user, dossier_id)
    if dossier.custodian_id != user.organisation_id:
        raise NotFound("该档案", "dossier_id")
    try:
        chosen = SecrecyLevel(level)
    except ValueError:
        names = "、".join(SECRECY_LABELS.values())
        raise ArchiveError("secrecy.unknown", f"密级应为以下之一：{names}", "secrecy", 422) from None
    retiree = dossier.retiree
    before = retiree.secrecy
    if chosen is before:
        return dossier
    if chosen.classified:
        online = session.scalars(
            select(RetrievalRequest.number).where(
                RetrievalRequest.dossier_id == dossier.id,
                RetrievalRequest.mode == RequestMode.online_view,
                RetrievalRequest.status == RequestStatus.approved,
            )
        ).all()
        if online:
            raise ArchiveError(
                "secrecy.online_open",
                f"该档案有已批准的网上查阅申请尚未办结（{'、'.join(online)}）：涉密档案不提供网上查阅，请先办结再定密级",
                "secrecy",
                409,
            )
    retiree.secrecy = chosen
    session.flush()
    what = f"{dossier.archival_code} 密级："
    record_change(
        session, user, AccessAction.secrecy_changed, client, what, before.label, chosen.label, dossier_id=dossier.id
    )
    return dossier
