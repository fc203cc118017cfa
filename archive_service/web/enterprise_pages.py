"""The 移交单位 page: the intake clerk and the archivist register an enterprise that is to hand files over and
correct its particulars, and see each one's intake batches — the first step of an intake, which before this
page needed `archive orgs create` on the server. The same service as the API (organisations/enterprises.py)."""

from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from archive_service.auth.models import User
from archive_service.auth.permissions import Action, can, require
from archive_service.deps import CurrentUser, DbSession, client_address
from archive_service.errors import ArchiveError
from archive_service.organisations import enterprises
from archive_service.organisations.models import LEVEL_LABELS, Organisation
from archive_service.web.forms import refusal_shows
from archive_service.web.rendering import templates

router = APIRouter(include_in_schema=False)


def _page(
    request: Request,
    session: Session,
    user: User,
    editing: Organisation | None = None,
    error: ArchiveError | None = None,
) -> HTMLResponse:
    listed = enterprises.list_enterprises(session, user)
    return templates.TemplateResponse(
        request,
        "enterprises.html",
        {
            "user": user,
            "listed": listed,
            "editing": editing,
            "batches_of_editing": next((e.batches for e in listed if editing and e.enterprise.id == editing.id), []),
            "levels": LEVEL_LABELS,
            "labels": enterprises.LABELS,
            "can_start_batch": can(user, Action.receive_transfers),
            "can_open_batches": can(user, Action.view_dossiers),
            "error": error,
            "done": request.query_params.get("done", ""),
            "done_id": request.query_params.get("id", "") if request.query_params.get("id", "").isdigit() else "",
        },
        status_code=error.status if error else 200,
    )


def _typed(
    name: str = Form(""),
    credit_code: str = Form(""),
    region_code: str = Form(""),
    level: str = Form(""),
    contact_person: str = Form(""),
    contact_phone: str = Form(""),
    managing_unit: str = Form(""),
    financial: str = Form(""),
) -> enterprises.Particulars:
    """The particulars as the form sent them (the registering and the correcting form are the same form)."""
    return enterprises.Particulars(
        name=name, credit_code=credit_code, region_code=region_code, level=level,
        contact_person=contact_person, contact_phone=contact_phone, managing_unit=managing_unit,
        financial=financial == "yes",
    )  # fmt: skip


@router.get("/enterprises", response_class=HTMLResponse)
def enterprises_page(request: Request, session: DbSession, user: CurrentUser) -> Response:
    return _page(request, session, user)


@router.post("/enterprises")
def register_enterprise(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    typed: enterprises.Particulars = Depends(_typed),
) -> Response:
    with refusal_shows(session, lambda error: _page(request, session, user, error=error)):
        made = enterprises.register_enterprise(session, user, typed, client_address(request))
    done = quote(f"已登记移交单位 {made.name}")
    return RedirectResponse(f"/enterprises?done={done}&id={made.id}#enterprise-{made.id}", status_code=303)


@router.get("/enterprises/{enterprise_id}", response_class=HTMLResponse)
def enterprise_page(request: Request, enterprise_id: int, session: DbSession, user: CurrentUser) -> Response:
    require(user, Action.register_enterprises)
    return _page(request, session, user, editing=enterprises.get_enterprise(session, enterprise_id))


@router.post("/enterprises/{enterprise_id}")
def change_enterprise(
    request: Request,
    enterprise_id: int,
    session: DbSession,
    user: CurrentUser,
    typed: enterprises.Particulars = Depends(_typed),
) -> Response:

    def refused(error: ArchiveError) -> Response:
        return _page(request, session, user, editing=enterprises.get_enterprise(session, enterprise_id), error=error)

    with refusal_shows(session, refused):
        changed = enterprises.change_enterprise(session, user, enterprise_id, typed, client_address(request))
    done = quote(f"已保存移交单位 {changed.name}")
    return RedirectResponse(f"/enterprises?done={done}&id={changed.id}#enterprise-{changed.id}", status_code=303)
