"""Running the service: the web application (with local job workers) and job workers on other hosts."""

import os
import signal
import socket

import typer

from archive_service.cli.common import fail

app = typer.Typer()


def _exit_cleanly(*_: object) -> None:
    raise SystemExit(0)


@app.command()
def serve(
    host: str | None = typer.Option(None, help="监听地址（默认取 ARCHIVE_HOST）"),
    port: int | None = typer.Option(None, help="端口（默认取 ARCHIVE_PORT）"),
    workers: int = typer.Option(1, min=1, help="网页服务进程数（阅览室繁忙时每核一个）"),
) -> None:
    """运行网页服务。

    先迁移数据库；未配置消息队列时同时运行本机的后台任务进程。
    """
    import uvicorn

    from archive_service.config import get_settings
    from archive_service.db import get_engine
    from archive_service.errors import ArchiveError
    from archive_service.jobs.worker import LocalWorkers
    from archive_service.migrate import upgrade
    from archive_service.startup import log_to_console

    settings = get_settings()
    host, port = host or settings.host, port or settings.port
    try:  # said here in Chinese, not by uvicorn in English after the workers have started
        with socket.create_server((host, port)):
            pass
    except OSError:
        fail(ArchiveError("port.taken", f"无法在 {host}:{port} 监听：端口已被占用或地址不可用", "port"))
    upgrade(get_engine())
    log_to_console()
    job_workers = LocalWorkers(0 if settings.broker_url else settings.job_workers)
    # uvicorn shuts down on SIGTERM and then raises the signal again; with this handler that ends in
    # SystemExit, so the `finally` below stops the job workers instead of the process dying around them.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    typer.echo(f"网页服务：http://{host}:{port}（按 Ctrl+C 停止）")
    try:
        uvicorn.run(
            "archive_service.main:app",
            host=host,
            port=port,
            workers=workers,
            access_log=False,
            log_level="warning",  # its start and stop lines are English; ours are above and below
            # The client's address is ours to work out (deps.client_address: X-Forwarded-For only through the
            # configured ARCHIVE_TRUSTED_PROXIES); uvicorn's own default believes it from any loopback peer.
            proxy_headers=False,
        )
    finally:
        job_workers.stop()
        typer.echo("网页服务已停止")


@app.command()
def worker(
    processes: int = typer.Option(1, "--processes", "-p", min=1, help="本机同时运行的任务数"),
) -> None:
    """运行后台任务（数字化、重建索引、固定性检查、复制）。

    配置了 ARCHIVE_BROKER_URL 时经 Celery 领取任务，否则在本机。
    增加一台主机：安装本软件，把 ARCHIVE_DATABASE_URL、ARCHIVE_BROKER_URL 和 S3 设置指向共用的服务器，
    在该主机上运行 `archive worker --processes <核数>`。
    """
    from archive_service.config import get_settings
    from archive_service.jobs.worker import LocalWorkers, run_worker_process
    from archive_service.startup import log_to_console

    log_to_console()
    settings = get_settings()
    if settings.broker_url:
        from archive_service.jobs.celery_app import run_worker

        run_worker(processes, f"archive-{socket.gethostname()}-{os.getpid()}")
        return
    if processes == 1:
        run_worker_process()
        return
    children = LocalWorkers(processes)
    signal.signal(signal.SIGTERM, _exit_cleanly)  # SystemExit, so the `finally` stops the workers it keeps
    try:
        children.wait()
    finally:
        children.stop()
