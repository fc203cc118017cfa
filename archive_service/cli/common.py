"""What every command shares: how a refusal ends a command, who a command acts as, a progress bar."""

from typing import Any, NoReturn

import typer


def fail(error: Exception) -> NoReturn:
    """A refusal ends the command with exit status 2 and the reason on stderr (a rule's code after it)."""
    from archive_service.errors import ArchiveError

    said = f"{error.message}（{error.code}）" if isinstance(error, ArchiveError) else str(error)
    typer.secho(f"错误：{said}", fg=typer.colors.RED, err=True)
    raise typer.Exit(2)


def acting_user(session, username: str):
    """The account a command acts as; commands are run by a named person, never anonymously."""
    from sqlalchemy import select

    from archive_service.auth.models import User
    from archive_service.errors import ArchiveError

    actor = session.scalar(select(User).where(User.username == username))
    if actor is None:
        raise ArchiveError("username.unknown", f"用户 {username} 不存在", "username")
    return actor


def progress(total: int | None, label: str) -> tuple[Any, Any]:
    """A bar for a long run (objects copied or checked), and the callback that moves it."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn, TransferSpeedColumn

    bar = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    task = bar.add_task(label, total=total)
    return bar, lambda nbytes, nobjects: bar.update(task, advance=nobjects)


def database_failure(error: Exception) -> str | None:
    """What the operator is told when the database cannot be used (a traceback in English said less); None for
    a fault of the program, whose traceback is wanted."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import OperationalError

    from archive_service.config import get_settings

    url = make_url(get_settings().resolved_database_url).render_as_string(hide_password=True)
    detail = str(getattr(error, "orig", error))
    if "no such table" in detail or ("relation" in detail and "does not exist" in detail):
        return f"数据库 {url} 尚未建立表结构：请先运行 archive db upgrade"
    if not isinstance(error, OperationalError):
        return None
    for english, chinese in (
        ("Connection refused", "连接被拒绝，数据库服务可能未启动"),
        ("password authentication failed", "用户名或密码不对"),
        ("does not exist", "数据库不存在"),
        ("unable to open database file", "数据库文件无法打开（目录不存在或没有权限）"),
        ("database is locked", "数据库被其他进程占用，请稍后再试"),
    ):
        if english in detail:
            return f"无法使用数据库 {url}：{chinese}（设置 ARCHIVE_DATABASE_URL）"
    return f"无法使用数据库 {url}（{type(getattr(error, 'orig', error)).__name__}，设置 ARCHIVE_DATABASE_URL）"
