"""Accounts, logins and sessions. Roles' permissions live in `permissions.py`, the bureau's security policy in
`policy.py`, password rules in `passwords.py`, the second factor in `two_factor.py`.

A login is the password, then — where the bureau's policy names the role, or the person enrolled — a code from
the authenticator (or a recovery code). The API issues a token only for both in one call; the web login keeps a
short-lived half-session between its two pages and opens the real one only after the code. A session ends after
the policy's idle minutes or its absolute hours, by logout, or when its owner or the security officer ends it;
every login, failure and ending is on the access log."""

import hashlib
import logging
import secrets
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session, joinedload

from archive_service.access.log import AccessAction, record_access, record_change
from archive_service.auth import passwords, standing, two_factor
from archive_service.auth.login_delays import login_wait_seconds
from archive_service.auth.models import LoginAttempt, Role, SessionStage, SessionToken, User
from archive_service.auth.permissions import Action, can
from archive_service.auth.policy import policy_for, policy_for_organisation
from archive_service.auth.qualifications import check_qualified
from archive_service.auth.sessions import describe_account, end_sessions
from archive_service.db import as_utc, get_sessionmaker, utcnow
from archive_service.errors import ArchiveError, Unauthenticated
from archive_service.organisations.models import Organisation

log = logging.getLogger("archive.auth")
SECOND_FACTOR_MINUTES = 5  # the half-session between the password and the code
TOUCH_SECONDS = 60  # last_seen_at is written at most once a minute per session


def hash_password(password: str) -> str:
    return passwords.hash_password(password)


_describe = describe_account


def add_account(session: Session, officer: User, client: str, **fields) -> User:
    """The security officer creates an account within its bounds, with a first password the person changes at the
    first login (where the policy says so); the creation is on the access log."""
    may_create_account(session, officer, fields["organisation_id"], fields["role"])
    organisation = session.get(Organisation, fields["organisation_id"])
    assert organisation is not None
    policy = policy_for_organisation(session, organisation)
    made = create_user(session, **fields, must_change_password=policy.change_at_first_login)
    session.refresh(made)
    detail = _describe(made)
    if standing.is_served(made):  # a body several bureaus serve: the account stands with this bureau only
        standing.created_here(session, officer, made)
        detail += f"：由本馆（{officer.organisation.name}）创建并授权查阅本馆档案"
    record_access(session, officer, AccessAction.account_created, client, detail=detail, with_change=True)
    return made


def change_account(
    session: Session, officer: User, user_id: int, client: str, role: Role | None, active: bool | None
) -> User:
    """Change an account's role or disable it — never one's own (三员分立: nobody grants himself a role, and a bureau
    must not lose its last security officer by a slip). Bounds as for creating; another bureau's accounts are not
    found. A requester of an agency or community is enabled or disabled for the officer's bureau only
    (auth/standing.py). Recorded before → after."""
    target = session.get(User, user_id)
    if target is None:
        raise ArchiveError("not_found", "未找到该账户", "user_id", 404)
    try:
        may_create_account(session, officer, target.organisation_id, target.role)
        may_create_account(session, officer, target.organisation_id, role or target.role)
    except ArchiveError:
        raise ArchiveError("not_found", "未找到该账户", "user_id", 404) from None
    if target.id == officer.id:
        raise ArchiveError("user.self", "不能变更自己的账户角色或停用自己（三员分立：不能给自己授权）", "user_id", 409)
    if standing.is_served(target):  # its role stays requester; enabling or disabling is this bureau's standing
        if active is not None:
            standing.set_standing(session, officer, target, active, client)
        return target
    before = _describe(target) + ("" if target.active else "，已停用")
    if role is not None and role is not target.role:
        check_qualified(session, target, target.organisation_id, role)
        target.role = role
        end_sessions(session, target, "角色已变更，须重新登录")  # a session carries no stale grants
    if active is not None:
        target.active = active
        if not active:  # signed out everywhere at once
            end_sessions(session, target, "账户已停用")
    after = _describe(target) + ("" if target.active else "，已停用")
    record_change(session, officer, AccessAction.account_changed, client, "", before, after)
    return target


