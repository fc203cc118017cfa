"""What every request passes through before a route, outermost first: no more requests at once than there
are threads to run them (RequestsInFlight), a large body only from a signed-in sender (BodiesOnlyFromUsers),
writes with the session cookie only from our own pages (SameOriginWrites, which also sets the page headers),
only visible characters in what people type (OnlyVisibleText), empty filter fields as no filter
(EmptyFieldsAreNoFilter). A refusal here reads like a route's: JSON under /api, the error page elsewhere."""

import asyncio
from urllib.parse import parse_qsl, urlencode

import orjson
from fastapi import Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from archive_service.auth.service import user_for_token
from archive_service.config import get_settings
from archive_service.db import get_sessionmaker
from archive_service.deps import request_token
from archive_service.errors import ArchiveError, Unauthenticated
from archive_service.values import ValueRuleError, check_visible
from archive_service.web.pages import render_error


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api")


LARGE_BODY = 1024 * 1024  # a body over this is an upload: read before its sender is known to be signed in


async def _refuse_at_the_door(error: ArchiveError, scope: Scope, receive: Receive, send: Send) -> None:
    """A middleware's refusal, as the routes' would be: the error's JSON under /api, its page elsewhere."""
    request = Request(scope)
    if is_api(request):
        answer: Response = JSONResponse(error.body(), status_code=error.status)
    else:
        answer = await run_in_threadpool(render_error, request, error)
    await answer(scope, receive, send)


class RequestsInFlight:
    """At most `request_threads` requests are handled at once; more wait their turn here, before they hold
    anything. A blocking route takes a thread of the pool twice — for the route, then (FastAPI) to check
    its response — and commits only after the second. When more requests were in flight than the pool has
    threads, every thread could be taken by requests waiting for SQLite's write lock while the request
    holding it waited for a thread to check its answer: nothing moved until the 30 s busy timeout failed
    the waiters (bench/writes.py: 12–35 of 192 writes lost). With no more requests than threads, a request
    never waits for a thread. /healthz does not queue: it answers on the event loop.

    An upload over 1 MB takes its turn when its last byte has arrived, not at the door: a scanning station
    sending 500 MB of scans over a slow link held a turn for the whole transfer, and a few of them kept
    everyone else waiting. Its body is read on the event loop (form parsing), and no thread is used for the
    route before the whole body is in, so waiting until then holds nothing. (A route that never reads a large
    body it was sent runs without a turn; every upload route reads its form first.)"""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._slots: asyncio.Semaphore | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] == "/healthz":
            await self.app(scope, receive, send)
            return
        if self._slots is None:  # made on the server's event loop, sized like the thread pool
            self._slots = asyncio.Semaphore(get_settings().request_threads)
        slots = self._slots
        length = int(dict(scope["headers"]).get(b"content-length", b"0") or 0)
        if length <= LARGE_BODY:
            async with slots:
                await self.app(scope, receive, send)
            return
        held = False

        async def receive_then_take_turn() -> Message:
            nonlocal held
            message = await receive()
            if not held and not (message["type"] == "http.request" and message.get("more_body")):
                await slots.acquire()  # the body is in (or the sender left): now the route may run
                held = True
            return message

        try:
            await self.app(scope, receive_then_take_turn, send)
        finally:
            if held:
                slots.release()


class EmptyFieldsAreNoFilter:
    """A filter form sends every field, filled or not (`?since=&until=`): an empty query value means the
    field was left out, on every page and API route, so no date or number parser sees an empty string."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("query_string"):
            pairs = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
            kept = [(k, v) for k, v in pairs if v.strip() != ""]
            if len(kept) != len(pairs):
                scope = {**scope, "query_string": urlencode(kept).encode("latin-1")}
        await self.app(scope, receive, send)


class OnlyVisibleText:
    """What people type holds only characters they can see (values.check_visible): every query string, JSON
    body and API form is refused here with the field named (PostgreSQL refused NUL with a 422 naming no
    field; SQLite stored it). Page forms are refused on their own page (web/forms.py), an API upload's text
    fields by their type (values.VisibleText), and registers and catalogues cell by cell."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        found = _invisible_in_form(scope.get("query_string", b""))
        kind = dict(scope["headers"]).get(b"content-type", b"").split(b";")[0].strip().lower()
        # A page's own form comes back as typed with the field named (web/forms.py); an API form is refused here.
        forms = (b"application/json", b"application/x-www-form-urlencoded") if is_api(Request(scope)) else ()
        if found is None and kind in forms:
            body, receive = await _read_body(receive)
            found = _invisible_in_json(body) if kind == b"application/json" else _invisible_in_form(body)
        if found is None:
            await self.app(scope, receive, send)
            return
        field, message = found
        error = ArchiveError("text.invisible_character", message, field or None, 422)
        await _refuse_at_the_door(error, scope, receive, send)


