"""档案处置 (002 第八条(七)): the bureau's retention rules, the files past them, and the 销毁清册 — drawn up,
signed by two others, carried out, exported (disposal/service.py)."""

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from archive_service.auth.models import User
from archive_service.auth.permissions import Action, can, require
from archive_service.deps import CurrentUser, DbSession, Store, client_address
from archive_service.disposal import service
from archive_service.disposal.models import RetentionState
from archive_service.disposal.routes import workbook
from archive_service.errors import ArchiveError
from archive_service.web.forms import refusal_shows
from archive_service.web.rendering import templates

router = APIRouter(include_in_schema=False)


def _page(request: Request, session: Session, user: User, error: ArchiveError | None = None) -> Response:
    if not (can(user, Action.view_dossiers) or can(user, Action.set_jurisdiction)):
        require(user, Action.view_dossiers)
    files = can(user, Action.view_dossiers)  # the administrator sets the rules but sees no file's particulars
    return templates.TemplateResponse(
        request,
        "disposal.html",
        {
            "user": user,
            "states": list(RetentionState),
            "rules": service.rules(session, user.organisation_id),
            "due": service.due(session, user) if files else [],
            "lists": service.lists(session, user) if files else [],
            "files": files,
            "basis": service.BASIS,
            "error": error,
        },
        status_code=error.status if error else 200,
    )


@router.get("/disposal", response_class=HTMLResponse)
def disposal_page(request: Request, session: DbSession, user: CurrentUser) -> Response:
    return _page(request, session, user)


@router.post("/disposal/rules")
def set_rule(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    state: str = Form(""),
    years: str = Form(""),
    basis: str = Form(""),
) -> Response:
    with refusal_shows(session, lambda error: _page(request, session, user, error)):
        typed = years.strip()
        number = int(typed) if typed.isascii() and typed.isdigit() else (None if not typed else typed)
        service.set_rule(session, user, state, number, basis, client_address(request))
        session.commit()
    return RedirectResponse("/disposal#rules", status_code=303)


@router.post("/disposal/lists")
def draw_up(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    dossier_ids: list[int] = Form(default_factory=list),
    reason: str = Form(""),
) -> Response:
    with refusal_shows(session, lambda error: _page(request, session, user, error)):
        listing = service.draw_up(session, user, dossier_ids, reason, client_address(request))
        session.commit()
    return RedirectResponse(f"/disposal/lists/{listing.id}", status_code=303)


def _list_page(
    request: Request, session: Session, user: User, list_id: int, error: ArchiveError | None = None
) -> Response:
    listing = service.get_list(session, user, list_id)
    return templates.TemplateResponse(
        request,
        "disposal_list.html",
        {"user": user, "listing": listing, "needed": service.SIGNATURES_NEEDED, "basis": service.BASIS,
         "error": error},
        status_code=error.status if error else 200,
    )  # fmt: skip


# Before the list's page: /disposal/lists/{list_id} would take '3.xlsx' as its id and refuse it.
@router.get("/disposal/lists/{list_id}.xlsx")
def list_xlsx(request: Request, list_id: int, session: DbSession, user: CurrentUser) -> Response:
    return workbook(session, user, list_id, client_address(request))


@router.get("/disposal/lists/{list_id}", response_class=HTMLResponse)
def list_page(request: Request, list_id: int, session: DbSession, user: CurrentUser) -> Response:
    return _list_page(request, session, user, list_id)


@router.post("/disposal/lists/{list_id}/sign")
def sign(
    request: Request,
    list_id: int,
    session: DbSession,
    user: CurrentUser,
    opinion: str = Form(""),
) -> Response:
    with refusal_shows(session, lambda error: _list_page(request, session, user, list_id, error)):
        service.sign(session, user, list_id, opinion, client_address(request))
        session.commit()
    return RedirectResponse(f"/disposal/lists/{list_id}", status_code=303)


@router.post("/disposal/lists/{list_id}/carry-out")
def carry_out(
    request: Request,
    list_id: int,
    session: DbSession,
    store: Store,
    user: CurrentUser,
) -> Response:
    with refusal_shows(session, lambda error: _list_page(request, session, user, list_id, error)):
        service.carry_out(session, store, user, list_id, client_address(request))
        session.commit()
    return RedirectResponse(f"/disposal/lists/{list_id}", status_code=303)
