"""HTTP API for retrieval requests, delivered pages and the access register."""

from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from archive_service.access import delivery, loans, reading, register, service
from archive_service.access.log import verify_chain
from archive_service.access.models import ReadingSession, RetrievalRequest
from archive_service.access.schemas import (
    CloseIn,
    CopyIn,
    DecisionIn,
    ReadingCopyIn,
    ReadingEndIn,
    ReadingMaterialsIn,
    ReadingOpenIn,
    ReadingOut,
    ReadingStaffIn,
    ReadingStaffOut,
    RequestIn,
    RequestOut,
    ReturnIn,
)
from archive_service.auth.models import User
from archive_service.auth.permissions import Action, require
from archive_service.deps import CurrentUser, DbSession, Store, client_address

router = APIRouter(prefix="/api", tags=["access"])

NO_STORE = {"Cache-Control": "no-store"}


def out(session: Session, r: RetrievalRequest) -> RequestOut:
    pages = delivery.approved_pages(delivery.approved_materials(session, r)) if r.status.value == "approved" else []
    return RequestOut.model_validate(r).model_copy(update={"approved_pages": pages})


@router.post("/requests", response_model=RequestOut, status_code=201)
def submit(data: RequestIn, request: Request, session: DbSession, user: CurrentUser) -> RequestOut:
    form = service.RequestForm(**data.model_dump())
    return out(session, service.submit_request(session, user, form, client_address(request)))


@router.get("/requests", response_model=list[RequestOut])
def list_requests(session: DbSession, user: CurrentUser) -> list[RequestOut]:
    rows = session.scalars(service.visible_requests(user).order_by(RetrievalRequest.id.desc()).limit(200))
    return [out(session, r) for r in rows]


@router.get("/requests/{request_id}", response_model=RequestOut)
def get_request(request_id: int, session: DbSession, user: CurrentUser) -> RequestOut:
    return out(session, service.get_request(session, user, request_id))


@router.post("/requests/{request_id}/decision", response_model=RequestOut)
def decide(
    request_id: int,
    data: DecisionIn,
    request: Request,
    session: DbSession,
    user: CurrentUser,
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
    session: DbSession,
    store: Store,
    user: CurrentUser,
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
    session: DbSession,
    store: Store,
    user: CurrentUser,
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
    session: DbSession,
    store: Store,
    user: CurrentUser,
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
    session: DbSession,
    store: Store,
    user: CurrentUser,
) -> Response:
    r = service.get_request(session, user, request_id)
    pdf = delivery.certified_copy(session, store, user, r, data.annotation, client_address(request))
    return Response(
        pdf,
        media_type="application/pdf",
        headers={**NO_STORE, "Content-Disposition": f'attachment; filename="{r.number}-copy.pdf"'},
    )


@router.post("/requests/{request_id}/loan", response_model=RequestOut)
def lend(request_id: int, request: Request, session: DbSession, user: CurrentUser) -> RequestOut:
    r = service.get_request(session, user, request_id)
    return out(session, loans.lend(session, user, r, client_address(request)))


@router.post("/requests/{request_id}/return", response_model=RequestOut)
def take_back(
    request_id: int,
    data: ReturnIn,
    request: Request,
    session: DbSession,
    user: CurrentUser,
) -> RequestOut:
    r = service.get_request(session, user, request_id)
    return out(session, loans.take_back(session, user, r, data.complete, data.note, client_address(request)))


@router.post("/requests/{request_id}/close", response_model=RequestOut)
def close(
    request_id: int,
    data: CloseIn,
    request: Request,
    session: DbSession,
    user: CurrentUser,
) -> RequestOut:
    """办结: the archivist concludes a served request (a loan closes by its return)."""
    r = service.get_request(session, user, request_id)
    return out(session, service.close_request(session, user, r, data.note, client_address(request)))


