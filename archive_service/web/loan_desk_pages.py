"""借阅台: the paper loans out (借阅), and the reading room (阅档室) — the approved 到馆查阅 requests, each reading's
阅档登记 from opening to end, and how many staff must be present."""

from collections.abc import Callable

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service.access import loans, reading, service
from archive_service.access.log import AccessAction
from archive_service.access.models import (
    AccessLogEntry,
    ReadingSession,
    RequestMode,
    RequestStatus,
    RetrievalRequest,
)
from archive_service.auth.models import Role, User
from archive_service.auth.permissions import Action, can
from archive_service.db import bureau_today
from archive_service.deps import CurrentUser, DbSession, client_address
from archive_service.dossiers.class_schemes import top_class
from archive_service.dossiers.models import Dossier, Material
from archive_service.errors import ArchiveError, Forbidden
from archive_service.shelving.models import ShelfSlot
from archive_service.web.forms import refusal_shows
from archive_service.web.request_pages import access_page

router = APIRouter(include_in_schema=False)


@router.get("/loans", response_class=HTMLResponse)
def loan_desk(request: Request, session: DbSession, user: CurrentUser) -> HTMLResponse:
    query = service.visible_requests(user).where(
        RetrievalRequest.mode == RequestMode.paper_loan, RetrievalRequest.status == RequestStatus.approved
    )
    rows = [(r, session.get(Dossier, r.dossier_id)) for r in session.scalars(query.order_by(RetrievalRequest.id))]
    overdue = {r.id for r in loans.overdue_loans(session, user.organisation_id)}
    return access_page(request, "loans.html", user, rows=rows, overdue=overdue, today=bureau_today())


@router.get("/reading", response_class=HTMLResponse)
def reading_desk(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    error: ArchiveError | None = None,
) -> HTMLResponse:
    """阅档室: approved on-site requests to serve, the readings under way, the bureau's staff-present setting."""
    if user.role is Role.requester:
        raise Forbidden("阅档室登记台仅供本馆工作人员使用")
    query = service.visible_requests(user).where(
        RetrievalRequest.mode == RequestMode.on_site, RetrievalRequest.status == RequestStatus.approved
    )
    rows = [(r, session.get(Dossier, r.dossier_id)) for r in session.scalars(query.order_by(RetrievalRequest.id))]
    recent = session.scalars(
        select(ReadingSession)
        .where(ReadingSession.bureau_id == user.organisation_id)
        .order_by(ReadingSession.id.desc())
        .limit(50)
    ).all()
    numbers = dict(
        session.execute(
            select(RetrievalRequest.id, RetrievalRequest.number).where(
                RetrievalRequest.id.in_({x.request_id for x in recent})
            )
        ).all()
    )
    codes = dict(
        session.execute(
            select(Dossier.id, Dossier.archival_code).where(Dossier.id.in_({x.dossier_id for x in recent}))
        ).all()
    )
    return access_page(
        request,
        "reading_desk.html",
        user,
        status=error.status if error else 200,
        rows=rows,
        open_by_request={x.request_id: x for x in recent if x.ended_at is None},
        recent=recent,
        numbers=numbers,
        codes=codes,
        error=error,
        staff_required=reading.staff_required(session, user.organisation_id),
        basis=reading.READING_BASIS,
        can_set=can(user, Action.set_space_policy),
    )


@router.post("/reading/staff", response_model=None)
def reading_staff_setting(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    staff: str = Form(""),
) -> Response:
    """The administrator sets how many staff must be present at a 到馆查阅 (preset 1)."""
    with refusal_shows(session, lambda error: reading_desk(request, session, user, error)):
        if not staff.strip().isdigit():
            raise ArchiveError("reading_staff.number", "请填写在场工作人员人数（整数）", "reading_staff")
        reading.set_reading_staff(session, user, int(staff), client_address(request))
    return RedirectResponse("/reading#reading-staff", status_code=303)


@router.get("/reading/{reading_id}", response_class=HTMLResponse)
def reading_page(
    reading_id: int,
    request: Request,
    session: DbSession,
    user: CurrentUser,
    error: ArchiveError | None = None,
) -> HTMLResponse:
    """One 阅档登记: who reads, who is present, the catalogue to produce from, copies, the end."""
    x = reading.get_reading(session, user, reading_id)
    r = session.get_one(RetrievalRequest, x.request_id)
    dossier = session.get_one(Dossier, x.dossier_id)
    catalogue = session.scalars(
        select(Material).where(Material.dossier_id == dossier.id).order_by(Material.sort_key)
    ).all()
    return access_page(
        request,
        "reading.html",
        user,
        status=error.status if error else 200,
        x=x,
        r=r,
        d=dossier,
        staff=[session.get_one(User, i) for i in x.staff_ids],
        ended_by=session.get(User, x.ended_by_id) if x.ended_by_id else None,
        catalogue=[(m, top_class(m.material_class.code) in r.material_classes) for m in catalogue],
        produced=[m for m in catalogue if m.id in x.materials],
        slot=session.get(ShelfSlot, x.slot_id or dossier.shelf_slot_id or 0),
        copies=session.execute(
            select(AccessLogEntry.at, AccessLogEntry.detail)
            .where(AccessLogEntry.request_id == r.id, AccessLogEntry.action == AccessAction.export)
            .order_by(AccessLogEntry.seq)
        ).all(),
        error=error,
        can_serve=can(user, Action.serve_requests),
    )


def _reading_step(
    reading_id: int, request: Request, session: Session, user: User, step: Callable[[ReadingSession], object]
) -> Response:
    """A step on a reading's page; a refusal shows the page again with the error."""
    x = reading.get_reading(session, user, reading_id)
    with refusal_shows(session, lambda error: reading_page(reading_id, request, session, user, error)):
        step(x)
    return RedirectResponse(f"/reading/{reading_id}", status_code=303)


@router.post("/reading/{reading_id}/materials", response_model=None)
def reading_produce(
    reading_id: int,
    request: Request,
    session: DbSession,
    user: CurrentUser,
    materials: list[int] = Form([]),
) -> Response:
    client = client_address(request)
    return _reading_step(
        reading_id, request, session, user, lambda x: reading.produce(session, user, x, materials, client)
    )


@router.post("/reading/{reading_id}/copies", response_model=None)
def reading_copies(
    reading_id: int,
    request: Request,
    session: DbSession,
    user: CurrentUser,
    materials: list[int] = Form([]),
    annotation: str = Form(""),
) -> Response:
    client = client_address(request)
    return _reading_step(
        reading_id,
        request,
        session,
        user,
        lambda x: reading.register_copies(session, user, x, materials, annotation, client),
    )


@router.post("/reading/{reading_id}/end", response_model=None)
def reading_end(
    reading_id: int,
    request: Request,
    session: DbSession,
    user: CurrentUser,
    complete: str = Form("yes"),
    note: str = Form(""),
) -> Response:
    client = client_address(request)
    return _reading_step(
        reading_id,
        request,
        session,
        user,
        lambda x: reading.end_reading(session, user, x, complete == "yes", note, client),
    )
