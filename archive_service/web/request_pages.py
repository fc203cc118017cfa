"""查阅申请 pages: the request form and list, a request's page with the approver's, the loan desk's and the
reading room's steps on it, and the requester's viewer, 核查表 and print copy of the granted pages."""

import base64
from datetime import timedelta

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service.access import delivery, loans, reading, service
from archive_service.access.log import AccessAction
from archive_service.access.models import (
    AccessLogEntry,
    RequestMode,
    RequestStatus,
    RetrievalRequest,
)
from archive_service.adapters import object_store
from archive_service.auth import standing
from archive_service.auth.models import User
from archive_service.auth.permissions import Action, can
from archive_service.db import bureau_today
from archive_service.deps import CurrentUser, DbSession, Store, client_address, xlsx_download
from archive_service.digitisation import misfiled
from archive_service.dossiers import facts, missing
from archive_service.dossiers.class_schemes import TOP_CLASS_NAMES
from archive_service.dossiers.models import Dossier
from archive_service.errors import ArchiveError
from archive_service.web.forms import refusal_shows
from archive_service.web.rendering import form_date, templates

router = APIRouter(include_in_schema=False)


def access_page(request: Request, name: str, user: User, status: int = 200, **context) -> HTMLResponse:
    """Render a page with what every access page needs; `status` is the HTTP status."""
    return templates.TemplateResponse(
        request,
        name,
        {
            "user": user,
            "TOP_CLASS_NAMES": TOP_CLASS_NAMES,
            "purposes": service.purposes(),
            "modes": list(RequestMode),
            "relationships": service.RELATIONSHIPS,
            **context,
        },
        status_code=status,
    )


def _requests_page(
    request: Request, session: Session, user: User, status: str = "", error: ArchiveError | None = None
) -> HTMLResponse:
    query = service.visible_requests(user).order_by(RetrievalRequest.id.desc()).limit(200)
    if status in RequestStatus.__members__:
        query = query.where(RetrievalRequest.status == RequestStatus(status))
    rows = [(r, session.get(Dossier, r.dossier_id)) for r in session.scalars(query)]
    offered = service.purposes_for(user)
    return access_page(
        request,
        "requests.html",
        user,
        status=error.status if error else 200,
        rows=rows,
        status_filter=status,
        today=bureau_today(),
        # A request approved tomorrow must not have expired: the first purpose's usual window by default.
        default_until=bureau_today() + timedelta(days=next(iter(offered.values())).max_days - 1) if offered else None,
        error=error,
        can_submit=can(user, Action.submit_request),
        # A shared agency's requester: the bureaus that disabled it, whose requests the list no longer shows.
        not_serving=standing.not_serving(session, user),
        rule=standing.RULE,
        offered=offered,  # the purposes this requester may ask for (an enterprise: 待遇变更 only)
        enterprise_basis=service.ENTERPRISE_BASIS,
    )


@router.get("/requests", response_class=HTMLResponse)
def request_list(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    status: str = "",
) -> HTMLResponse:
    return _requests_page(request, session, user, status)


@router.post("/requests", response_class=HTMLResponse)
def request_submit(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    dossier: str = Form(""),
    purpose: str = Form(""),
    purpose_detail: str = Form(""),
    material_classes: list[int] = Form([]),
    mode: str = Form("online_view"),
    valid_from: str = Form(""),
    valid_until: str = Form(""),
    reader_name: str = Form(""),
    reader_citizen_id: str = Form(""),
    relationship: str = Form("none"),
) -> Response:
    # The form comes back as typed.
    with refusal_shows(session, lambda error: _requests_page(request, session, user, error=error)):
        if mode not in RequestMode.__members__:
            raise ArchiveError("request.mode", "请选择利用方式", "mode")
        form = service.RequestForm(
            dossier=dossier,
            purpose=purpose,
            purpose_detail=purpose_detail,
            material_classes=material_classes,
            mode=RequestMode(mode),
            valid_from=form_date(valid_from, "valid_from"),
            valid_until=form_date(valid_until, "valid_until"),
            reader_name=reader_name,
            reader_citizen_id=reader_citizen_id,
            relationship=relationship,
        )
        created = service.submit_request(session, user, form, client_address(request))
    return RedirectResponse(f"/requests/{created.id}", status_code=303)


