"""What every request passes through before a route, outermost first: a body counted as it arrives and handed
on whole, or past 1 MB only from a signed-in sender (BodiesOnlyFromUsers), no more requests at once than there
are threads to run them (RequestsInFlight),
writes with the session cookie only from our own pages (SameOriginWrites, which also sets the page headers),
only visible characters in what people type (OnlyVisibleText), empty filter fields as no filter
(EmptyFieldsAreNoFilter). A refusal here reads like a route's: JSON under /api, the error page elsewhere."""

import asyncio
from collections import Counter
from collections.abc import Callable
from urllib.parse import parse_qsl, urlencode

import orjson
from fastapi import Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from archive_service.auth.service import user_for_token
from archive_service.config import get_settings
from archive_service.db import get_sessionmaker
from archive_service.deps import client_address, request_token
from archive_service.errors import ArchiveError, Unauthenticated
from archive_service.values import ValueRuleError, check_visible
from archive_service.web.rendering import render_error


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

    A request takes its turn only when its whole body is in (BodiesOnlyFromUsers, outside this, reads a body
    of up to 1 MB before passing the request on): fourteen unauthenticated senders trickling a byte every
    2 s once held twelve turns and every signed-in request timed out for 30 s. An upload over 1 MB is passed
    on as it arrives (its sender signed in) and takes its turn when its last byte has arrived: its body is
    read on the event loop (form parsing), and no thread is used for the route before the whole body is in,
    so waiting until then holds nothing."""

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
        if not scope.get(STREAMING):
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
     b"script-src 'self'; frame-ancestors 'self'; form-action 'self'; base-uri 'none'"),
    (b"x-frame-options", b"SAMEORIGIN"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]  # fmt: skip
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


class SameOriginWrites:
    """A state-changing request that carries the session cookie must come from our own pages. SameSite=Strict
    does not stop a page on another port of the same host (same site, other origin) from posting a form
    with the approver's cookie; the browser's Origin (or Referer) header names where the form was, and a
    write from anywhere else is refused. Bearer-token clients are not at risk and are not checked; any other
    Authorization header (Basic …) is no reason to skip the check, and authenticates nothing (deps.request_token). Every
    response also gets the page headers above, and `no-store` when it is a page."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        bearer = headers.get("authorization", "").lower().startswith("bearer ")
        if scope["method"] in UNSAFE_METHODS and not bearer and "cookie" in headers:
            source = headers.get("origin") or headers.get("referer")
            own = [f"{scope.get('scheme', 'http')}://{headers.get('host', '')}", *get_settings().public_origins]
            if source and not any(source == o or source.startswith(o + "/") for o in own):
                refused = ArchiveError(
                    "request.cross_site", "请求来自其他网站，已拒绝，请在本系统的页面上操作", None, 403
                )
                await _refuse_at_the_door(refused, scope, receive, send)
                return

        async def with_headers(message):
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


STREAMING = "archive.body_streaming"  # set in the scope when a body is passed on before its last byte is in
MAX_FORM_BODY = 20 * 1024 * 1024  # a JSON or form body (not a multipart upload) is read whole into memory


def _declared_length(scope: Scope) -> int | None:
    """The body's declared length; None when it is sent chunked (or the header is not a number: uvicorn
    refuses that before we see it)."""
    value = dict(scope["headers"]).get(b"content-length")
    return int(value) if value is not None and value.isdigit() else None


def _has_body(scope: Scope) -> bool:
    headers = dict(scope["headers"])
    return b"transfer-encoding" in headers or (_declared_length(scope) or 0) > 0


