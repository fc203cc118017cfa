"""Passwords, sessions and the login rate limit. Roles' permissions live in `permissions.py`."""

import hashlib
import logging
import math
import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, joinedload

from archive_service.access.log import AccessAction, record_access
from archive_service.auth.models import LoginAttempt, Role, SessionToken, User
from archive_service.auth.qualifications import check_qualified
from archive_service.config import get_settings
from archive_service.db import as_utc, utcnow
from archive_service.errors import ArchiveError
from archive_service.organisations.models import Organisation, OrganisationKind

log = logging.getLogger("archive.auth")
_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
MIN_PASSWORD_LENGTH = 8


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ArchiveError("password.too_short", f"密码至少 {MIN_PASSWORD_LENGTH} 位", "password")
    return _hasher.hash(password)


def _describe(user: User) -> str:
    return f"{user.username}（{user.display_name}，{user.role.label}，{user.organisation.name}）"


def add_account(session: Session, admin: User, client: str, **fields) -> User:  # type: ignore[no-untyped-def]
    """An administrator creates an account within its bounds; the creation is on the access log with it."""
    may_create_account(session, admin, fields["organisation_id"], fields["role"])
    made = create_user(session, **fields)
    session.refresh(made)
    record_access(session, admin, AccessAction.account_created, client, detail=_describe(made), with_change=True)
    return made


def change_account(
    session: Session, admin: User, user_id: int, client: str, role: Role | None, active: bool | None
) -> User:
    """Change an account's role or disable it (never one's own: a bureau must not lose its last administrator
    by a slip). Bounds as for creating; another bureau's accounts are not found. Recorded before → after."""
    target = session.get(User, user_id)
    if target is None:
        raise ArchiveError("not_found", "未找到该账户", "user_id", 404)
    try:
        may_create_account(session, admin, target.organisation_id, target.role)
        may_create_account(session, admin, target.organisation_id, role or target.role)
    except ArchiveError:
        raise ArchiveError("not_found", "未找到该账户", "user_id", 404) from None
    if target.id == admin.id:
        raise ArchiveError("user.self", "不能变更自己的账户角色或停用自己", "user_id", 409)
    before = _describe(target) + ("" if target.active else "，已停用")
    if role is not None:
        check_qualified(session, target, target.organisation_id, role)
        target.role = role
    if active is not None:
        target.active = active
        if not active:  # signed out everywhere at once
            session.execute(delete(SessionToken).where(SessionToken.user_id == target.id))
    after = _describe(target) + ("" if target.active else "，已停用")
    record_access(session, admin, AccessAction.account_changed, client, detail=f"{before} → {after}", with_change=True)
    return target


def may_create_account(session: Session, admin: User, organisation_id: int, role: Role) -> None:
    """A bureau's administrator makes accounts for its own staff, and requester accounts for the agencies and
    communities that ask it for files; never for another bureau (its staff would read that bureau's files)
    nor for an enterprise. The `archive users create` command, run on the server, is the operator's way."""
    organisation = session.get(Organisation, organisation_id)
    if organisation is None:
        raise ArchiveError("organisation.unknown", "所属单位不存在", "organisation_id")
    if organisation.id == admin.organisation_id:
        return
    if organisation.kind in (OrganisationKind.agency, OrganisationKind.community) and role is Role.requester:
        return
    raise ArchiveError(
        "user.other_organisation",
        "只能为本单位创建账号，或为查阅单位创建查阅申请人账号；不能为其他档案馆或企业创建账号",
        "organisation_id",
        403,
    )


def create_user(
    session: Session, *, username: str, display_name: str, password: str, role: Role, organisation_id: int
) -> User:
    username = username.strip()
    if not username or len(username) > 64:
        raise ArchiveError("username.length", "用户名应为1–64个字符", "username")
    if session.scalar(select(User).where(User.username == username)):
        raise ArchiveError("username.taken", f"用户名 {username} 已存在", "username", 409)
    if session.get(Organisation, organisation_id) is None:
        raise ArchiveError("organisation.unknown", "所属单位不存在", "organisation_id")
    check_qualified(session, None, organisation_id, role)
    user = User(
        username=username,
        display_name=display_name,
        password_hash=hash_password(password),
        role=role,
        organisation_id=organisation_id,
    )
    session.add(user)
    session.flush()
    return user