def may_create_account(session: Session, officer: User, organisation_id: int, role: Role) -> None:
    """A bureau's security officer makes accounts for its own staff, and requester accounts for the agencies,
    communities and enterprises that ask it for files (an enterprise only for its own retirees' benefit claims,
    access/service.py); never for another bureau (its staff would read that bureau's files). The `archive users
    create` command, run on the server, is the operator's way."""
    organisation = session.get(Organisation, organisation_id)
    if organisation is None:
        raise ArchiveError("organisation.unknown", "所属单位不存在", "organisation_id")
    if organisation.id == officer.organisation_id:
        return
    if organisation.kind in standing.SERVED_KINDS and role is Role.requester:
        return
    raise ArchiveError(
        "user.other_organisation",
        "只能为本单位创建账号，或为查阅单位、移交单位创建查阅申请人账号；不能为其他档案馆创建账号，"
        "也不能为查阅单位、移交单位创建其他角色的账号",
        "organisation_id",
        403,
    )


def create_user(
    session: Session,
    *,
    username: str,
    display_name: str,
    password: str,
    role: Role,
    organisation_id: int,
    must_change_password: bool = False,
) -> User:
    username = username.strip()
    if not username or len(username) > 64:
        raise ArchiveError("username.length", "用户名应为1–64个字符", "username")
    if session.scalar(select(User).where(User.username == username)):
        raise ArchiveError("username.taken", f"用户名 {username} 已存在", "username", 409)
    organisation = session.get(Organisation, organisation_id)
    if organisation is None:
        raise ArchiveError("organisation.unknown", "所属单位不存在", "organisation_id")
    passwords.check_rules(policy_for_organisation(session, organisation), password, username)
    check_qualified(session, None, organisation_id, role)
    user = User(
        username=username,
        display_name=display_name,
        password_hash=hash_password(password),
        role=role,
        organisation_id=organisation_id,
        must_change_password=must_change_password,
    )
    session.add(user)
    session.flush()
    return user


def _failed(session: Session, username: str, client: str, user: User | None, reason: str) -> None:
    """A failed attempt counts towards the delays and is on the access log (under the account it named, so that
    bureau's auditor sees it), committed even though the request fails."""
    session.add(LoginAttempt(username=username, client_address=client, succeeded=False))
    log.warning("登录失败（%s）用户=%s 地址=%s", reason, username, client)
    session.commit()
    record_access(session, user, AccessAction.login_failed, client, detail=f"{_who(user, username)}：{reason}")


def _who(user: User | None, typed: str) -> str:
    """The account a failure names: its person, or the name typed when there is no such account."""
    return user.display_name if user is not None else f"不存在的用户名“{typed[:64]}”"


def check_password(session: Session, username: str, password: str, client: str) -> User:
    """The first factor, after the delays; a failure is counted and logged."""
    wait = login_wait_seconds(session, username, client)
    if wait > 0:
        log.warning("登录延迟 %s 秒 用户=%s 地址=%s", wait, username, client)
        named = session.scalar(select(User).where(User.username == username))
        record_access(
            session,
            named,
            AccessAction.login_failed,
            client,
            detail=f"{_who(named, username)}：失败次数过多，须等待 {wait} 秒",
        )
        raise ArchiveError("login.rate_limited", f"登录失败次数过多，请 {wait} 秒后再试", "username", 429)
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not passwords.verify_password(user.password_hash, password):
        _failed(session, username, client, user, "用户名或密码错误")
        raise ArchiveError("login.invalid", "用户名或密码错误", "password", 401)
    if not user.active or not standing.may_sign_in(session, user):
        _failed(session, username, client, user, "账户已停用")
        raise ArchiveError("login.disabled", "该账户已停用，不能登录：请联系本馆安全管理员", "username", 403)
    return user


def second_factor_needed(session: Session, user: User) -> bool:
    """The bureau's policy names the role, or the person enrolled of his own accord."""
    return user.totp_enrolled_at is not None or policy_for(session, user).needs_two_factor(user.role)