class BodiesOnlyFromUsers:
    """A body is read as it arrives, counted byte by byte, and handed on only when its sender may send it.

    The declared length says nothing about a chunked body: a 300 MB chunked JSON body to /api/auth/login
    took the server from 196 MB to 1,295 MB, a 300 MB chunked upload was written to a temporary file before
    the 401, and the upload limit was passed the same way. Here:
    - up to 1 MB is read into memory, within ARCHIVE_BODY_SECONDS, from anyone; a body complete by then goes
      on to the request's turn (RequestsInFlight) whole, so a slow sender never holds a turn and one slower
      than the limit is answered 408 and let go;
    - a body past 1 MB (declared or counted) goes on only from a sender with a valid session or token (else
      401, before or as soon as the 1 MB is passed), streamed to the route and still counted: past
      ARCHIVE_MAX_UPLOAD_MB (an upload) or 20 MB (a JSON or form body, which is read into memory) it is cut
      off with 413, and a sender silent for ARCHIVE_BODY_SECONDS with 408;
    - one address sends at most ARCHIVE_BODIES_PER_ADDRESS bodies at a time (429 beyond), so a few
      connections cannot take all the memory that waiting bodies may hold."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._receiving: Counter[str] = Counter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _has_body(scope):
            await self.app(scope, receive, send)
            return
        address = client_address(Request(scope))
        if self._receiving[address] >= get_settings().bodies_per_address:
            busy = ArchiveError("body.too_many", "同一地址正在上传的请求过多，请等前面的上传完成后再试", None, 429)
            await _refuse_at_the_door(busy, scope, receive, send)
            return
        self._receiving[address] += 1
        receiving = True

        def done_receiving() -> None:
            nonlocal receiving
            if receiving:
                receiving = False
                self._receiving[address] -= 1
                if not self._receiving[address]:
                    del self._receiving[address]

        try:
            await self._pass_on(scope, receive, send, done_receiving)
        finally:
            done_receiving()

    async def _pass_on(self, scope: Scope, receive: Receive, send: Send, done_receiving: Callable[[], None]) -> None:
        settings = get_settings()
        seconds = settings.body_seconds
        declared = _declared_length(scope)
        multipart = dict(scope["headers"]).get(b"content-type", b"").lower().startswith(b"multipart/")
        limit = settings.max_upload_mb * LARGE_BODY
        if not multipart:
            limit = min(limit, MAX_FORM_BODY)
        too_large = ArchiveError("body.too_large", f"上传内容超过 {limit // LARGE_BODY} MB 的上限", None, 413)
        too_slow = ArchiveError("body.too_slow", f"请求内容在 {seconds:g} 秒内没有传完，连接已断开，请重试", None, 408)
        if declared is not None and declared > limit:
            await _refuse_at_the_door(too_large, scope, receive, send)  # before a byte of it is read
            return
        chunks: list[bytes] = []
        size, more = 0, True
        if declared is None or declared <= LARGE_BODY:
            deadline = asyncio.get_running_loop().time() + seconds
            while more and size <= LARGE_BODY:
                try:
                    message = await asyncio.wait_for(receive(), deadline - asyncio.get_running_loop().time())
                except TimeoutError:
                    await _refuse_at_the_door(too_slow, scope, receive, send)
                    return
                if message["type"] != "http.request":
                    return  # the sender left
                chunks.append(message.get("body", b""))
                size += len(chunks[-1])
                more = message.get("more_body", False)
        if not more:  # all of it, within 1 MB: on to its turn whole
            done_receiving()
            await self.app(scope, _replaying(b"".join(chunks), False, receive), send)
            return
        token = request_token(Request(scope))
        if not token or not await run_in_threadpool(_signed_in, token):
            await _refuse_at_the_door(Unauthenticated(), scope, receive, send)
            return
        if size > limit:
            await _refuse_at_the_door(too_large, scope, receive, send)
            return
        cut: ArchiveError | None = None
        replayed = False

        async def counted() -> Message:
            nonlocal size, cut, replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": True}
            if cut is not None:
                return {"type": "http.disconnect"}
            try:
                message = await asyncio.wait_for(receive(), seconds)
            except TimeoutError:
                cut = too_slow
                return {"type": "http.disconnect"}
            if message["type"] == "http.request":
                size += len(message.get("body", b""))
                if size > limit:
                    cut = too_large
                    return {"type": "http.disconnect"}
                if not message.get("more_body"):
                    done_receiving()
            return message

        answered = False

        async def answer(message: Message) -> None:
            nonlocal answered
            if cut is None:
                await send(message)
            elif not answered:  # the route saw the body end early: the answer is why it was cut off
                answered = True
                await _refuse_at_the_door(cut, scope, _nothing_more, send)

        await self.app({**scope, STREAMING: True}, counted, answer)


def _replaying(body: bytes, more: bool, receive: Receive) -> Receive:
    handed = False

    async def replay() -> Message:
        nonlocal handed
        if handed:
            return await receive()
        handed = True
        return {"type": "http.request", "body": body, "more_body": more}

    return replay


async def _nothing_more() -> Message:
    return {"type": "http.disconnect"}