@router.get("/requests/{request_id}", response_class=HTMLResponse)
def request_detail(
    request_id: int,
    request: Request,
    session: DbSession,
    user: CurrentUser,
    error: ArchiveError | None = None,
) -> HTMLResponse:
    r = service.get_request(session, user, request_id)
    dossier = session.get(Dossier, r.dossier_id)
    approved = delivery.approved_materials(session, r) if r.status is RequestStatus.approved else []
    requester = session.get(User, r.requester_id)
    class_pages = delivery.pages_by_class(session, r.dossier_id)
    served = set(class_pages) | delivery.certified_classes(session, r.dossier_id)
    return access_page(
        request,
        "request.html",
        user,
        status=error.status if error else 200,
        r=r,
        d=dossier,
        approved=approved,
        requester=requester,
        error=error,
        today=bureau_today(),
        can_decide=can(user, Action.approve_requests)
        and r.status is RequestStatus.submitted
        and r.requester_id != user.id,
        # Classes asked for with no digitised page and no missing-material certificate: approving them serves nothing.
        unservable=[n for n in r.material_classes if n not in served],
        class_pages=class_pages,
        # Pages the request would serve that the misfiled-page check flagged and no archivist has decided yet:
        # the approver sees them before approving (custody staff only, never the requester).
        misfiled=misfiled.flags_in_scope(session, object_store(), r)
        if can(user, Action.view_dossiers) and r.status in (RequestStatus.submitted, RequestStatus.approved)
        else [],
        can_serve=can(user, Action.serve_requests),
        is_requester=r.requester_id == user.id,
        # 到馆查阅: the request's 阅档登记 and whom the archivist may name present.
        readings=reading.sessions_of(session, r) if r.mode is RequestMode.on_site else [],
        reading_staff=reading.staff_to_choose(session, user)
        if r.mode is RequestMode.on_site and can(user, Action.serve_requests)
        else [],
        staff_required=reading.staff_required(session, r.bureau_id),
        closed=session.execute(
            select(AccessLogEntry.at, AccessLogEntry.detail, User.display_name)
            .join(User, User.id == AccessLogEntry.user_id)
            .where(AccessLogEntry.request_id == r.id, AccessLogEntry.action == AccessAction.close_request)
        ).first()
        if r.status is RequestStatus.closed
        else None,
    )


@router.post("/requests/{request_id}/decide", response_model=None)
def request_decide(
    request_id: int,
    request: Request,
    session: DbSession,
    user: CurrentUser,
    approve: str = Form(""),
    material_classes: list[int] = Form([]),
    allow_download: bool = Form(False),
    allow_print: bool = Form(False),
    reason: str = Form(""),
) -> Response:
    r = service.get_request(session, user, request_id)
    with refusal_shows(session, lambda error: request_detail(request_id, request, session, user, error)):
        service.decide(
            session,
            user,
            r,
            approve=approve == "yes",
            client=client_address(request),
            material_classes=material_classes or None,
            allow_download=allow_download,
            allow_print=allow_print,
            reason=reason,
        )
    return RedirectResponse(f"/requests/{request_id}", status_code=303)


@router.post("/requests/{request_id}/loan", response_model=None)
def request_lend(request_id: int, request: Request, session: DbSession, user: CurrentUser) -> Response:
    r = service.get_request(session, user, request_id)
    with refusal_shows(session, lambda error: request_detail(request_id, request, session, user, error)):
        loans.lend(session, user, r, client_address(request))
    return RedirectResponse("/loans", status_code=303)


@router.post("/requests/{request_id}/return", response_model=None)
def request_return(
    request_id: int,
    request: Request,
    session: DbSession,
    user: CurrentUser,
    complete: str = Form(""),
    note: str = Form(""),
) -> Response:
    r = service.get_request(session, user, request_id)
    with refusal_shows(session, lambda error: request_detail(request_id, request, session, user, error)):
        loans.take_back(session, user, r, complete == "yes", note, client_address(request))
    return RedirectResponse("/loans", status_code=303)


@router.post("/requests/{request_id}/copy", response_model=None)
def request_copy(
    request_id: int,
    request: Request,
    session: DbSession,
    store: Store,
    user: CurrentUser,
    annotation: str = Form(""),
) -> Response:
    r = service.get_request(session, user, request_id)
    with refusal_shows(session, lambda error: request_detail(request_id, request, session, user, error)):
        pdf = delivery.certified_copy(session, store, user, r, annotation, client_address(request))
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{r.number}-copy.pdf"'},
    )