def _check_second_factor(session: Session, user: User, code: str, recovery_code: str, client: str) -> None:
    try:
        if recovery_code.strip():
            left = two_factor.use_recovery_code(session, user, recovery_code)
            record_access(
                session, user, AccessAction.recovery_code_used, client,
                detail=f"{user.display_name}：还剩 {left} 个恢复码", with_change=True,
            )  # fmt: skip
        else:
            two_factor.check_code(user, code)
    except ArchiveError as refused:
        if refused.code != "two_factor.code_required":
            session.rollback()
            _failed(session, user.username, client, user, refused.message)
        raise


def open_session(
    session: Session,
    user: User,
    client: str,
    *,
    via: str,
    user_agent: str = "",
    stage: SessionStage = SessionStage.signed_in,
) -> str:
    """A new session (its raw token returned once; only its SHA-256 is kept) within the policy's absolute limit."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    hours = policy_for(session, user).session_hours
    lasts = timedelta(minutes=SECOND_FACTOR_MINUTES) if stage is SessionStage.second_factor else timedelta(hours=hours)
    row = SessionToken(
        token_sha256=_digest(token), user_id=user.id, expires_at=now + lasts, last_seen_at=now, stage=stage,
        client_address=client[:64], user_agent=user_agent[:200], via=via,
    )  # fmt: skip
    session.add(row)
    session.flush()
    if stage is SessionStage.signed_in:
        if passwords.expired(policy_for(session, user), user):
            user.must_change_password = True
        log.info("登录 用户=%s 地址=%s", user.username, client)
        session.add(LoginAttempt(username=user.username, client_address=client, succeeded=True))
        record_access(
            session, user, AccessAction.login, client,
            detail=f"{user.display_name} 经{'网页' if via == 'web' else '接口'}登录（会话 {row.id}）", with_change=True,
        )  # fmt: skip
    return token


def login(
    session: Session,
    username: str,
    password: str,
    client_address: str,
    *,
    code: str = "",
    recovery_code: str = "",
    via: str = "api",
    user_agent: str = "",
) -> tuple[User, str]:
    """The API's login: password and, where needed, the code in one call; a token only for both."""
    user = check_password(session, username, password, client_address)
    if second_factor_needed(session, user):
        if user.totp_secret is None:
            raise ArchiveError(
                "two_factor.not_enrolled",
                "本馆要求该角色使用动态验证码登录，该账户尚未绑定：请先在网页上登录并按提示绑定",
                "code",
                403,
            )
        _check_second_factor(session, user, code, recovery_code, client_address)
    return user, open_session(session, user, client_address, via=via, user_agent=user_agent)


def begin_web_login(
    session: Session, username: str, password: str, client: str, user_agent: str = ""
) -> tuple[User, str, str]:
    """The login page's first step. Returns the user, a token and what comes next: "" (signed in: the token is
    the session's), "code" or "enrol" (the token is the half-session's, good for the code page only)."""
    user = check_password(session, username, password, client)
    if not second_factor_needed(session, user):
        return user, open_session(session, user, client, via="web", user_agent=user_agent), ""
    token = open_session(session, user, client, via="web", user_agent=user_agent, stage=SessionStage.second_factor)
    if user.totp_secret is None:
        two_factor.start_enrolment(user)
        return user, token, "enrol"
    return user, token, "code"


def pending_login(session: Session, token: str) -> SessionToken:
    """The half-session of a login waiting for its code; gone or expired: start again."""
    row = session.scalar(
        select(SessionToken)
        .options(joinedload(SessionToken.user))
        .where(
            SessionToken.token_sha256 == _digest(token),
            SessionToken.stage == SessionStage.second_factor,
            SessionToken.revoked.is_(False),
        )
    )
    if row is None or as_utc(row.expires_at) < utcnow() or not row.user.active:
        raise Unauthenticated("登录已超时（输入密码后 5 分钟内须输入动态验证码），请重新登录")
    return row


