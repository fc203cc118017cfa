"""移交费用与社会化管理费 (transfers/fees.py; 000 五(一), 004 第十一条, 第十二条(三)(五)): the bureau's amounts, each
batch's fee with its payments (also on the batch page), and the yearly estimate."""

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from archive_service.auth.models import User
from archive_service.auth.permissions import Action, require
from archive_service.db import bureau_today
from archive_service.deps import CurrentUser, DbSession, client_address
from archive_service.errors import ArchiveError
from archive_service.transfers import fees
from archive_service.web.forms import refusal_shows
from archive_service.web.rendering import form_date, form_number, templates
from archive_service.web.transfer_pages import _batch_page

router = APIRouter(include_in_schema=False)


def _page(
    request: Request, session: Session, user: User, year: str = "", error: ArchiveError | None = None
) -> Response:
    require(user, Action.view_holdings)
    batches = fees.batch_fees(session, user)
    try:
        estimate = fees.estimate(session, user, form_number(year, "year", int))
    except ArchiveError as e:
        estimate, error = None, error or e
    totals = {
        "due": sum(f.due_fen or 0 for f in batches),
        "paid": sum(f.paid_fen for f in batches),
        "outstanding": sum(f.outstanding_fen or 0 for f in batches),
    }
    return templates.TemplateResponse(
        request,
        "fees.html",
        {
            "user": user,
            "policy": fees.policy(session, user.organisation_id),
            "presets": fees.PRESETS,
            "batches": batches,
            "totals": totals,
            "estimate": estimate,
            "year": year or bureau_today().year,
            "handover_basis": fees.HANDOVER_BASIS,
            "management_basis": fees.MANAGEMENT_BASIS,
            "error": error,
        },
        status_code=error.status if error else 200,
    )


@router.get("/transfers/fees", response_class=HTMLResponse)
def fees_page(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    year: str = "",
) -> Response:
    return _page(request, session, user, year)


@router.post("/transfers/fees/policy")
def set_policy(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    handover_fee: str = Form(""),
    management_fee: str = Form(""),
    basis: str = Form(""),
    preset: str = Form(""),
) -> Response:
    with refusal_shows(session, lambda error: _page(request, session, user, error=error)):
        if preset:
            fees.set_preset(session, user, preset, client_address(request))
        else:
            fees.set_policy(session, user, handover_fee, management_fee, basis, client_address(request))
        session.commit()
    return RedirectResponse("/transfers/fees#fee-policy", status_code=303)


@router.post("/transfers/{batch_id}/fee")
def record_payment(
    request: Request,
    batch_id: int,
    session: DbSession,
    user: CurrentUser,
    amount: str = Form(""),
    paid_on: str = Form(""),
    voucher: str = Form(""),
) -> Response:
    with refusal_shows(session, lambda error: _batch_page(request, session, user, batch_id, "transfer.html", error)):
        when = form_date(paid_on, "paid_on") if paid_on.strip() else None
        fees.record_payment(session, user, batch_id, amount, when, voucher, client_address(request))
        session.commit()
    return RedirectResponse(f"/transfers/{batch_id}#batch-fee", status_code=303)
