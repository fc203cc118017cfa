"""Pages of the handover campaign: its window, each enterprise's quota (核准移交人数) and progress, the
monthly list for the social-insurance agency, and the yearly transfer statistics."""

from datetime import timedelta

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service.auth.models import User
from archive_service.auth.permissions import Action, can
from archive_service.db import bureau_today
from archive_service.deps import CurrentUser, DbSession, client_address
from archive_service.errors import ArchiveError
from archive_service.organisations.models import Organisation, OrganisationKind, OrganisationLevel
from archive_service.transfers import campaign, continuing, statistics
from archive_service.uploads import uploaded_bytes
from archive_service.web.forms import refusal_shows
from archive_service.web.rendering import form_choice, form_date, form_number, templates

router = APIRouter(include_in_schema=False)


def _campaign_page(request: Request, session: Session, user: User, error: ArchiveError | None = None) -> Response:
    enterprises = session.scalars(
        select(Organisation).where(Organisation.kind == OrganisationKind.enterprise).order_by(Organisation.name)
    ).all()
    first = bureau_today().replace(day=1)
    return templates.TemplateResponse(
        request,
        "campaign.html",
        {
            "user": user,
            "figures": campaign.progress(session, user),
            "continuing": continuing.setting_of(session, user.organisation_id),
            "late": continuing.late(session, user),
            "enterprises": enterprises,
            "can_set_campaign": can(user, Action.set_jurisdiction),
            "campaign_presets": campaign.presets(),
            "levels": list(OrganisationLevel),
            "can_set_quota": can(user, Action.receive_transfers),
            "last_month": f"{first - timedelta(days=1):%Y-%m}",
            "error": error,
        },
        status_code=error.status if error else 200,
    )


@router.get("/transfers/campaign", response_class=HTMLResponse)
def campaign_page(request: Request, session: DbSession, user: CurrentUser) -> Response:
    return _campaign_page(request, session, user)


@router.post("/transfers/campaign")
def set_campaign(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    opens_on: str = Form(""),
    closes_on: str = Form(""),
    final_on: str = Form(""),
    basis: str = Form(""),
    preset: str = Form(""),
    closes_central: str = Form(""),
    closes_provincial: str = Form(""),
    closes_city: str = Form(""),
    closes_district: str = Form(""),
    closes_other: str = Form(""),
) -> Response:
    with refusal_shows(session, lambda error: _campaign_page(request, session, user, error)):
        if preset:  # a seed's window, as campaigns.toml has it
            campaign.set_preset(session, user, preset, client_address(request))
        else:
            typed = ((opens_on, "opens_on"), (closes_on, "closes_on"), (final_on, "final_on"))
            opens, closes, final = (form_date(v, name) if v.strip() else None for v, name in typed)
            own = {"central": closes_central, "provincial": closes_provincial, "city": closes_city,
                   "district": closes_district, "other": closes_other}  # fmt: skip
            by_level = {k: form_date(v, f"closes_{k}") if v.strip() else None for k, v in own.items()}
            campaign.set_campaign(session, user, opens, closes, final, basis, client_address(request), by_level)
        session.commit()
    return RedirectResponse("/transfers/campaign#campaign", status_code=303)


@router.post("/transfers/campaign/continuing")
def set_continuing(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    starts_on: str = Form(""),
    due_months: str = Form(""),
    basis: str = Form(""),
) -> Response:
    with refusal_shows(session, lambda error: _campaign_page(request, session, user, error)):
        start = form_date(starts_on, "starts_on") if starts_on.strip() else None
        months = int(due_months) if due_months.strip().isascii() and due_months.strip().isdigit() else due_months
        continuing.set_continuing(session, user, start, months, basis, client_address(request))
        session.commit()
    return RedirectResponse("/transfers/campaign#continuing", status_code=303)


@router.post("/transfers/campaign/quota")
def set_quota(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    enterprise_id: str = Form(""),
    expected: str = Form(""),
    basis: str = Form(""),
) -> Response:
    with refusal_shows(session, lambda error: _campaign_page(request, session, user, error)):
        number = int(expected) if expected.strip().isascii() and expected.strip().isdigit() else expected
        enterprise = form_choice(enterprise_id, "enterprise_id", "企业")
        campaign.set_quota(session, user, enterprise, number, basis)
        session.commit()
    return RedirectResponse("/transfers/campaign", status_code=303)


@router.post("/transfers/campaign/quotas")
def import_quotas(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    file: UploadFile = File(...),
) -> Response:
    with refusal_shows(session, lambda error: _campaign_page(request, session, user, error)):
        campaign.import_quotas(session, user, uploaded_bytes(file, "核准移交人数表"), file.filename or "")
        session.commit()
    return RedirectResponse("/transfers/campaign", status_code=303)


@router.get("/transfers/statistics", response_class=HTMLResponse)
def statistics_page(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    year: str = "",
) -> Response:
    try:
        chosen = form_number(year, "year", int)
        rows = statistics.statistics(session, user, chosen)
        error = None
    except ArchiveError as e:
        chosen, rows, error = None, [], e
    totals = {f: sum(getattr(r, f) for r in rows) for f in ("expected", "received", "rejected", "digitised")}
    return templates.TemplateResponse(
        request,
        "transfer_statistics.html",
        {"user": user, "rows": rows, "totals": totals, "year": chosen, "error": error},
        status_code=error.status if error else 200,
    )
