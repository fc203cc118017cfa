"""利用登记: the access log as the auditor reads it, filtered and paged, with the usage statistics."""

from datetime import date, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from archive_service.access import register
from archive_service.access.models import RetrievalRequest
from archive_service.auth.models import Role, User
from archive_service.db import bureau_today
from archive_service.deps import CurrentUser, DbSession
from archive_service.dossiers.models import Dossier
from archive_service.web.request_pages import access_page

router = APIRouter(include_in_schema=False)


@router.get("/audit", response_class=HTMLResponse)
def audit_log(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    archival_code: str = "",
    username: str = "",
    action: str = "",
    since: date | None = None,
    until: date | None = None,
    page: int = 1,
) -> HTMLResponse:
    f = register.LogFilter(archival_code, username, action, since, until, page)
    total, rows = register.log_entries(session, user, f)
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_({e.user_id for e in rows if e.user_id})))}
    dossiers = {
        d.id: d
        for d in session.scalars(select(Dossier).where(Dossier.id.in_({e.dossier_id for e in rows if e.dossier_id})))
    }
    numbers = dict(
        session.execute(
            select(RetrievalRequest.id, RetrievalRequest.number).where(
                RetrievalRequest.id.in_({e.request_id for e in rows if e.request_id})
            )
        ).all()
    )
    query = request.url.query
    return access_page(
        request,
        "audit.html",
        user,
        rows=rows,
        total=total,
        f=f,
        users=users,
        dossiers=dossiers,
        numbers=numbers,
        labels=register.ACTION_LABELS,
        stats=register.usage_statistics(session, user),
        pages=max(1, -(-total // register.LOG_PAGE)),
        query=query,
        week_ago=bureau_today() - timedelta(days=7),
        roles={r.value: r.label for r in Role},
    )