def reading_out(session: Session, r: ReadingSession) -> ReadingOut:
    use_request = session.get_one(RetrievalRequest, r.request_id)
    staff = [session.get_one(User, i).display_name for i in r.staff_ids]
    return ReadingOut(
        id=r.id,
        request_id=r.request_id,
        request_number=use_request.number,
        dossier_id=r.dossier_id,
        staff=staff,
        started_at=r.started_at,
        out_at=r.out_at,
        ended_at=r.ended_at,
        materials=r.materials,
        slot_id=r.slot_id,
        return_check=r.return_check,
        copies_made=use_request.copies_made,
    )


@router.post("/requests/{request_id}/readings", response_model=ReadingOut, status_code=201)
def open_reading(
    request_id: int,
    data: ReadingOpenIn,
    request: Request,
    session: DbSession,
    user: CurrentUser,
) -> ReadingOut:
    """到馆查阅: the archivist opens the 阅档登记 of an approved on-site request (晋宁 第八条(七); 004 第十八条)."""
    r = service.get_request(session, user, request_id)
    opened = reading.open_reading(session, user, r, data.reader_citizen_id, data.staff, client_address(request))
    return reading_out(session, opened)


@router.get("/readings/{reading_id}", response_model=ReadingOut)
def get_reading(reading_id: int, session: DbSession, user: CurrentUser) -> ReadingOut:
    return reading_out(session, reading.get_reading(session, user, reading_id))


@router.post("/readings/{reading_id}/materials", response_model=ReadingOut)
def produce(
    reading_id: int,
    data: ReadingMaterialsIn,
    request: Request,
    session: DbSession,
    user: CurrentUser,
) -> ReadingOut:
    """Materials from the catalogue handed to the reader; the first takes the file off its slot."""
    r = reading.get_reading(session, user, reading_id)
    return reading_out(session, reading.produce(session, user, r, data.materials, client_address(request)))


@router.post("/readings/{reading_id}/copies", response_model=ReadingOut)
def reading_copies(
    reading_id: int,
    data: ReadingCopyIn,
    request: Request,
    session: DbSession,
    user: CurrentUser,
) -> ReadingOut:
    """A certified copy of produced materials, registered as every certified copy is."""
    r = reading.get_reading(session, user, reading_id)
    reading.register_copies(session, user, r, data.materials, data.annotation, client_address(request))
    return reading_out(session, r)


@router.post("/readings/{reading_id}/end", response_model=ReadingOut)
def end_reading(
    reading_id: int,
    data: ReadingEndIn,
    request: Request,
    session: DbSession,
    user: CurrentUser,
) -> ReadingOut:
    """The reading ends: materials checked back, the file back to its slot."""
    r = reading.get_reading(session, user, reading_id)
    ended = reading.end_reading(session, user, r, data.complete, data.note, client_address(request))
    return reading_out(session, ended)


@router.put("/reading-staff", response_model=ReadingStaffOut)
def set_reading_staff(data: ReadingStaffIn, request: Request, session: DbSession, user: CurrentUser) -> ReadingStaffOut:
    """How many staff must be present at a 到馆查阅 (the bureau's setting; preset 1)."""
    staff = reading.set_reading_staff(session, user, data.staff, client_address(request))
    return ReadingStaffOut(staff=staff, basis=reading.READING_BASIS)


@router.get("/audit/log.xlsx")
def register_xlsx(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    archival_code: str = "",
    username: str = "",
    action: str = "",
    since: date | None = None,
    until: date | None = None,
) -> Response:
    f = register.LogFilter(archival_code, username, action, since, until)
    data = register.register_xlsx(session, user, f, client_address(request))
    return Response(
        data,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={**NO_STORE, "Content-Disposition": 'attachment; filename="access-register.xlsx"'},
    )


@router.get("/audit/verify")
def audit_verify(session: DbSession, user: CurrentUser) -> dict:
    require(user, Action.read_audit_log)
    report = verify_chain(session)
    return {"ok": report.ok, "entries": report.entries, "broken_seq": report.broken_seq, "reason": report.reason}
