"""The FastAPI application: JSON API under /api, Chinese pages everywhere else."""

import errno
import gc
import logging
import secrets
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import quote

from anyio import to_thread
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel
from sqlalchemy.exc import DataError, OperationalError
from sqlalchemy.orm.exc import StaleDataError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from archive_service import __version__
from archive_service.access.routes import router as access_router
from archive_service.auth.routes import router as auth_router
from archive_service.config import get_settings
from archive_service.deps import CurrentUser
from archive_service.disposal.routes import router as disposal_router
from archive_service.dossiers.routes import router as dossiers_router
from archive_service.errors import ArchiveError
from archive_service.finding.routes import router as finding_router
from archive_service.holdings.routes import router as holdings_router
from archive_service.jobs.routes import router as jobs_router
from archive_service.middleware import (
    BodiesOnlyFromUsers,
    EmptyFieldsAreNoFilter,
    OnlyVisibleText,
    RequestsInFlight,
    SameOriginWrites,
    is_api,
)
from archive_service.organisations.routes import router as organisations_router
from archive_service.shelving.routes import router as shelving_router
from archive_service.startup import start
from archive_service.transfers.fee_routes import router as fees_router
from archive_service.transfers.routes import router as transfers_router
from archive_service.transfers.routes import supplements_router
from archive_service.verification.routes import router as verification_router
from archive_service.web.account_pages import router as account_pages_router
from archive_service.web.audit_pages import router as audit_pages_router
from archive_service.web.campaign_pages import router as campaign_pages_router
from archive_service.web.disposal_pages import router as disposal_pages_router
from archive_service.web.dossier_pages import router as pages_router
from archive_service.web.enterprise_pages import router as enterprise_pages_router
from archive_service.web.fee_pages import router as fee_pages_router
from archive_service.web.forms import PageRefused, field_label, keep_submitted_form
from archive_service.web.holdings_pages import router as holdings_pages_router
from archive_service.web.job_pages import router as job_pages_router
from archive_service.web.loan_desk_pages import router as loan_desk_pages_router
from archive_service.web.misfiled_pages import router as misfiled_pages_router
from archive_service.web.move_pages import router as move_pages_router
from archive_service.web.rendering import render_error
from archive_service.web.report_pages import router as report_pages_router
from archive_service.web.request_pages import router as request_pages_router
from archive_service.web.search_pages import router as search_pages_router
from archive_service.web.security_pages import router as security_pages_router
from archive_service.web.shelving_pages import router as shelving_pages_router
from archive_service.web.transfer_pages import router as transfer_pages_router
from archive_service.web.unit_pages import router as unit_pages_router
from archive_service.web.user_pages import router as user_pages_router
from archive_service.web.verification_pages import router as verification_pages_router
from digitise.chinese import RULES

# The pages, in the order their paths are tried: /transfers/campaign before /transfers/{batch_id}.
PAGE_ROUTERS = (
    account_pages_router,
    security_pages_router,
    pages_router,
    search_pages_router,
    request_pages_router,
    loan_desk_pages_router,
    audit_pages_router,
    shelving_pages_router,
    campaign_pages_router,
    report_pages_router,
    move_pages_router,  # /transfers/moves before transfer pages' /transfers/{batch_id}
    fee_pages_router,  # /transfers/fees likewise
    transfer_pages_router,
    enterprise_pages_router,
    unit_pages_router,
    misfiled_pages_router,
    disposal_pages_router,
    job_pages_router,
    user_pages_router,
    holdings_pages_router,
    verification_pages_router,
)

log = logging.getLogger("archive")


class ErrorBody(BaseModel):
    code: str
    message: str
    field: str | None = None


ERROR_RESPONSES: dict[int | str, dict] = {
    status: {"model": ErrorBody} for status in (400, 401, 403, 404, 409, 422, 429)
}


