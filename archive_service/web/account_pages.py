"""Signing in and one's own account (我的账户): the login page and its second step (the code from the
authenticator, or enrolment with a QR code the first time), the recovery codes shown once, changing one's
password (forced at first login, after a reset, past its age), one's sessions, ended from here."""

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from archive_service.auth import passwords, two_factor
from archive_service.auth import service as auth_service
from archive_service.auth.models import User
from archive_service.auth.passwords import must_change
from archive_service.auth.policy import describe, policy_for
from archive_service.config import get_settings
from archive_service.deps import SESSION_COOKIE, CurrentUser, DbSession, client_address, request_token
from archive_service.errors import ArchiveError
from archive_service.web.forms import refusal_shows, refuse_invisible_text
from archive_service.web.rendering import templates

router = APIRouter(include_in_schema=False)
PENDING_COOKIE = "archive_login"  # the half-session between the password and the code, for /login/code only
# Why the login page was reached: by the refusal's code, never by text from the address bar.
WHY = {
    "unauthenticated": "",
    "session.idle": "您已较长时间没有操作，为安全起见已自动退出，请重新登录",
    "session.expired": "本次登录已到本馆规定的最长时间，请重新登录",
    "session.ended": "您的会话已结束（已退出、被结束或账户有变动），请重新登录",
}


def _safe_next(target: str) -> str:
    # Only same-site paths: an open redirect after login would help phishing.
    return target if target.startswith("/") and not target.startswith("//") else "/"


def _agent(request: Request) -> str:
    return request.headers.get("user-agent", "")[:200]


def _signed_in(response: Response, token: str, hours: int) -> Response:
    response.set_cookie(
        SESSION_COOKIE, token, httponly=True, samesite="strict", secure=get_settings().secure_cookies,
        max_age=hours * 3600,
    )  # fmt: skip
    response.delete_cookie(PENDING_COOKIE, path="/login")
    return response


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/", why: str = "") -> HTMLResponse:
    return templates.TemplateResponse(
        request, "login.html", {"next": _safe_next(next), "error": None, "notice": WHY.get(why, "")}
    )


@router.post("/login")
def login_submit(
    request: Request,
    session: DbSession,
    username: str = Form(""),
    password: str = Form(""),
    next: str = Form("/"),
) -> Response:
    try:
        refuse_invisible_text()
        user, token, step = auth_service.begin_web_login(
            session, username.strip(), password, client_address(request), _agent(request)
        )
    except ArchiveError as error:
        return templates.TemplateResponse(
            request,
            "login.html",
            {"next": _safe_next(next), "error": error, "username": username},
            status_code=error.status,
        )
    if not step:
        return _signed_in(
            RedirectResponse(_safe_next(next), status_code=303), token, policy_for(session, user).session_hours
        )
    response = RedirectResponse(f"/login/code?next={_safe_next(next)}", status_code=303)
    response.set_cookie(
        PENDING_COOKIE, token, httponly=True, samesite="strict", secure=get_settings().secure_cookies,
        max_age=auth_service.SECOND_FACTOR_MINUTES * 60, path="/login",
    )  # fmt: skip
    return response


def _code_page(request: Request, session: Session, next: str, error: ArchiveError | None = None) -> HTMLResponse:
    pending = auth_service.pending_login(session, request.cookies.get(PENDING_COOKIE, ""))
    user = pending.user
    context: dict[str, object] = {"next": _safe_next(next), "error": error, "who": user, "enrol": False}
    if user.totp_secret is None:
        secret = user.totp_pending_secret or two_factor.start_enrolment(user)
        context.update(
            enrol=True,
            qr=two_factor.qr_svg(two_factor.provisioning_uri(user, secret)),
            secret=two_factor.grouped(secret),
        )
    return templates.TemplateResponse(request, "login_code.html", context, status_code=error.status if error else 200)


@router.get("/login/code", response_class=HTMLResponse)
def code_page(
    request: Request,
    session: DbSession,
    next: str = "/",
) -> Response:
    try:
        return _code_page(request, session, next)
    except ArchiveError as error:  # the half-session is gone: back to the password
        return _restart(request, next, error)


def _restart(request: Request, next: str, error: ArchiveError) -> HTMLResponse:
    response = templates.TemplateResponse(
        request, "login.html", {"next": _safe_next(next), "error": error}, status_code=error.status
    )
    response.delete_cookie(PENDING_COOKIE, path="/login")
    return response


