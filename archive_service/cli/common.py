"""What every command shares: how a refusal ends a command, who a command acts as, a progress bar."""

from typing import Any, NoReturn

import typer


def fail(error: Exception) -> NoReturn:
    """A refusal ends the command with exit status 2 and the reason on stderr (a rule's code after it)."""
    from archive_service.errors import ArchiveError

    said = f"{error.message}（{error.code}）" if isinstance(error, ArchiveError) else str(error)
    typer.secho(f"错误：{said}", fg=typer.colors.RED, err=True)
    raise typer.Exit(2)


def acting_user(session, username: str):  # type: ignore[no-untyped-def]
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