def _validation_error(exc: RequestValidationError) -> ArchiveError:
    first = exc.errors()[0]
    location = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path", "form")]
    field = ".".join(location) or None
    code = first.get("type", "invalid")
    message = first.get("msg", "输入无效")
    if "." not in code:  # pydantic's own rule (digitise/chinese.py): its English text never reaches a person
        named = field_label(field) or f"字段 {field} "  # the label people know it by where it has one
        message = f"{named}{RULES.get(code, '不符合要求')}"
    return ArchiveError(code, message, field, 422)


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    """The app's start and end: request threads as many as the database pool allows, the object store made (an
    S3 bucket checked) once, the search outbox applier started (unless ARCHIVE_SEARCH_SYNC_SECONDS is 0); at the
    end the applier stopped. A served process also warms up (`served_lifespan`). Local job workers are separate
    processes started by `archive serve` (jobs/worker.py)."""
    from archive_service.adapters import object_store, search_index
    from archive_service.db import get_engine
    from archive_service.finding.worker import OutboxApplier

    # The thread pool that runs blocking routes is as large as the database pool allows (see make_engine).
    to_thread.current_default_thread_limiter().total_tokens = get_settings().request_threads
    object_store()  # the store is made (an S3 bucket checked) once, at start-up, not on the first page view
    interval = get_settings().search_sync_seconds
    applier = OutboxApplier(get_engine(), search_index(), interval) if interval > 0 else None
    if applier:
        applier.start()
    yield
    if applier:
        applier.stop()


@asynccontextmanager
async def served_lifespan(app: FastAPI) -> AsyncIterator[None]:
    """`lifespan`, and before the first request every route's validators built and what start-up made frozen
    out of the collector's reach. Only where the app is served (main.py): a test's app answers a few requests
    and is gone, and the two cost it 1–4 s on a test process's heap, most of a test's setup."""
    async with lifespan(app):
        await _build_every_route(app)
        # What start-up made lives as long as the process (modules, route validators: ~260,000 objects). Left in
        # the collector's oldest generation, every full collection walked it all while holding every thread,
        # the event loop's too: /healthz stalled 80–490 ms under sixteen writers (bench/writes.py).
        gc.collect()
        gc.freeze()
        yield
        gc.unfreeze()


async def _build_every_route(app: FastAPI) -> None:
    """FastAPI builds a route's validators when the first request reaches its router — on the event loop,
    where it held up every other answer, /healthz included, for up to 0.85 s on a busy server. One request
    that matches no route reaches every router: they are built here, before the first caller is served."""

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def discard(_message: object) -> None:
        return None

    path = "/-/build-every-route"
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [],
        "server": ("127.0.0.1", 80),
        "client": ("127.0.0.1", 0),
    }
    await app.router(scope, receive, discard)


