"""Digitising from the server's terminal: one dossier from its scans, and making again the use copies a
faulty pipeline version made."""

from pathlib import Path

import typer

from archive_service.cli.common import acting_user, fail

app = typer.Typer()


@app.command()
def digitise(
    archival_code: str = typer.Argument(..., metavar="档号", help="档号"),
    scans: list[Path] = typer.Argument(..., metavar="扫描件", help="扫描图像或扫描件 PDF，按扫描顺序"),
    username: str = typer.Option(..., help="数字化责任者（档案员账号）"),
    jobs: int | None = typer.Option(None, "--jobs", "-j", min=1, help="并行页数（默认每核一页）"),
    lang: str = typer.Option("chi_sim+eng", "--lang", help="识别语言（Tesseract 写法）"),
) -> None:
    """数字化一份档案。

    质检、文字识别、PDF/A；存入原始扫描件、利用副本和过程元数据；页面挂接到卷内目录。
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from archive_service.adapters import object_store
    from archive_service.db import transaction
    from archive_service.digitisation.service import digitise_dossier
    from archive_service.dossiers.service import get_dossier_by_code
    from archive_service.errors import ArchiveError

    try:
        with transaction() as session:
            actor = acting_user(session, username)
            dossier = get_dossier_by_code(session, actor, archival_code)
            with Progress("数字化 " + archival_code, BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()) as bar:
                task = bar.add_task("页", total=None)
                outcome = digitise_dossier(
                    session,
                    object_store(),
                    actor,
                    dossier,
                    scans,
                    jobs=jobs,
                    languages=lang,
                    progress=lambda done, total: bar.update(task, total=total, advance=done),
                )
    except ArchiveError as e:
        fail(e)
    if outcome.report:
        typer.echo(outcome.report)
    if not outcome.ok:
        typer.secho(f"{archival_code}：质检未通过，未入库", fg=typer.colors.RED, err=True)
        raise typer.Exit(1)
    pages, size = len(outcome.result.pages), outcome.use_copy.size  # type: ignore[union-attr]
    typer.echo(f"{archival_code}：{pages} 页已数字化入库（PDF/A-2b，{size:,} 字节）")


@app.command("rebuild-faulty")
def rebuild_faulty(
    username: str = typer.Option(..., help="重制责任者（档案员账号）"),
    dry_run: bool = typer.Option(False, "--dry-run", help="只列出，不重制"),
) -> None:
    """重制有缺陷的利用副本。

    找出有缺陷的流水线版本做成的利用副本（如黑白页显示为负片），逐份用原始扫描件重制为新版本；旧版本照常保留。
    """
    from archive_service.adapters import object_store
    from archive_service.db import get_sessionmaker, transaction
    from archive_service.digitisation.service import faulty_use_copies, rebuild_use_copy
    from archive_service.dossiers.models import Dossier
    from archive_service.errors import ArchiveError
    from archive_service.values import page_ranges

    store = object_store()
    with get_sessionmaker()() as session:
        try:
            bureau = acting_user(session, username).organisation_id
        except ArchiveError as e:
            fail(e)
        found = [  # a bureau rebuilds the copies of the files it holds
            (d.id, d.archival_code, c.version, fault, pages)
            for d, c, fault, pages in faulty_use_copies(session, store)
            if d.custodian_id == bureau
        ]
    typer.echo(f"本馆需重制的利用副本：{len(found)} 份")
    for _, code, version, fault, pages in found:
        typer.echo(f"  {code} 第 {version} 版：{fault}（第 {page_ranges(pages)} 页）")
    if dry_run or not found:
        return
    failed = 0
    for dossier_id, code, _, _, _ in found:
        try:  # one transaction per dossier: a failure leaves the others rebuilt and this one as it was
            with transaction() as session:
                dossier = session.get_one(Dossier, dossier_id)
                outcome = rebuild_use_copy(session, store, acting_user(session, username), dossier)
                if not outcome.ok:
                    raise ArchiveError("rebuild.qc_failed", outcome.report or "质检未通过", "archival_code")
            typer.echo(f"{code}: 已重制为第 {outcome.use_copy.version} 版")  # type: ignore[union-attr]
        except ArchiveError as e:
            failed += 1
            typer.secho(f"{code}: 重制失败：{e.message}", fg=typer.colors.RED, err=True)
    if failed:
        raise typer.Exit(1)
