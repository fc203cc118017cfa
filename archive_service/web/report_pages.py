"""统计报表: a bureau's monthly or yearly report (reports.service) and its .xlsx export."""

from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from archive_service.auth.permissions import Action, require
from archive_service.db import bureau_today
from archive_service.deps import CurrentUser, DbSession, xlsx_download
from archive_service.errors import ArchiveError
from archive_service.organisations.models import Organisation
from archive_service.reports import service as reports
from archive_service.web.rendering import templates

router = APIRouter(include_in_schema=False)


def _last_month() -> str:
    return f"{bureau_today().replace(day=1) - timedelta(days=1):%Y-%m}"


@router.get("/reports", response_class=HTMLResponse)
def report_page(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    period: str = "",
) -> Response:
    require(user, Action.view_holdings)
    chosen = period.strip() or _last_month()
    try:
        report = reports.report(session, user, reports.parse_period(chosen))
        error = None
    except ArchiveError as e:
        report, error = None, e
    return templates.TemplateResponse(
        request,
        "reports.html",
        {
            "user": user,
            "period": chosen,
            "report": report,
            "sections": reports.sections(report) if report else [],
            "error": error,
        },
        status_code=error.status if error else 200,
    )


@router.get("/reports/{period}.xlsx")
def report_workbook(period: str, session: DbSession, user: CurrentUser) -> Response:
    report = reports.report(session, user, reports.parse_period(period))
    bureau = session.get(Organisation, user.organisation_id)
    name = bureau.name if bureau else ""
    return xlsx_download(reports.report_xlsx(report, name), f"统计报表-{report.period.code}.xlsx")
