"""The security officer's accounts page (用户管理): the bureau's staff and the requester accounts of the agencies
and communities it serves — create, change a role, disable, record a training certificate, and whether the
archivist role needs one. The same services as the API; every change is on the access log."""

from datetime import date

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from archive_service.auth import qualifications, standing
from archive_service.auth import service as accounts
from archive_service.auth.models import ROLE_LABELS, Role, User
from archive_service.auth.permissions import Action, require
from archive_service.db import bureau_today
from archive_service.deps import CurrentUser, DbSession, client_address
from archive_service.errors import ArchiveError
from archive_service.organisations.models import Organisation
from archive_service.web.forms import refusal_shows
from archive_service.web.rendering import form_date, templates

router = APIRouter(include_in_schema=False)


def _users_page(request: Request, session: Session, user: User, error: ArchiveError | None = None) -> HTMLResponse:
    require(user, Action.manage_users)
    organisations = session.scalars(
        select(Organisation)
        .where(or_(Organisation.id == user.organisation_id, Organisation.kind.in_(standing.SERVED_KINDS)))
        .order_by(Organisation.id != user.organisation_id, Organisation.name)
    ).all()
    own = organisations[0]
    people = session.scalars(
        select(User)
        .where(
            or_(
                User.organisation_id == user.organisation_id,
                User.organisation_id.in_([o.id for o in organisations if o.kind in standing.SERVED_KINDS])
                & (User.role == Role.requester),
            )
        )
        .options(selectinload(User.organisation))
        .order_by(User.organisation_id != user.organisation_id, User.username)
    ).all()
    served = [p.id for p in people if standing.is_served(p)]
    return templates.TemplateResponse(
        request,
        "users.html",
        {
            "user": user,
            "own": own,
            "people": people,
            "certificates": qualifications.certificates_of(
                session, [p.id for p in people if p.organisation_id == own.id]
            ),
            "open_sessions": {p.id: len(accounts.sessions_of(session, p)) for p in people},
            # A requester of an agency or community: this bureau's own standing, and the bureau that created it.
            "served": set(served),
            "standings": {i: standing.state(r) for i, r in standing.standings_at(session, own.id, served).items()},
            "homes": standing.home_bureaus(session, served),
            "not_granted": standing.NOT_GRANTED,
            "organisations": organisations,
            "roles": ROLE_LABELS,
            "today": bureau_today(),
            "error": error,
            "done": request.query_params.get("done", ""),
        },
        status_code=error.status if error else 200,
    )


@router.get("/users", response_class=HTMLResponse)
def users_page(request: Request, session: DbSession, user: CurrentUser) -> Response:
    return _users_page(request, session, user)


@router.post("/users")
def add_user(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    username: str = Form(""),
    display_name: str = Form(""),
    password: str = Form(""),
    role: str = Form(""),
    organisation_id: int = Form(...),
) -> Response:
    with refusal_shows(session, lambda error: _users_page(request, session, user, error)):
        require(user, Action.manage_users)
        if not display_name.strip():
            raise ArchiveError("display_name.required", "请填写姓名", "display_name", 422)
        made = accounts.add_account(
            session, user, client_address(request), username=username, display_name=display_name.strip(),
            password=password, role=_role(role), organisation_id=organisation_id,
        )  # fmt: skip
    return RedirectResponse(f"/users?done=已创建账户 {made.username}", status_code=303)


@router.post("/users/qualification")
def set_qualification(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    required: str = Form(""),
) -> Response:
    with refusal_shows(session, lambda error: _users_page(request, session, user, error)):
        qualifications.set_requirement(session, user, required == "yes", client_address(request))
    return RedirectResponse("/users?done=已保存持证上岗要求", status_code=303)


@router.post("/users/{user_id}")
def change_user(
    request: Request,
    user_id: int,
    session: DbSession,
    user: CurrentUser,
    role: str = Form(""),
    active: str = Form(""),
) -> Response:
    """A role chosen, or the account disabled / enabled again (active = no / yes)."""
    with refusal_shows(session, lambda error: _users_page(request, session, user, error)):
        require(user, Action.manage_users)
        enabled = {"yes": True, "no": False}.get(active)
        changed = accounts.change_account(
            session, user, user_id, client_address(request), _role(role) if role else None, enabled
        )
    return RedirectResponse(f"/users?done=已变更账户 {changed.username}", status_code=303)


@router.post("/users/{user_id}/password")
def reset_password(
    request: Request,
    user_id: int,
    session: DbSession,
    user: CurrentUser,
    password: str = Form(""),
) -> Response:
    """A temporary password, to be changed at the next login; the account's sessions end."""
    with refusal_shows(session, lambda error: _users_page(request, session, user, error)):
        target = accounts.reset_password(session, user, user_id, password, client_address(request))
    return RedirectResponse(f"/users?done=已重置 {target.username} 的密码（下次登录须修改）", status_code=303)


@router.post("/users/{user_id}/two-factor/reset")
def reset_two_factor(request: Request, user_id: int, session: DbSession, user: CurrentUser) -> Response:
    with refusal_shows(session, lambda error: _users_page(request, session, user, error)):
        target = accounts.reset_two_factor(session, user, user_id, client_address(request))
    return RedirectResponse(f"/users?done=已重置 {target.username} 的动态验证码（下次登录重新绑定）", status_code=303)


@router.post("/users/{user_id}/sessions/end")
def end_sessions(request: Request, user_id: int, session: DbSession, user: CurrentUser) -> Response:
    with refusal_shows(session, lambda error: _users_page(request, session, user, error)):
        ended = accounts.end_all_sessions(session, user, user_id, client_address(request))
    return RedirectResponse(f"/users?done=已结束 {ended} 个会话", status_code=303)


@router.post("/users/{user_id}/certificates")
def add_certificate(
    request: Request,
    user_id: int,
    session: DbSession,
    user: CurrentUser,
    title: str = Form(""),
    number: str = Form(""),
    issued_on: str = Form(""),
    expires_on: str = Form(""),
) -> Response:
    with refusal_shows(session, lambda error: _users_page(request, session, user, error)):
        expires: date | None = form_date(expires_on, "expires_on") if expires_on.strip() else None
        qualifications.record_certificate(
            session, user, user_id, client_address(request), title=title, number=number,
            issued_on=form_date(issued_on, "issued_on"), expires_on=expires,
        )  # fmt: skip
    return RedirectResponse("/users?done=已登记培训证书", status_code=303)


def _role(text: str) -> Role:
    try:
        return Role(text)
    except ValueError:
        raise ArchiveError("role.unknown", "请选择角色", "role", 422) from None