@router.post("/login/code")
def code_submit(
    request: Request,
    session: DbSession,
    code: str = Form(""),
    recovery_code: str = Form(""),
    next: str = Form("/"),
) -> Response:
    try:
        user, token, codes = auth_service.finish_web_login(
            session, request.cookies.get(PENDING_COOKIE, ""), code, recovery_code, client_address(request),
            _agent(request),
        )  # fmt: skip
    except ArchiveError as error:
        if error.code == "unauthenticated" or error.code.startswith("login."):
            return _restart(request, next, error)
        session.rollback()
        try:
            return _code_page(request, session, next, error)
        except ArchiveError as gone:
            return _restart(request, next, gone)
    hours = policy_for(session, user).session_hours
    if codes:  # just enrolled: the recovery codes, once
        page = templates.TemplateResponse(
            request, "recovery_codes.html", {"user": user, "codes": codes, "next": _safe_next(next)}
        )
        return _signed_in(page, token, hours)
    return _signed_in(RedirectResponse(_safe_next(next), status_code=303), token, hours)


@router.post("/logout")
def logout(request: Request, session: DbSession) -> Response:
    token = request_token(request)
    if token:
        auth_service.logout(session, token, client_address(request))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


# ---- my account ----------------------------------------------------------------------------------


def _account_page(
    request: Request, session: Session, user: User, error: ArchiveError | None = None, codes: list[str] | None = None
) -> HTMLResponse:
    policy = policy_for(session, user)
    context: dict[str, object] = {
        "user": user,
        "error": error,
        "done": request.query_params.get("done", ""),
        "policy": describe(policy),
        "must_change": must_change(session, user),
        "two_factor_required": policy.needs_two_factor(user.role),
        "recovery_left": two_factor.recovery_codes_left(session, user) if user.totp_secret else 0,
        "sessions": auth_service.sessions_of(session, user),
        "current_session": session.info.get("current_session_id"),
        "codes": codes or [],
        "enrolling": False,
    }
    if request.query_params.get("enrol") and user.totp_pending_secret:
        secret = user.totp_pending_secret
        context.update(
            enrolling=True,
            qr=two_factor.qr_svg(two_factor.provisioning_uri(user, secret)),
            secret=two_factor.grouped(secret),
        )
    return templates.TemplateResponse(request, "account.html", context, status_code=error.status if error else 200)


@router.get("/account", response_class=HTMLResponse)
def account_page(request: Request, session: DbSession, user: CurrentUser) -> Response:
    return _account_page(request, session, user)


@router.get("/account/password", response_class=HTMLResponse)
def password_page(request: Request, session: DbSession, user: CurrentUser) -> Response:
    if not must_change(session, user):
        return RedirectResponse("/account#password", status_code=303)
    policy = policy_for(session, user)
    return templates.TemplateResponse(
        request, "password.html", {"user": user, "policy": describe(policy), "error": None, "forced": True}
    )


@router.post("/account/password")
def change_password(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    current_password: str = Form(""),
    new_password: str = Form(""),
    repeat_password: str = Form(""),
) -> Response:
    forced = must_change(session, user)

    def shown(error: ArchiveError) -> HTMLResponse:
        if forced:
            return templates.TemplateResponse(
                request,
                "password.html",
                {"user": user, "policy": describe(policy_for(session, user)), "error": error, "forced": True},
                status_code=error.status,
            )
        return _account_page(request, session, user, error)

    with refusal_shows(session, shown):
        if new_password != repeat_password:
            raise ArchiveError("password.repeat", "两次输入的新密码不一致", "repeat_password", 422)
        passwords.change_own(session, user, current_password, new_password, client_address(request))
    return RedirectResponse("/?done=密码已修改" if forced else "/account?done=密码已修改", status_code=303)


@router.post("/account/two-factor")
def begin_enrolment(request: Request, session: DbSession, user: CurrentUser) -> Response:
    """Bind (or re-bind, a new phone) the authenticator: a new secret waits for its first code."""
    two_factor.start_enrolment(user)
    return RedirectResponse("/account?enrol=1#two-factor", status_code=303)


@router.post("/account/two-factor/confirm")
def confirm_enrolment(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    code: str = Form(""),
) -> Response:
    from archive_service.access.log import AccessAction, record_access

    with refusal_shows(session, lambda error: _account_page(request, session, user, error)):
        codes = two_factor.confirm_enrolment(session, user, code)
        record_access(
            session, user, AccessAction.two_factor_enrolled, client_address(request), detail=user.display_name,
            with_change=True,
        )  # fmt: skip
    return _account_page(request, session, user, codes=codes)


@router.post("/account/recovery-codes")
def renew_recovery_codes(request: Request, session: DbSession, user: CurrentUser) -> Response:
    with refusal_shows(session, lambda error: _account_page(request, session, user, error)):
        if user.totp_secret is None:
            raise ArchiveError("two_factor.not_enrolled", "请先绑定动态验证码", None, 409)
        codes = two_factor.new_recovery_codes(session, user)
    return _account_page(request, session, user, codes=codes)


@router.post("/account/sessions/{session_id}/end")
def end_own_session(request: Request, session_id: int, session: DbSession, user: CurrentUser) -> Response:
    with refusal_shows(session, lambda error: _account_page(request, session, user, error)):
        auth_service.end_session(session, user, session_id, client_address(request))
    return RedirectResponse("/account?done=已结束该会话#sessions", status_code=303)
