"""Request-scoped dependencies: one database transaction per request, the signed-in user."""

from collections.abc import Iterator

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from archive_service.auth.models import User
from archive_service.auth.service import user_for_token
from archive_service.db import get_sessionmaker
from archive_service.errors import Unauthenticated

SESSION_COOKIE = "archive_session"


def db_session() -> Iterator[Session]:
    """Commit when the handler returns, roll back everything when it raises: no half-writes.

    Declared as `DbSession` (scope "function"): the commit happens before the response is
    sent, so a client never sees success for a change that then fails to commit, and a redirect
    after login never arrives before its session token exists.
    """
    with get_sessionmaker()() as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


DbSession = Depends(db_session, scope="function")  # what routes and pages declare: `session: Session = DbSession`


def request_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.cookies.get(SESSION_COOKIE)


def current_user(request: Request, session: Session = DbSession) -> User:
    token = request_token(request)
    user = user_for_token(session, token) if token else None
    if user is None:
        raise Unauthenticated()
    return user


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"