def create_app(served: bool = False) -> FastAPI:
    """The web app; `served` by uvicorn (main.py) it warms up before its first request (`served_lifespan`)."""
    start()
    app = FastAPI(
        lifespan=served_lifespan if served else lifespan,
        title="档案托管系统 Archive custody",
        version=__version__,
        description="退休人员人事档案的接收、数字化、保管、转递与利用",
        responses=ERROR_RESPONSES,
        # The API's description names every operation and field of 100,000 people's files: for signed-in
        # people only (below), not FastAPI's open defaults.
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.add_middleware(EmptyFieldsAreNoFilter)
    app.add_middleware(OnlyVisibleText)
    app.add_middleware(SameOriginWrites)
    app.add_middleware(RequestsInFlight)
    app.add_middleware(BodiesOnlyFromUsers)  # added last: the outermost, so a body still arriving holds no turn

    @app.exception_handler(PageRefused)
    async def page_refused(request: Request, exc: PageRefused) -> Response:
        return exc.response

    @app.exception_handler(ArchiveError)
    async def archive_error(request: Request, exc: ArchiveError) -> Response:
        if is_api(request):
            return JSONResponse(exc.body(), status_code=exc.status)
        if exc.status == 401:  # the login page says why (timed out, ended) by the error's code, never its text
            return RedirectResponse(f"/login?next={quote(request.url.path)}&why={exc.code}", status_code=303)
        if exc.code == "password.change_required":
            return RedirectResponse("/account/password", status_code=303)
        return await run_in_threadpool(render_error, request, exc)

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

    # A write refused for want of space (the store's file, the database's): the transaction rolled back and
    # nothing was saved; the person can tell the administrator what happened instead of quoting a number.
    @app.exception_handler(OSError)
    @app.exception_handler(OperationalError)
    async def disk_full(request: Request, exc: Exception) -> Response:
        if not _disk_full(exc):
            return await unexpected(request, exc)
        log.error("磁盘已满：%s %s 未完成", request.method, request.url.path, exc_info=exc)
        return await archive_error(
            request,
            ArchiveError(
                "disk.full", "服务器磁盘已满，操作未完成，未保存任何内容。请告知系统管理员清理或扩充存储空间", None, 507
            ),
        )

    # A fault of ours (a bug, a server that went away): the person reads what to do and a number to quote; the
    # traceback goes to the log under that number. Starlette answered "Internal Server Error" in English.
    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        incident = secrets.token_hex(4).upper()
        log.error("故障 %s：%s %s 出错", incident, request.method, request.url.path, exc_info=exc)
        error = ArchiveError(
            "internal", f"系统内部错误，操作未完成。请稍后重试；如仍出错，请将编号 {incident} 告知系统管理员", None, 500
        )
        if is_api(request):
            return JSONResponse(error.body(), status_code=500)
        return await run_in_threadpool(render_error, request, error)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = {400: "body.unreadable", 404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        message = {
            # FastAPI's "There was an error parsing the body": a form field over 1 MB, over 1,000 fields, bad framing.
            400: "提交的内容无法读取：表单的一栏超过 1 MB、栏目超过 1000 个，或格式有误",
            404: "页面或资源不存在",
            405: "不支持该请求方法",
        }.get(exc.status_code, str(exc.detail))
        error = ArchiveError(code, message, None, exc.status_code)
        if is_api(request):
            return JSONResponse(error.body(), status_code=exc.status_code)
        return await run_in_threadpool(render_error, request, error)

    # On the event loop, not the thread pool: the answer must not wait behind a full pool of requests.
    @app.get("/healthz", tags=["ops"])
    async def healthz() -> JSONResponse:
        settings = get_settings()
        folder = settings.var_dir
        while not folder.exists():  # before the first start: the disk it will be on
            folder = folder.parent
        free_mb = shutil.disk_usage(folder).free // 2**20  # one statvfs: fine on the event loop
        if free_mb < (least := settings.min_free_disk_mb):
            said = f"数据目录所在磁盘仅余 {free_mb} MB，低于设定的 {least} MB（ARCHIVE_MIN_FREE_DISK_MB）"
            return JSONResponse(
                {"status": "disk_low", "message": said, "disk_free_mb": free_mb, "version": __version__}, 503
            )
        return JSONResponse({"status": "ok", "disk_free_mb": free_mb, "version": __version__})

    app.include_router(auth_router)
    app.include_router(organisations_router)
    app.include_router(dossiers_router)
    app.include_router(access_router)
    app.include_router(finding_router)
    app.include_router(shelving_router)
    app.include_router(transfers_router)
    app.include_router(supplements_router)
    app.include_router(jobs_router)
    app.include_router(holdings_router)
    app.include_router(verification_router)
    app.include_router(disposal_router)
    app.include_router(fees_router)
    for page_router in PAGE_ROUTERS:
        # Every page that answers a refused form shows it again as typed (web/forms.py).
        app.include_router(page_router, dependencies=[Depends(keep_submitted_form)])
    static = Path(__file__).parent / "web" / "static"

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> FileResponse:
        # Browsers ask for it on every first visit; a 404 filled the server's log (the 档 of the page header).
        return FileResponse(
            static / "favicon.ico", media_type="image/x-icon", headers={"Cache-Control": "max-age=86400"}
        )

    @app.get("/openapi.json", include_in_schema=False)
    def api_description(user: CurrentUser) -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/docs", include_in_schema=False)
    def api_pages(user: CurrentUser) -> Response:
        return get_swagger_ui_html(openapi_url="/openapi.json", title=f"{app.title} 接口说明")

    app.mount("/static", StaticFiles(directory=static), name="static")
    return app


def _disk_full(exc: BaseException | None) -> bool:
    """A write refused for want of space anywhere in the chain (an OSError, SQLite's "database or disk is
    full", PostgreSQL's 53100 disk_full)."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if "disk is full" in str(exc) or getattr(exc, "sqlstate", None) == "53100":
            return True
        exc, seen = exc.__cause__ or exc.__context__ or getattr(exc, "orig", None), seen + 1
    return False
