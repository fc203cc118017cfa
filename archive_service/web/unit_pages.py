"""The 街道、社区与受托保管单位 page: the administrator registers the bureau's streets, townships and communities
with the retirees each receives (service staff are counted from them, 晋政办通〔2020〕18号 第十一条) and the units
it entrusts with files, each with its 档案管理资质 and validity (大政办发〔2017〕49号 第十六条); everyone who sees
the holdings sees how many files each unit keeps. The same service as the API (organisations/units.py)."""

import re
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from archive_service.auth.models import User
from archive_service.auth.permissions import Action, can, require
from archive_service.db import bureau_today
from archive_service.deps import CurrentUser, DbSession, client_address
from archive_service.dossiers import held_elsewhere
from archive_service.errors import ArchiveError
from archive_service.organisations import units
from archive_service.organisations.models import UNIT_KIND_LABELS, BureauUnit, UnitKind
from archive_service.web.dossier_pages import dossier_page_refused
from archive_service.web.forms import refusal_shows
from archive_service.web.rendering import templates

router = APIRouter(include_in_schema=False)


def _page(
    request: Request, session: Session, user: User, editing: BureauUnit | None = None, error: ArchiveError | None = None
) -> HTMLResponse:
    listed = units.list_units(session, user)
    today = bureau_today()
    return templates.TemplateResponse(
        request,
        "units.html",
        {
            "user": user,
            "listed": listed,
            "names": {u.id: u.name for u in listed},
            "parents": [u for u in listed if u.kind in (UnitKind.street, UnitKind.township)],
            "held": units.held_counts(session, user.organisation_id),
            "valid": {u.id: units.valid_on(u, today) for u in listed},
            "today": today,
            "editing": editing,
            "kinds": UNIT_KIND_LABELS,
            "labels": units.LABELS,
            "streets_basis": units.STREETS_BASIS,
            "custodian_basis": units.CUSTODIAN_BASIS,
            "can_manage": can(user, Action.manage_organisations),
            "error": error,
            "done": request.query_params.get("done", ""),
        },
        status_code=error.status if error else 200,
    )


def _typed(
    kind: str = Form(""),
    name: str = Form(""),
    parent_id: str = Form(""),
    retirees: str = Form(""),
    qualification: str = Form(""),
    valid_from: str = Form(""),
    valid_until: str = Form(""),
) -> units.Particulars:
    return units.Particulars(
        kind=kind, name=name, parent_id=parent_id, retirees=retirees,
        qualification=qualification, valid_from=valid_from, valid_until=valid_until,
    )  # fmt: skip


@router.get("/units", response_class=HTMLResponse)
def units_page(request: Request, session: DbSession, user: CurrentUser) -> Response:
    return _page(request, session, user)


@router.post("/units")
def register_unit(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    typed: units.Particulars = Depends(_typed),
) -> Response:
    with refusal_shows(session, lambda error: _page(request, session, user, error=error)):
        made = units.register_unit(session, user, typed, client_address(request))
    done = quote(f"已登记{made.kind.label} {made.name}")
    return RedirectResponse(f"/units?done={done}#unit-{made.id}", status_code=303)


@router.get("/units/{unit_id}", response_class=HTMLResponse)
def unit_page(request: Request, unit_id: int, session: DbSession, user: CurrentUser) -> Response:
    require(user, Action.manage_organisations)
    return _page(request, session, user, editing=units.get_unit(session, user, unit_id))


@router.post("/units/{unit_id}")
def change_unit(
    request: Request,
    unit_id: int,
    session: DbSession,
    user: CurrentUser,
    typed: units.Particulars = Depends(_typed),
) -> Response:
    def refused(error: ArchiveError) -> Response:
        return _page(request, session, user, editing=units.get_unit(session, user, unit_id), error=error)

    with refusal_shows(session, refused):
        changed = units.change_unit(session, user, unit_id, typed, client_address(request))
    done = quote(f"已保存{changed.kind.label} {changed.name}")
    return RedirectResponse(f"/units?done={done}#unit-{changed.id}", status_code=303)


# ---- a file kept by a street or custodian, from the dossier page -------------------------------


@router.post("/dossiers/{dossier_id}/held-by")
def hand_to_unit(
    dossier_id: int,
    request: Request,
    session: DbSession,
    user: CurrentUser,
    unit_id: str = Form(""),
) -> Response:
    with refusal_shows(session, lambda error: dossier_page_refused(request, session, user, dossier_id, error)):
        if not re.fullmatch(r"[0-9]{1,9}", unit_id.strip()):
            raise ArchiveError("unit_id.required", "请选择保管单位", "unit_id", 422)
        held_elsewhere.hand_to_unit(session, user, dossier_id, int(unit_id), client_address(request))
    return RedirectResponse(f"/dossiers/{dossier_id}", status_code=303)


@router.post("/dossiers/{dossier_id}/take-in")
def take_in(dossier_id: int, request: Request, session: DbSession, user: CurrentUser) -> Response:
    with refusal_shows(session, lambda error: dossier_page_refused(request, session, user, dossier_id, error)):
        held_elsewhere.take_in(session, user, dossier_id, client_address(request))
    return RedirectResponse(f"/dossiers/{dossier_id}", status_code=303)