def finish_web_login(
    session: Session, pending_token: str, code: str, recovery_code: str, client: str, user_agent: str = ""
) -> tuple[User, str, list[str]]:
    """The code page: the code (or a recovery code, or the first code of a new enrolment) turns the half-session
    into a new session. Returns the user, the session's token and, after an enrolment, the recovery codes."""
    pending = pending_login(session, pending_token)
    user = pending.user
    codes: list[str] = []
    if user.totp_secret is None:
        try:
            codes = two_factor.confirm_enrolment(session, user, code)
        except ArchiveError as refused:
            if refused.code != "two_factor.code_required":
                session.rollback()
                _failed(session, user.username, client, user, f"绑定动态验证码：{refused.message}")
            raise
        record_access(
            session, user, AccessAction.two_factor_enrolled, client, detail=user.display_name, with_change=True
        )
    else:
        _check_second_factor(session, user, code, recovery_code, client)
    pending.revoked = True
    pending.ended_at = utcnow()
    pending.ended_reason = "已完成第二因素"
    return user, open_session(session, user, client, via="web", user_agent=user_agent), codes


# ---- sessions ----------------------------------------------------------------------------------------


def session_user(session: Session, token: str, touch: bool = False) -> User:
    """The signed-in user of a token, or Unauthenticated saying why (timed out, ended, never valid). A session
    found past its idle or absolute limit is ended and logged once."""
    row = session.scalar(
        select(SessionToken).options(joinedload(SessionToken.user)).where(SessionToken.token_sha256 == _digest(token))
    )
    if row is None or row.stage is not SessionStage.signed_in:
        raise Unauthenticated()
    if row.revoked:
        raise _ended("session.ended", f"会话已结束（{row.ended_reason or '已退出'}），请重新登录")
    user = row.user
    if not user.active:
        raise _ended("session.ended", "该账户已停用")
    now = utcnow()
    policy = policy_for(session, user)
    seen = as_utc(row.last_seen_at or row.created_at)
    if as_utc(row.expires_at) < now:
        _time_out(row.id, user, f"登录已满 {policy.session_hours} 小时")
        raise _ended("session.expired", f"登录已满 {policy.session_hours} 小时（本馆规定的单次登录上限），请重新登录")
    if seen + timedelta(minutes=policy.idle_minutes) < now:
        _time_out(row.id, user, f"{policy.idle_minutes} 分钟无操作")
        raise _ended("session.idle", f"已超过 {policy.idle_minutes} 分钟没有操作，为安全起见已退出，请重新登录")
    if touch and (now - seen).total_seconds() >= TOUCH_SECONDS:
        _touch(session, row.id, now)
    session.info["current_session_id"] = row.id
    return user


def _ended(code: str, message: str) -> Unauthenticated:
    refused = Unauthenticated(message)
    refused.code = code
    return refused


def _touch(session: Session, session_id: int, now: datetime) -> None:
    """Written on the session's engine and committed at once, not in the request's transaction: on SQLite that
    write would hold the one write lock for the whole request, and the access log, which appends on its own
    connection (a delivered page, an export), would wait for it until 'database is locked'."""
    with cast(Engine, session.get_bind()).begin() as conn:
        conn.execute(update(SessionToken).where(SessionToken.id == session_id).values(last_seen_at=now))


def _time_out(session_id: int, user: User, reason: str) -> None:
    """End a timed-out session in its own transaction (the request that found it fails) and log it once."""
    with get_sessionmaker()() as own, own.begin():
        ended = own.execute(
            update(SessionToken)
            .where(SessionToken.id == session_id, SessionToken.revoked.is_(False))
            .values(revoked=True, ended_at=utcnow(), ended_reason=f"超时：{reason}")
        ).rowcount  # type: ignore[attr-defined]
        if ended:
            record_access(
                own, user, AccessAction.session_ended, "",
                detail=f"{user.display_name} 会话 {session_id} 超时：{reason}", with_change=True,
            )  # fmt: skip


def user_for_token(session: Session, token: str) -> User | None:
    try:
        return session_user(session, token)
    except Unauthenticated:
        return None


