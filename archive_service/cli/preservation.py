"""Keeping what is stored: fixity checks, a second copy of every object, destroying one object (audited),
backing up and restoring the whole installation."""

from pathlib import Path

import typer

from archive_service.access.log import AccessAction, record_access
from archive_service.cli.common import acting_user, fail, progress

app = typer.Typer()
fixity_app = typer.Typer(help="存储对象的固定性（完整性）", no_args_is_help=True)
objects_app = typer.Typer(help="存储对象", no_args_is_help=True)
app.add_typer(fixity_app, name="fixity")
app.add_typer(objects_app, name="objects")


@fixity_app.command("check")
def fixity_check(
    sample: int | None = typer.Option(None, min=1, help="随机抽查 N 个对象，而不是全部"),
    resume: bool = typer.Option(False, "--resume", help="接着上次未完成的检查继续"),
    max_mbps: float | None = typer.Option(None, "--max-mbps", help="读取速度上限（MB/秒）"),
) -> None:
    """重新核验存储对象的 SHA-256；有对象缺失或被改动时以状态 1 退出。"""
    from archive_service.adapters import object_store
    from archive_service.db import get_sessionmaker
    from archive_service.preservation.models import FIXITY_OUTCOMES
    from archive_service.preservation.service import check_fixity, count_recorded_objects

    store = object_store()
    sessions = get_sessionmaker()
    with sessions() as s:
        total = count_recorded_objects(s)
    bar, advance = progress(min(total, sample or total), f"固定性检查 {store.description}")
    with bar:
        report = check_fixity(sessions, store, sample=sample, resume=resume, max_mb_per_s=max_mbps, progress=advance)
    typer.echo(
        f"第 {report.run_id} 次检查：已核验 {report.checked} 个，失败 {len(report.failures)} 个，"
        f"读取 {report.bytes_read / 1e6:.1f} MB"
    )
    for key, outcome in report.failures:
        typer.secho(f"失败（{FIXITY_OUTCOMES.get(outcome, outcome)}）：{key}", fg=typer.colors.RED, err=True)
    if report.failures:
        raise typer.Exit(1)


@app.command()
def replicate(
    to: str = typer.Option(..., help="local:/目录 或 s3[:桶名]（使用 ARCHIVE_S3_* 设置）"),
) -> None:
    """把每个对象复制到第二个存储并逐个核验。

    最后比对两边的数量和校验值。
    迁移到 MinIO：先 `archive replicate --to s3`，再设置 ARCHIVE_OBJECT_STORE=s3。
    """
    from archive_service.adapters import object_store, open_store
    from archive_service.config import get_settings
    from archive_service.db import transaction
    from archive_service.errors import ArchiveError
    from archive_service.preservation.service import count_recorded_objects
    from archive_service.preservation.service import replicate as run

    try:
        source, target = object_store(), open_store(get_settings(), to)
    except ArchiveError as e:
        fail(e)
    with transaction() as session:
        bar, advance = progress(count_recorded_objects(session), f"{source.description} → {target.description}")
        with bar:
            report = run(session, source, target, progress=advance)
    typer.echo(
        f"共 {report.total} 个对象：复制 {report.copied} 个，已存在 {report.already_there} 个，"
        f"失败 {len(report.failed)} 个；目标已按登记逐一核验"
    )
    for key, why in report.failed:
        typer.secho(f"失败：{key}：{why}", fg=typer.colors.RED, err=True)
    if report.failed:
        raise typer.Exit(1)


@objects_app.command("delete")
def objects_delete(
    storage_key: str = typer.Argument(..., metavar="存储键", help="对象的存储键"),
    username: str = typer.Option(..., help="下令销毁的管理员账号"),
    reason: str = typer.Option(..., help="销毁理由（记入记录）"),
) -> None:
    """销毁一个存储对象：仅管理员，须写明理由，先记录后执行。"""
    from archive_service.adapters import object_store
    from archive_service.db import transaction
    from archive_service.errors import ArchiveError
    from archive_service.preservation.service import delete_object

    try:
        with transaction() as session:
            delete_object(session, object_store(), acting_user(session, username), storage_key, reason)
    except ArchiveError as e:
        fail(e)
    typer.echo(f"已销毁：{storage_key}")


def _system_event(action: str, detail: str) -> None:
    """A backup or a restore on the log (the system's own event; GB/T 22239-2019 8.1.4.3)."""
    from archive_service.db import get_sessionmaker

    with get_sessionmaker()() as session:
        record_access(session, None, action, "命令行", detail=detail)


@app.command()
def backup(folder: Path = typer.Argument(..., metavar="备份目录", help="空目录或新目录（如挂载的备份盘）")) -> None:
    """备份整个系统。

    数据库各表（同一时刻的快照）、全部存储对象和清单 manifest.json。
    """
    from archive_service.adapters import object_store
    from archive_service.db import get_engine
    from archive_service.errors import ArchiveError
    from archive_service.preservation.backup import backup as run

    try:
        report = run(get_engine(), object_store(), folder)
    except ArchiveError as e:
        fail(e)
    rows = sum(report.tables.values())
    _system_event(AccessAction.backup, f"备份到 {folder}：{len(report.tables)} 张表 {rows} 行，{report.objects} 个对象")
    typer.echo(
        f"已备份到 {folder}：{len(report.tables)} 张表 {rows} 行，"
        f"{report.objects} 个对象（{report.bytes / 1e6:.1f} MB），清单 manifest.json"
    )


@app.command()
def restore(folder: Path = typer.Argument(..., metavar="备份目录", help="`archive backup` 写出的目录")) -> None:
    """把备份恢复到这个空系统。

    逐项核验，并重建检索索引。
    """
    from archive_service.adapters import object_store, search_index
    from archive_service.db import get_engine
    from archive_service.errors import ArchiveError
    from archive_service.finding.worker import apply_outbox, reindex
    from archive_service.migrate import upgrade
    from archive_service.preservation.backup import restore as run

    engine = get_engine()
    upgrade(engine)
    try:
        report = run(engine, object_store(), folder)
    except ArchiveError as e:
        fail(e)
    indexed = reindex(engine, search_index())
    apply_outbox(engine, search_index(), wait=True)
    outcome = "核验通过" if report.ok else f"有 {len(report.problems)} 处问题"
    _system_event(
        AccessAction.restore, f"从 {folder} 恢复：{sum(report.tables.values())} 行，{report.objects} 个对象，{outcome}"
    )
    typer.echo(
        f"已恢复 {sum(report.tables.values())} 行、{report.objects} 个对象（核验 {report.objects_verified} 个），"
        f"利用登记 {report.log_entries} 条；检索索引已重建（{indexed} 份档案）"
    )
    for problem in report.problems:
        typer.secho(f"问题：{problem}", fg=typer.colors.RED, err=True)
    if not report.ok:
        raise typer.Exit(1)
