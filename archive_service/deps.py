"""What routes and pages declare: `DbSession` (one transaction per request, committed before the response is
sent), `Store` (the object store), `CurrentUser` (the signed-in user, by bearer token or the session cookie;
one whose password must be changed first reaches only the password pages, an archivist whose certificate expired
where the bureau requires one only his own account), `client_address` (the peer, or
`X-Forwarded-For` only through a configured proxy), and the two ways a file is handed out (`xlsx_download`,
`stored_object_shown`), neither kept by a cache."""

import ipaddress
from collections.abc import Iterator
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import Response, StreamingResponse
from sqlalchemy.orm import Session

from archive_service.adapters import object_store
from archive_service.auth.models import User
from archive_service.auth.passwords import must_change
from archive_service.auth.qualifications import check_still_qualified
from archive_service.auth.service import session_user
from archive_service.config import get_settings
from archive_service.db import get_sessionmaker
from archive_service.dossiers.models import DigitalObject
from archive_service.errors import ArchiveError, Unauthenticated
from storage import ObjectStore

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


# What routes and pages declare (FastAPI's `Annotated` dependencies): `session: DbSession`, `store: Store` (the
# process's object store, made once, its bucket checked once) and, below, `user: CurrentUser`.
DbSession = Annotated[Session, Depends(db_session, scope="function")]
Store = Annotated[ObjectStore, Depends(object_store)]


def request_token(request: Request) -> str | None:
    """The bearer token, or the session cookie when the request carries no Authorization header at all: a request
    that says `Authorization: Basic …` (or any other scheme) is not signed in by a cookie riding along with it."""
    header = request.headers.get("authorization")
    if header is None:
        return request.cookies.get(SESSION_COOKIE)
    return header[7:].strip() if header.lower().startswith("bearer ") else None


# Where a person whose password must be changed (first login, a reset, past its age) may still go.
PASSWORD_CHANGE_PATHS = frozenset({"/account/password", "/api/me/password", "/api/me", "/logout", "/api/auth/logout"})


def current_user(request: Request, session: DbSession) -> User:
    """The signed-in user; a timed-out or ended session is refused saying why. Until a password set by someone else
    (or past its age) is changed, only the password page answers."""
    token = request_token(request)
    if not token:
        raise Unauthenticated()
    user = session_user(session, token, touch=True)
    if request.url.path not in PASSWORD_CHANGE_PATHS and must_change(session, user):
        raise ArchiveError(
            "password.change_required", "请先修改密码（首次登录、密码被重置或已过有效期）", "new_password", 403
        )
    if request.url.path not in PASSWORD_CHANGE_PATHS:  # his own account and signing out stay open to him
        check_still_qualified(session, user)
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def client_address(request: Request) -> str:
    """The address a request came from. `X-Forwarded-For` counts only when the request arrives through one of
    the configured proxies (anyone else could write any address there): the rightmost address that is not one
    of them is the client."""
    peer = request.client.host if request.client else "unknown"
    proxies = get_settings().trusted_proxies
    if not proxies or not _is_proxy(peer, proxies):
        return peer
    hops = [hop.strip() for hop in request.headers.get("x-forwarded-for", "").split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _is_proxy(hop, proxies):
            return hop[:64]
    return peer


def _is_proxy(address: str, proxies: list[str]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address in proxies  # a name such as "localhost" or a test client's
    return any(ip in ipaddress.ip_network(proxy, strict=False) for proxy in proxies if _is_network(proxy))


def _is_network(text: str) -> bool:
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        return False
    return True


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def xlsx_download(data: bytes, filename: str) -> Response:
    """A workbook handed out: saved under its (Chinese) name, never kept by a cache."""
    return Response(
        data,
        media_type=XLSX,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}", "Cache-Control": "no-store"},
    )


def stored_object_shown(store: ObjectStore, obj: DigitalObject) -> StreamingResponse:
    """A kept object (a use copy, a certificate scan) streamed from the store as it is, opened in the browser
    under its own name, never kept by a cache. The caller has put the opening on the access log first."""
    return StreamingResponse(
        store.open(obj.storage_key),
        media_type=obj.media_type,
        headers={"Content-Disposition": f"inline; filename*=UTF-8''{quote(obj.name)}", "Cache-Control": "no-store"},
    )