def logout(session: Session, token: str, client: str = "") -> None:
    row = session.scalar(select(SessionToken).where(SessionToken.token_sha256 == _digest(token)))
    if row is not None and not row.revoked:
        row.revoked = True
        row.ended_at = utcnow()
        row.ended_reason = "已退出"
        if row.stage is SessionStage.signed_in:
            record_access(
                session, row.user, AccessAction.logout, client, detail=f"{row.user.display_name}（会话 {row.id}）",
                with_change=True,
            )  # fmt: skip


def sessions_of(session: Session, user: User) -> list[SessionToken]:
    """An account's sessions still open (not ended, not past their absolute limit), the newest first."""
    return list(
        session.scalars(
            select(SessionToken)
            .where(
                SessionToken.user_id == user.id,
                SessionToken.revoked.is_(False),
                SessionToken.stage == SessionStage.signed_in,
                SessionToken.expires_at > utcnow(),
            )
            .order_by(SessionToken.created_at.desc(), SessionToken.id.desc())
        )
    )


def account_in_reach(session: Session, officer: User, user_id: int) -> User:
    """An account the security officer looks after (its bureau's staff, the requesters it created); others: 404.
    A requester another bureau created is not in reach: a new password would let this bureau read as that
    requester with the other bureau's grants."""
    target = session.get(User, user_id)
    if target is None or not can(officer, Action.manage_security):
        raise ArchiveError("not_found", "未找到该账户", "user_id", 404)
    try:
        may_create_account(session, officer, target.organisation_id, target.role)
    except ArchiveError:
        raise ArchiveError("not_found", "未找到该账户", "user_id", 404) from None
    if standing.is_served(target) and not standing.is_home(session, target, officer.organisation_id):
        raise ArchiveError(
            "user.not_home",
            f"账户 {target.username} 不是本馆创建的：其密码、动态验证码和会话由创建它的档案馆的安全管理员管理；"
            "本馆只能停用或启用本馆的查阅授权",
            "user_id",
            403,
        )
    return target


def end_session(session: Session, actor: User, session_id: int, client: str) -> SessionToken:
    """Its owner, or the security officer for an account in reach, ends one session; logged."""
    row = session.get(SessionToken, session_id)
    if row is None or row.revoked or row.stage is not SessionStage.signed_in:
        raise ArchiveError("not_found", "未找到该会话（可能已结束）", "session_id", 404)
    if row.user_id != actor.id:
        account_in_reach(session, actor, row.user_id)
    by = "本人" if row.user_id == actor.id else f"安全管理员{actor.display_name}"
    row.revoked = True
    row.ended_at = utcnow()
    row.ended_reason = f"被{by}结束"
    record_access(
        session, actor, AccessAction.session_ended, client,
        detail=f"{row.user.display_name} 会话 {row.id}（{row.client_address}）被{by}结束", with_change=True,
    )  # fmt: skip
    return row


def end_all_sessions(session: Session, officer: User, user_id: int, client: str) -> int:
    """The security officer signs an account out everywhere (a stolen laptop); logged."""
    target = account_in_reach(session, officer, user_id)
    ended = end_sessions(session, target, f"被安全管理员{officer.display_name}结束")
    record_access(
        session, officer, AccessAction.session_ended, client,
        detail=f"{describe_account(target)}：{ended} 个会话被安全管理员结束", with_change=True,
    )  # fmt: skip
    return ended


def reset_password(session: Session, officer: User, user_id: int, new_password: str, client: str) -> User:
    target = account_in_reach(session, officer, user_id)
    if target.id == officer.id:
        raise ArchiveError("user.self", "请在“我的账户”中修改自己的密码", "user_id", 409)
    passwords.reset(session, officer, target, new_password, client)
    return target


def reset_two_factor(session: Session, officer: User, user_id: int, client: str) -> User:
    target = account_in_reach(session, officer, user_id)
    if target.id == officer.id:
        raise ArchiveError("user.self", "不能重置自己的动态验证码：请另一位安全管理员办理", "user_id", 409)
    two_factor.clear(session, target)
    end_sessions(session, target, "动态验证码已被重置")
    record_access(
        session, officer, AccessAction.two_factor_reset, client,
        detail=f"{_describe(target)}：下次登录重新绑定", with_change=True,
    )  # fmt: skip
    return target


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
