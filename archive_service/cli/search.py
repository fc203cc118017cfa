"""The search index from the terminal: apply what is queued, rebuild it, compare it with the database."""

import typer

app = typer.Typer(help="检索索引", no_args_is_help=True)


@app.command("sync")
def search_sync() -> None:
    """立即把排队的全部变更写入检索索引（如有正在写入的进程则等待它）。"""
    from archive_service.adapters import search_index
    from archive_service.db import get_engine
    from archive_service.finding.worker import apply_outbox

    applied = apply_outbox(get_engine(), search_index(), wait=True)
    typer.echo(f"检索索引：已更新 {applied} 份档案")


@app.command("reindex")
def search_reindex() -> None:
    """在现有索引旁按数据库重建检索索引，建成后一次切换。"""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from archive_service.adapters import search_index
    from archive_service.db import get_engine
    from archive_service.finding.worker import apply_outbox, reindex

    index = search_index()
    with Progress("重建索引", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()) as bar:
        task = bar.add_task("档案", total=None)
        count = reindex(get_engine(), index, progress=lambda done, total: bar.update(task, completed=done, total=total))
    caught_up = apply_outbox(get_engine(), index, wait=True)
    typer.echo(f"检索索引已重建：{count} 份档案（{index.description}）；期间变更 {caught_up} 份，已补写")


@app.command("verify")
def search_verify() -> None:
    """逐份比对档案与索引；有缺失、过期或多余的条目时列出并以状态 1 退出。"""
    from archive_service.adapters import search_index
    from archive_service.db import get_engine
    from archive_service.finding.worker import verify

    report = verify(get_engine(), search_index())
    typer.echo(f"已核对 {report.dossiers} 份档案；{report.pending} 份在队列中待写入索引")
    if report.ok:
        typer.echo("检索索引与数据库一致")
        return
    for label, items in (
        ("份不在索引中", report.missing),
        ("份在索引中已过期", report.stale),
        ("条在索引中而数据库中没有（档案 id）", report.extra),
    ):
        if items:
            shown = "、".join(str(i) for i in items[:20]) + (" …" if len(items) > 20 else "")
            typer.secho(f"{len(items)} {label}：{shown}", fg=typer.colors.RED, err=True)
    typer.secho("请运行 `archive search reindex` 重建索引", err=True)
    raise typer.Exit(1)
