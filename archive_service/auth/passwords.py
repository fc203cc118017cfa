"""Passwords (GB/T 22239-2019 8.1.4.1 a: 口令具有复杂度要求并定期更换): the bureau's rules of length and character
classes, expiry and history; a person changes his own, the security officer resets one (to be changed at the
next login). Hashes are argon2id; the last few are kept to refuse a repeat."""

from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service.auth.models import PasswordHistory, User
from archive_service.auth.policy import Policy, policy_for
from archive_service.auth.sessions import describe_account, end_sessions
from archive_service.db import as_utc, utcnow
from archive_service.errors import ArchiveError

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
MAX_LENGTH = 200
CLASS_NAMES = ("小写字母", "大写字母", "数字", "符号")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def character_classes(password: str) -> int:
    kinds = (
        any(c.islower() for c in password),
        any(c.isupper() for c in password),
        any(c.isdigit() for c in password),
        any(not c.isalnum() for c in password),
    )
    return sum(kinds)


def check_rules(policy: Policy, password: str, username: str = "", field: str = "password") -> None:
    """The bureau's rules, each refusal naming the rule."""
    if len(password) < policy.password_min_length:
        raise ArchiveError("password.too_short", f"密码至少 {policy.password_min_length} 位", field, 422)
    if len(password) > MAX_LENGTH:
        raise ArchiveError("password.too_long", f"密码最多 {MAX_LENGTH} 位", field, 422)
    if character_classes(password) < policy.password_min_classes:
        raise ArchiveError(
            "password.classes",
            f"密码须包含{'、'.join(CLASS_NAMES)}中至少 {policy.password_min_classes} 种",
            field,
            422,
        )
    if len(username) >= 3 and username.lower() in password.lower():
        raise ArchiveError("password.contains_username", "密码不能包含用户名", field, 422)


def expired(policy: Policy, user: User) -> bool:
    if not policy.password_max_age_days:
        return False
    return as_utc(user.password_changed_at) + timedelta(days=policy.password_max_age_days) < utcnow()


def must_change(session: Session, user: User) -> bool:
    """A password set by someone else (first login, a reset) or past the policy's age is changed before anything."""
    return user.must_change_password or expired(policy_for(session, user), user)


def _set(session: Session, user: User, new_password: str, field: str) -> None:
    policy = policy_for(session, user)
    check_rules(policy, new_password, user.username, field)
    if policy.password_history:
        earlier = session.scalars(
            select(PasswordHistory.password_hash)
            .where(PasswordHistory.user_id == user.id)
            .order_by(PasswordHistory.set_at.desc(), PasswordHistory.id.desc())
            .limit(policy.password_history)
        ).all()
        if any(verify_password(h, new_password) for h in [user.password_hash, *earlier]):
            raise ArchiveError(
                "password.reused", f"新密码不能与最近 {policy.password_history} 次用过的密码相同", field, 422
            )
    session.add(PasswordHistory(user_id=user.id, password_hash=user.password_hash))
    user.password_hash = hash_password(new_password)
    user.password_changed_at = utcnow()


def change_own(session: Session, user: User, current: str, new_password: str, client: str) -> None:
    """A person changes his own password (the current one first); his other sessions end."""
    from archive_service.access.log import AccessAction, record_access

    if not verify_password(user.password_hash, current):
        raise ArchiveError("password.current_wrong", "当前密码不正确", "current_password", 422)
    if new_password == current:
        raise ArchiveError("password.unchanged", "新密码不能与当前密码相同", "new_password", 422)
    _set(session, user, new_password, "new_password")
    user.must_change_password = False
    end_sessions(session, user, "修改密码后其他会话结束", keep=session.info.get("current_session_id"))
    record_access(session, user, AccessAction.password_changed, client, detail=user.display_name, with_change=True)


def reset(session: Session, officer: User, target: User, new_password: str, client: str) -> None:
    """The security officer gives a temporary password: the person changes it at the next login; every session
    of the account ends now."""
    from archive_service.access.log import AccessAction, record_access

    _set(session, target, new_password, "password")
    target.must_change_password = True
    end_sessions(session, target, "密码已被安全管理员重置")
    record_access(
        session, officer, AccessAction.password_reset, client,
        detail=f"{describe_account(target)}：下次登录须修改密码", with_change=True,
    )  # fmt: skip