@dataclass(frozen=True)
class _Delay:
    """How long one kind of repeated failure waits: nothing below `after` failures, then `first` seconds,
    doubling with each further failure up to `longest`."""

    after: int
    first: int
    longest: int

    def seconds(self, failures: int) -> int:
        if failures < self.after:
            return 0
        return min(self.first * 2 ** (failures - self.after), self.longest)


def _login_delays(max_failures: int, window_minutes: int) -> dict[str, _Delay]:
    # Delays, never lockouts: someone guessing one account from one place waits longest; a name tried from
    # many places, or one address trying many names (a whole office behind one gateway), waits briefly, so
    # neither an attacker nor a busy office can shut a colleague out for longer than a minute.
    return {
        "account_and_address": _Delay(max_failures, 30, window_minutes * 60),
        "account": _Delay(max_failures * 3, 5, 60),
        "address": _Delay(max_failures * 10, 5, 60),
    }


def login_wait_seconds(session: Session, username: str, client_address: str) -> int:
    """Seconds before this name may try again from this address (0: now)."""
    settings = get_settings()
    now = utcnow()
    since = now - timedelta(minutes=settings.login_window_minutes)
    scopes = {
        "account_and_address": (LoginAttempt.username == username) & (LoginAttempt.client_address == client_address),
        "account": LoginAttempt.username == username,
        "address": LoginAttempt.client_address == client_address,
    }
    delays = _login_delays(settings.login_max_failures, settings.login_window_minutes)
    wait = 0.0
    for scope, condition in scopes.items():
        failures, last = session.execute(
            select(func.count(), func.max(LoginAttempt.at)).where(
                LoginAttempt.at >= since, LoginAttempt.succeeded.is_(False), condition
            )
        ).one()
        delay = delays[scope].seconds(failures or 0)
        if delay and last is not None:
            wait = max(wait, (as_utc(last) + timedelta(seconds=delay) - now).total_seconds())
    return math.ceil(wait)


def login(session: Session, username: str, password: str, client_address: str) -> tuple[User, str]:
    """Check the password and open a session; returns the user and the raw token (shown once)."""
    settings = get_settings()
    wait = login_wait_seconds(session, username, client_address)
    if wait > 0:
        log.warning("登录延迟 %s 秒 用户=%s 地址=%s", wait, username, client_address)
        raise ArchiveError("login.rate_limited", f"登录失败次数过多，请 {wait} 秒后再试", "username", 429)
    user = session.scalar(select(User).where(User.username == username, User.active.is_(True)))
    ok = False
    if user is not None:
        try:
            ok = _hasher.verify(user.password_hash, password)
        except (VerificationError, InvalidHashError):
            ok = False
    session.add(LoginAttempt(username=username, client_address=client_address, succeeded=ok))
    if not ok or user is None:
        log.warning("登录失败 用户=%s 地址=%s", username, client_address)
        # Commit the failed attempt even though the caller's request fails: it is what throttles.
        session.commit()
        raise ArchiveError("login.invalid", "用户名或密码错误", "password", 401)
    token = secrets.token_urlsafe(32)
    session.add(
        SessionToken(
            token_sha256=_digest(token),
            user_id=user.id,
            expires_at=utcnow() + timedelta(hours=settings.session_hours),
        )
    )
    log.info("登录 用户=%s 地址=%s", username, client_address)
    return user, token


def user_for_token(session: Session, token: str) -> User | None:
    row = session.scalar(
        select(SessionToken)
        .options(joinedload(SessionToken.user))
        .where(SessionToken.token_sha256 == _digest(token), SessionToken.revoked.is_(False))
    )
    if row is None or as_utc(row.expires_at) < utcnow() or not row.user.active:
        return None
    return row.user


def logout(session: Session, token: str) -> None:
    row = session.scalar(select(SessionToken).where(SessionToken.token_sha256 == _digest(token)))
    if row is not None:
        row.revoked = True


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
