"""The FastAPI application: JSON API under /api, Chinese pages everywhere else."""

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

import orjson
from anyio import to_thread
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel
from sqlalchemy.exc import DataError
from sqlalchemy.orm.exc import StaleDataError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from archive_service import __version__
from archive_service.access.routes import router as access_router
from archive_service.auth.routes import router as auth_router
from archive_service.auth.service import user_for_token
from archive_service.config import get_settings
from archive_service.db import get_sessionmaker
from archive_service.deps import request_token
from archive_service.dossiers.routes import router as dossiers_router
from archive_service.errors import ArchiveError, Unauthenticated
from archive_service.finding.routes import router as finding_router
from archive_service.jobs.routes import router as jobs_router
from archive_service.organisations.routes import router as organisations_router
from archive_service.shelving.routes import router as shelving_router
from archive_service.startup import start
from archive_service.transfers.routes import router as transfers_router
from archive_service.transfers.routes import supplements_router
from archive_service.values import ValueRuleError, check_visible
from archive_service.web.access_pages import router as access_pages_router
from archive_service.web.forms import PageRefused, keep_submitted_form
from archive_service.web.job_pages import router as job_pages_router
from archive_service.web.pages import render_error
from archive_service.web.pages import router as pages_router
from archive_service.web.shelving_pages import router as shelving_pages_router
from archive_service.web.transfer_pages import router as transfer_pages_router

log = logging.getLogger("archive")


class ErrorBody(BaseModel):
    code: str
    message: str
    field: str | None = None


ERROR_RESPONSES: dict[int | str, dict] = {
    status: {"model": ErrorBody} for status in (400, 401, 403, 404, 409, 422, 429)
}


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api")


# Pydantic's generic rules, said in Chinese; our own rules (codes with a dot) bring their own message.
GENERIC_RULES = {
    "missing": "必须填写",
    "string_too_short": "长度不足",
    "string_too_long": "长度超出上限",
    "string_pattern_mismatch": "格式不符合要求",
    "int_parsing": "应为整数",
    "greater_than_equal": "数值过小",
    "less_than_equal": "数值过大",
    "date_from_datetime_parsing": "应为日期（YYYY-MM-DD）",
    "date_parsing": "应为日期（YYYY-MM-DD）",
    "enum": "不是可选值之一",
    "literal_error": "不是可选值之一",
    "bool_parsing": "应为是/否",
    "json_invalid": "请求体不是有效的 JSON",
    "model_attributes_type": "应为对象",
}


def _validation_error(exc: RequestValidationError) -> ArchiveError:
    first = exc.errors()[0]
    location = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path", "form")]
    field = ".".join(location) or None
    code = first.get("type", "invalid")
    message = first.get("msg", "输入无效")
    if "." not in code:  # a library's own check: its English text never reaches a person
        message = f"字段 {field} {GENERIC_RULES.get(code, '不符合要求')}"
    return ArchiveError(code, message, field, 422)


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    """The embedded installation's local worker: the search outbox applied in the background."""
    from archive_service.db import get_engine
    from archive_service.finding.worker import OutboxApplier, search_index
    from archive_service.preservation.service import object_store

    # The thread pool that runs blocking routes is as large as the database pool allows (see make_engine).
    to_thread.current_default_thread_limiter().total_tokens = get_settings().request_threads
    object_store()  # the store is made (an S3 bucket checked) once, at start-up, not on the first page view
    interval = get_settings().search_sync_seconds
    applier = OutboxApplier(get_engine(), search_index(), interval) if interval > 0 else None
    if applier:
        applier.start()
    await _build_every_route(_app)
    # What start-up made lives as long as the process (modules, route validators: ~260,000 objects). Left in
    # the collector's oldest generation, every full collection walked it all while holding every thread,
    # the event loop's too: /healthz stalled 80–490 ms under sixteen writers (bench/writes.py).
    gc.collect()
    gc.freeze()
    yield
    gc.unfreeze()
    if applier:
        applier.stop()