async def _read_body(receive: Receive) -> tuple[bytes, Receive]:
    """The whole body, and a `receive` that hands it on to the application as if unread."""
    chunks, more = [], True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    body, handed = b"".join(chunks), False

    async def replay() -> Message:
        nonlocal handed
        if handed:
            return await receive()
        handed = True
        return {"type": "http.request", "body": body, "more_body": False}

    return body, replay


def _refusal(field: str, text: str) -> tuple[str, str] | None:
    try:
        check_visible(text)
    except ValueRuleError as e:
        return field, e.message
    return None


def _invisible_in_form(encoded: bytes) -> tuple[str, str] | None:
    for key, value in parse_qsl(encoded.decode("utf-8", "replace"), keep_blank_values=True):
        if found := _refusal(key, value) or _refusal(key, key):
            return found
    return None


def _invisible_in_json(body: bytes) -> tuple[str, str] | None:
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None  # the route's own parsing says what is wrong with it

    def walk(value: object, path: str) -> tuple[str, str] | None:
        if isinstance(value, str):
            return _refusal(path, value)
        items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
        for key, item in items:
            if found := walk(item, f"{path}.{key}" if path else str(key)):
                return found
        return None

    return walk(document, "")


# Pages carry personal data: not kept by caches, not framed by another site, no scripts but our own.
PAGE_HEADERS = [
    (b"content-security-policy", b"default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
     b"script-src 'self' 'unsafe-inline'; frame-ancestors 'self'; form-action 'self'; base-uri 'none'"),
    (b"x-frame-options", b"SAMEORIGIN"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]  # fmt: skip
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


class SameOriginWrites:
    """A state-changing request that carries the session cookie must come from our own pages. SameSite=Strict
    does not stop a page on another port of the same host (same site, other origin) from posting a form
    with the approver's cookie; the browser's Origin (or Referer) header names where the form was, and a
    write from anywhere else is refused. Bearer-token clients are not at risk and are not checked. Every
    response also gets the page headers above, and `no-store` when it is a page."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        if scope["method"] in UNSAFE_METHODS and "authorization" not in headers and "cookie" in headers:
            source = headers.get("origin") or headers.get("referer")
            own = [f"{scope.get('scheme', 'http')}://{headers.get('host', '')}", *get_settings().public_origins]
            if source and not any(source == o or source.startswith(o + "/") for o in own):
                refused = ArchiveError(
                    "request.cross_site", "请求来自其他网站，已拒绝，请在本系统的页面上操作", None, 403
                )
                await _refuse_at_the_door(refused, scope, receive, send)
                return

        async def with_headers(message):  # type: ignore[no-untyped-def]
            if message["type"] == "http.response.start":
                extra = list(PAGE_HEADERS)
                kind = dict(message.get("headers", [])).get(b"content-type", b"")
                if kind.startswith(b"text/html"):
                    extra.append((b"cache-control", b"no-store"))
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, with_headers)


def _signed_in(token: str) -> bool:
    with get_sessionmaker()() as session:
        return user_for_token(session, token) is not None


class BodiesOnlyFromUsers:
    """A body is read only when its sender may send it. FastAPI reads a form before the route's dependencies
    run, so a 300 MB upload without a token used to be read whole before the 401. Here a body declared over
    1 MB is refused (413) beyond ARCHIVE_MAX_UPLOAD_MB and (401) without a valid session or token, before a
    byte of it is read."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in UNSAFE_METHODS:
            request = Request(scope)
            length = int(request.headers.get("content-length") or 0)
            refused = None
            if length > get_settings().max_upload_mb * LARGE_BODY:
                refused = ArchiveError(
                    "body.too_large", f"上传内容超过 {get_settings().max_upload_mb} MB 的上限", None, 413
                )
            elif length > LARGE_BODY:
                token = request_token(request)
                if not token or not await run_in_threadpool(_signed_in, token):
                    refused = Unauthenticated()
            if refused is not None:
                await _refuse_at_the_door(refused, scope, receive, send)
                return
        await self.app(scope, receive, send)
