"""HTTP API for retrieval requests, delivered pages and the access register."""

from datetime import date

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from archive_service.access import delivery, loans, register, service
from archive_service.access.log import verify_chain
from archive_service.access.models import RetrievalRequest
from archive_service.access.schemas import CloseIn, CopyIn, DecisionIn, RequestIn, RequestOut, ReturnIn
from archive_service.auth.models import User
from archive_service.auth.permissions import Action, require
from archive_service.deps import DbSession, Store, client_address, current_user
from storage import ObjectStore

router = APIRouter(prefix="/api", tags=["access"])

NO_STORE = {"Cache-Control": "no-store"}


def out(session: Session, r: RetrievalRequest) -> RequestOut:
    pages = delivery.approved_pages(delivery.approved_materials(session, r)) if r.status.value == "approved" else []
    return RequestOut.model_validate(r).model_copy(update={"approved_pages": pages})


@router.post("/requests", response_model=RequestOut, status_code=201)
def submit(
    data: RequestIn, request: Request, session: Session = DbSession, user: User = Depends(current_user)
) -> RequestOut:
    form = service.RequestForm(**data.model_dump())
    return out(session, service.submit_request(session, user, form, client_address(request)))


@router.get("/requests", response_model=list[RequestOut])
def list_requests(session: Session = DbSession, user: User = Depends(current_user)) -> list[RequestOut]:
    rows = session.scalars(service.visible_requests(user).order_by(RetrievalRequest.id.desc()).limit(200))
    return [out(session, r) for r in rows]


@router.get("/requests/{request_id}", response_model=RequestOut)
def get_request(request_id: int, session: Session = DbSession, user: User = Depends(current_user)) -> RequestOut:
    return out(session, service.get_request(session, user, request_id))


@router.post("/requests/{request_id}/decision", response_model=RequestOut)
def decide(
    request_id: int,
    data: DecisionIn,
    request: Request,
    session: Session = DbSession,
    user: User = Depends(current_user),
) -> RequestOut:
    r = service.get_request(session, user, request_id)
    service.decide(
        session,
        user,
        r,
        approve=data.approve,
        client=client_address(request),
        material_classes=data.material_classes,
        allow_download=data.allow_download,
        allow_print=data.allow_print,
        reason=data.reason,
    )
    return out(session, r)


@router.get("/requests/{request_id}/pages/{page}")
def page_image(
    request_id: int,
    page: int,
    request: Request,
    session: Session = DbSession,
    store: ObjectStore = Store,
    user: User = Depends(current_user),
) -> Response:
    r = service.get_request(session, user, request_id)
    image = delivery.deliver_page(session, store, user, r, page, client_address(request))
    return Response(image, media_type="image/jpeg", headers=NO_STORE)


@router.get("/requests/{request_id}/missing-materials/{missing_id}/pages/{page}")
def certificate_page(
    request_id: int,
    missing_id: int,
    page: int,
    request: Request,
    session: Session = DbSession,
    store: ObjectStore = Store,
    user: User = Depends(current_user),
) -> Response:
    """A page of the certificate for a material missing from a granted class (001 第九条(一))."""
    r = service.get_request(session, user, request_id)
    client = client_address(request)
    image = delivery.deliver_certificate_page(session, store, user, r, missing_id, page, client)
    return Response(image, media_type="image/jpeg", headers=NO_STORE)


@router.get("/requests/{request_id}/download")
def download(
    request_id: int,
    request: Request,
    session: Session = DbSession,
    store: ObjectStore = Store,
    user: User = Depends(current_user),
) -> Response:
    r = service.get_request(session, user, request_id)
    pdf = delivery.deliver_download(session, store, user, r, client_address(request))
    return Response(
        pdf,
        media_type="application/pdf",
        headers={**NO_STORE, "Content-Disposition": f'attachment; filename="{r.number}.pdf"'},
    )


@router.post("/requests/{request_id}/certified-copy")
def certified_copy(
    request_id: int,
    data: CopyIn,
    request: Request,
    session: Session = DbSession,
    store: ObjectStore = Store,
    user: User = Depends(current_user),
) -> Response:
    r = service.get_request(session, user, request_id)
    pdf = delivery.certified_copy(session, store, user, r, data.annotation, client_address(request))
    return Response(
        pdf,
        media_type="application/pdf",
        headers={**NO_STORE, "Content-Disposition": f'attachment; filename="{r.number}-copy.pdf"'},
    )


@router.post("/requests/{request_id}/loan", response_model=RequestOut)
def lend(
    request_id: int, request: Request, session: Session = DbSession, user: User = Depends(current_user)
) -> RequestOut:
    r = service.get_request(session, user, request_id)
    return out(session, loans.lend(session, user, r, client_address(request)))


@router.post("/requests/{request_id}/return", response_model=RequestOut)
def take_back(
    request_id: int,
    data: ReturnIn,
    request: Request,
    session: Session = DbSession,
    user: User = Depends(current_user),
) -> RequestOut:
    r = service.get_request(session, user, request_id)
    return out(session, loans.take_back(session, user, r, data.complete, data.note, client_address(request)))


@router.post("/requests/{request_id}/close", response_model=RequestOut)
def close(
    request_id: int,
    data: CloseIn,
    request: Request,
    session: Session = DbSession,
    user: User = Depends(current_user),
) -> RequestOut:
    """办结: the archivist concludes a served request (a loan closes by its return)."""
    r = service.get_request(session, user, request_id)
    return out(session, service.close_request(session, user, r, data.note, client_address(request)))


@router.get("/audit/log.xlsx")
def register_xlsx(
    request: Request,
    archival_code: str = "",
    username: str = "",
    action: str = "",
    since: date | None = None,
    until: date | None = None,
    session: Session = DbSession,
    user: User = Depends(current_user),
) -> Response:
    f = register.LogFilter(archival_code, username, action, since, until)
    data = register.register_xlsx(session, user, f, client_address(request))
    return Response(
        data,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={**NO_STORE, "Content-Disposition": 'attachment; filename="access-register.xlsx"'},
    )


@router.get("/audit/verify")
def audit_verify(session: Session = DbSession, user: User = Depends(current_user)) -> dict:
    require(user, Action.read_audit_log)
    report = verify_chain(session)
    return {"ok": report.ok, "entries": report.entries, "broken_seq": report.broken_seq, "reason": report.reason}