async def _build_every_route(app: FastAPI) -> None:
    """FastAPI builds a route's validators when the first request reaches its router — on the event loop,
    where it held up every other answer, /healthz included, for up to 0.85 s on a busy server. One request
    that matches no route reaches every router: they are built here, before the first caller is served."""

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def discard(_message: object) -> None:
        return None

    path = "/-/build-every-route"
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": path, "raw_path": path.encode(), "root_path": "", "query_string": b"", "headers": [],
             "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 0)}
    await app.router(scope, receive, discard)


LARGE_BODY = 1024 * 1024  # a body over this is an upload: read before its sender is known to be signed in


async def _refuse_at_the_door(error: ArchiveError, scope: Scope, receive: Receive, send: Send) -> None:
    """A middleware's refusal, as the routes' would be: the error's JSON under /api, its page elsewhere."""
    request = Request(scope)
    answer = JSONResponse(error.body(), status_code=error.status) if _is_api(request) else render_error(request, error)
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
    route before the whole body is in, so waiting until then holds nothing."""

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
        forms = (b"application/json", b"application/x-www-form-urlencoded") if _is_api(Request(scope)) else ()
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

    async def replay() -> dict[str, object]:
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


def create_app() -> FastAPI:
    start()
    app = FastAPI(
        lifespan=lifespan,
        title="档案托管系统 Archive custody",
        version=__version__,
        description="退休人员人事档案的接收、数字化、保管、转递与利用",
        responses=ERROR_RESPONSES,
    )
    app.add_middleware(EmptyFieldsAreNoFilter)
    app.add_middleware(OnlyVisibleText)
    app.add_middleware(SameOriginWrites)
    app.add_middleware(BodiesOnlyFromUsers)
    app.add_middleware(RequestsInFlight)  # added last: the outermost, so a waiting request holds nothing

    @app.exception_handler(PageRefused)
    async def page_refused(request: Request, exc: PageRefused) -> Response:
        return exc.response

    @app.exception_handler(ArchiveError)
    async def archive_error(request: Request, exc: ArchiveError) -> Response:
        if _is_api(request):
            return JSONResponse(exc.body(), status_code=exc.status)
        if exc.status == 401:
            return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
        return render_error(request, exc)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        return await archive_error(request, _validation_error(exc))

    # A number too large for the database's integer columns (an id of 30 digits): the input is out of range,
    # not a fault of the service. SQLite raises OverflowError, PostgreSQL a DataError.
    @app.exception_handler(OverflowError)
    @app.exception_handler(DataError)
    async def out_of_range(request: Request, exc: Exception) -> Response:
        return await archive_error(
            request, ArchiveError("value.out_of_range", "输入的数值或文字超出允许的范围", None, 422)
        )

    # Someone changed the same record since it was read (a batch's version check): say so, never a 500.
    @app.exception_handler(StaleDataError)
    async def changed_meanwhile(request: Request, exc: StaleDataError) -> Response:
        return await archive_error(
            request, ArchiveError("record.changed", "该记录刚被他人修改，请刷新页面后重试", None, 409)
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        message = {404: "页面或资源不存在", 405: "不支持该请求方法"}.get(exc.status_code, str(exc.detail))
        error = ArchiveError(code, message, None, exc.status_code)
        if _is_api(request):
            return JSONResponse(error.body(), status_code=exc.status_code)
        return render_error(request, error)

    # On the event loop, not the thread pool: the answer must not wait behind a full pool of requests.
    @app.get("/healthz", tags=["ops"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    app.include_router(auth_router)
    app.include_router(organisations_router)
    app.include_router(dossiers_router)
    app.include_router(access_router)
    app.include_router(finding_router)
    app.include_router(shelving_router)
    app.include_router(transfers_router)
    app.include_router(supplements_router)
    app.include_router(jobs_router)
    for page_router in (
        pages_router,
        access_pages_router,
        shelving_pages_router,
        transfer_pages_router,
        job_pages_router,
    ):
        # Every page that answers a refused form shows it again as typed (web/forms.py).
        app.include_router(page_router, dependencies=[Depends(keep_submitted_form)])
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "web" / "static"), name="static")
    return app