@router.post("/requests/{request_id}/close", response_model=None)
def request_close(
    request_id: int,
    request: Request,
    session: DbSession,
    user: CurrentUser,
    note: str = Form(""),
) -> Response:
    r = service.get_request(session, user, request_id)
    with refusal_shows(session, lambda error: request_detail(request_id, request, session, user, error)):
        service.close_request(session, user, r, note, client_address(request))
    return RedirectResponse(f"/requests/{request_id}", status_code=303)


@router.post("/requests/{request_id}/reading", response_model=None)
def reading_open(
    request_id: int,
    request: Request,
    session: DbSession,
    user: CurrentUser,
    reader_citizen_id: str = Form(""),
    staff: list[int] = Form([]),
) -> Response:
    """到馆查阅: the archivist opens the 阅档登记 from the request's page."""
    r = service.get_request(session, user, request_id)
    with refusal_shows(session, lambda error: request_detail(request_id, request, session, user, error)):
        opened = reading.open_reading(session, user, r, reader_citizen_id, staff, client_address(request))
    return RedirectResponse(f"/reading/{opened.id}", status_code=303)


@router.get("/requests/{request_id}/view", response_class=HTMLResponse)
def viewer(
    request_id: int,
    request: Request,
    session: DbSession,
    user: CurrentUser,
    page: int = 0,
    certificate: int = 0,
) -> HTMLResponse:
    """The granted pages one at a time, and the certificates of materials missing from the granted classes."""
    r = service.get_request(session, user, request_id)
    delivery.check_online_use(r, user)
    approved = delivery.approved_materials(session, r)
    granted_pages = delivery.approved_pages(approved)
    certificates = missing.granted(session, r.dossier_id, r.material_classes)
    shown = next((m for m in certificates if m.id == certificate), None)
    if shown is None and not granted_pages and certificates:  # only certificates to show
        shown = certificates[0]
    if shown:  # a certificate's own pages
        pages = list(range(1, (shown.certificate.pages or 1) + 1))
        at = f"/requests/{r.id}/view?certificate={shown.id}&page="
    else:
        pages, at = granted_pages, f"/requests/{r.id}/view?page="
    if not pages:
        raise ArchiveError("request.no_pages", "批准范围内没有已数字化的页面", "material_classes", 404)
    current = page if page in pages else pages[0]
    i = pages.index(current)
    dossier = session.get_one(Dossier, r.dossier_id)
    return access_page(
        request,
        "viewer.html",
        user,
        r=r,
        d=dossier,
        facts=facts.fact_sheet(session, dossier, set(granted_pages)),  # from the granted pages only
        approved=approved,
        certificates=certificates,
        shown=shown,
        image=f"/api/requests/{r.id}/missing-materials/{shown.id}/pages/{current}"
        if shown
        else f"/api/requests/{r.id}/pages/{current}",
        at=at,
        page=current,
        prev=pages[i - 1] if i else None,
        next=pages[i + 1] if i + 1 < len(pages) else None,
        position=i + 1,
        count=len(pages),
    )


@router.get("/requests/{request_id}/facts.xlsx")
def fact_checklist(request_id: int, request: Request, session: DbSession, user: CurrentUser) -> Response:
    """The requester's 核查表: the facts the granted pages state (logged like any delivery)."""
    r = service.get_request(session, user, request_id)
    delivery.check_online_use(r, user)
    pages = set(delivery.approved_pages(delivery.approved_materials(session, r)))
    dossier = session.get(Dossier, r.dossier_id)
    scope = f"申请 {r.number} 批准查阅的材料"
    data = facts.hand_out_checklist(session, user, dossier, client_address(request), pages, r.id, scope)  # type: ignore[arg-type]
    return xlsx_download(data, f"{dossier.archival_code}-核查表.xlsx")  # type: ignore[union-attr]


@router.get("/requests/{request_id}/print", response_class=HTMLResponse)
def print_view(
    request_id: int,
    request: Request,
    session: DbSession,
    store: Store,
    user: CurrentUser,
) -> HTMLResponse:
    r = service.get_request(session, user, request_id)
    printed = delivery.print_copy(session, store, user, r, client_address(request))
    pages = [(label, "data:image/jpeg;base64," + base64.b64encode(jpeg).decode()) for label, jpeg in printed.pages]
    return access_page(request, "print.html", user, r=r, d=session.get(Dossier, r.dossier_id), pages=pages)
