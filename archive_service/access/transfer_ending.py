"""A file sent on (转递) ends the requests made for it to the bureau that sent it: that bureau can no longer
decide or serve them, and the receiving bureau never takes them over (a request is made to one bureau,
access.models.RetrievalRequest.bureau_id). Each is closed, the reason on the access log, where the request
page shows it to the requester and to the sending bureau's staff."""

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service.access.log import AccessAction, record_access
from archive_service.access.models import RequestStatus, RetrievalRequest
from archive_service.auth.models import User

OPEN = (RequestStatus.submitted, RequestStatus.approved)


def end_requests_for_file_sent_on(
    session: Session, actor: User, dossier_id: int, from_org_id: int, to_org_name: str, batch_number: str, on: date
) -> list[RetrievalRequest]:
    """Close the sending bureau's open requests (waiting or approved) for a file that has left it."""
    ended = list(
        session.scalars(
            select(RetrievalRequest).where(
                RetrievalRequest.dossier_id == dossier_id,
                RetrievalRequest.bureau_id == from_org_id,
                RetrievalRequest.status.in_(OPEN),
            )
        )
    )
    for use_request in ended:
        use_request.status = RequestStatus.closed
        record_access(
            session,
            actor,
            AccessAction.close_request,
            "",
            dossier_id=dossier_id,
            request_id=use_request.id,
            detail=f"{use_request.number} 终止：档案已于 {on} 转递至 {to_org_name}（转递批次 {batch_number}），"
            "本馆不再办理；如仍需查阅，请向该馆申请",
            with_change=True,
        )
    session.flush()
    return ended
