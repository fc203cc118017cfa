"""Ending an account's sessions and naming an account on the log: used by the account service and by password
changes and resets (passwords.py), which the service itself calls — so they live below both."""

from sqlalchemy import update
from sqlalchemy.orm import Session

from archive_service.auth.models import SessionToken, User
from archive_service.db import utcnow


def describe_account(user: User) -> str:
    return f"{user.username}（{user.display_name}，{user.role.label}，{user.organisation.name}）"


def end_sessions(session: Session, user: User, reason: str, keep: int | None = None) -> int:
    """End every session of an account (but `keep`, the one in use): disabled, role changed, password reset."""
    query = update(SessionToken).where(SessionToken.user_id == user.id, SessionToken.revoked.is_(False))
    if keep is not None:
        query = query.where(SessionToken.id != keep)
    ended = session.execute(query.values(revoked=True, ended_at=utcnow(), ended_reason=reason))
    return int(ended.rowcount)  # type: ignore[attr-defined]
