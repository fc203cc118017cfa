"""The `archive` command, for the server's operator: 18 commands.

Running: `serve` (web + local job workers), `worker` (a job worker, local or Celery), `demo`.
Set-up: `db upgrade`, `orgs create`, `users create`. Preservation: `fixity check`, `replicate`,
`objects delete` (audited), `backup`, `restore`. Digitisation: `digitise`, `rebuild-faulty`.
Search: `search sync | reindex | verify`. Evidence: `audit verify` (the access log's hash chain),
`transfers verify-receipt` (a receipt PDF against its manifest)."""

import logging
import os
import signal
from pathlib import Path

import typer

from archive_service.auth.models import Role

app = typer.Typer(
    help="退休人员人事档案托管系统 — archive custody", no_args_is_help=True, pretty_exceptions_enable=False
)


@app.callback()
def _start() -> None:
    """Every command starts as every process does (archive_service/startup.py)."""
    from archive_service.startup import start

    start()
db_app = typer.Typer(help="Database schema", no_args_is_help=True)
users_app = typer.Typer(help="User accounts", no_args_is_help=True)
orgs_app = typer.Typer(help="Organisations", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(orgs_app, name="orgs")
fixity_app = typer.Typer(help="Fixity of stored objects", no_args_is_help=True)
objects_app = typer.Typer(help="Stored objects", no_args_is_help=True)
app.add_typer(fixity_app, name="fixity")
app.add_typer(objects_app, name="objects")
audit_app = typer.Typer(help="Access log", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
search_app = typer.Typer(help="Search index", no_args_is_help=True)
app.add_typer(search_app, name="search")


def _fail(error: Exception) -> None:
    typer.secho(f"错误 / error: {error}", fg=typer.colors.RED, err=True)
    raise typer.Exit(2)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every migration and synchronise reference data (class schemes)."""
    from archive_service.db import get_engine
    from archive_service.migrate import upgrade

    upgrade(get_engine())
    typer.echo(f"database at head: {get_engine().url.render_as_string(hide_password=True)}")


@orgs_app.command("create")
def orgs_create(
    name: str = typer.Option(...),
    kind: str = typer.Option("bureau"),
    credit_code: str = typer.Option(...),
    region_code: str = typer.Option(...),
    level: str = typer.Option("district"),
    fonds_code: str | None = typer.Option(None, help="全宗号 (bureaus)"),
) -> None:
    """Register an organisation (e.g. the bureau itself before its first administrator)."""
    from pydantic import ValidationError

    from archive_service.db import transaction
    from archive_service.errors import ArchiveError
    from archive_service.organisations.schemas import OrganisationIn
    from archive_service.organisations.service import create_organisation

    try:
        data = OrganisationIn(
            name=name,
            kind=kind,
            credit_code=credit_code,
            region_code=region_code,  # type: ignore[arg-type]
            level=level,
            fonds_code=fonds_code,
        )  # type: ignore[arg-type]
        with transaction() as session:
            org = create_organisation(session, data)
            typer.echo(f"organisation {org.id}: {org.name}")
    except ValidationError as e:
        first = e.errors()[0]
        _fail(Exception(f"{'.'.join(map(str, first['loc']))}: {first['msg']}"))
    except ArchiveError as e:
        _fail(e)


@users_app.command("create")
def users_create(
    username: str = typer.Option(...),
    organisation_credit_code: str = typer.Option(..., help="统一社会信用代码 of the user's organisation"),
    role: Role = typer.Option(Role.administrator),
    display_name: str = typer.Option("系统管理员"),
    password: str = typer.Option(..., prompt=True, hide_input=True, confirmation_prompt=True),
) -> None:
    """Create a user (the first administrator, typically)."""
    from sqlalchemy import select

    from archive_service.auth.service import create_user
    from archive_service.db import transaction
    from archive_service.errors import ArchiveError
    from archive_service.organisations.models import Organisation

    try:
        with transaction() as session:
            org = session.scalar(select(Organisation).where(Organisation.credit_code == organisation_credit_code))
            if org is None:
                raise ArchiveError("organisation.unknown", "未找到该统一社会信用代码的单位", "organisation_credit_code")
            user = create_user(
                session,
                username=username,
                display_name=display_name,
                password=password,
                role=role,
                organisation_id=org.id,
            )
            typer.echo(f"user {user.id}: {user.username} ({role.value}) at {org.name}")
    except ArchiveError as e:
        _fail(e)


@app.command()
def demo(
    retirees: int = typer.Option(300, min=1, max=100_000),
    if_empty: bool = typer.Option(False, "--if-empty", help="do nothing (and succeed) when users exist"),
    with_scans: bool = typer.Option(False, "--with-scans", help="also digitise one dossier and file two requests"),
) -> None:
    """Load the demo bureau, enterprises, retirees and users into an empty installation."""
    from sqlalchemy import select

    from archive_service.auth.models import User
    from archive_service.db import transaction
    from archive_service.demo import DEMO_PASSWORD, load_demo

    with transaction() as session:
        if session.scalar(select(User.id).limit(1)) is not None:
            if if_empty:
                typer.echo("demo data: installation already has users, left as it is")
                return
            _fail(Exception("installation already has users; demo data goes only into an empty one"))
        counts = load_demo(session, retirees=retirees)
    if with_scans:
        from archive_service.config import get_settings
        from archive_service.demo import digitise_demo_dossier, digitised_demo_batch
        from archive_service.preservation.service import object_store

        settings = get_settings()
        typer.echo("demo data: scanning and digitising one dossier (OCR takes a minute)…")
        with transaction() as session:
            code = digitise_demo_dossier(session, object_store(), settings.digitise_work_dir)
        typer.echo(f"demo data: {code} digitised; requests for it waiting for `approver` and approved for `sibao`")
        with transaction() as session:
            number = digitised_demo_batch(session, object_store(), settings.digitise_work_dir)
        typer.echo(f"demo data: intake batch {number} received with digitised copies, waiting for acceptance")
    typer.echo(f"demo data loaded: {counts}; every demo user's password is {DEMO_PASSWORD}")


def _progress(total_objects: int, label: str):  # type: ignore[no-untyped-def]
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    bar = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    task = bar.add_task(label, total=total_objects)
    return bar, lambda nbytes, nobjects: bar.update(task, advance=nobjects)


@fixity_app.command("check")
def fixity_check(
    sample: int | None = typer.Option(None, min=1, help="check a random sample of N objects instead of all"),
    resume: bool = typer.Option(False, "--resume", help="continue the last unfinished run"),
    max_mbps: float | None = typer.Option(None, "--max-mbps", help="read at most this many MB/s"),
) -> None:
    """Re-verify the SHA-256 of stored objects; exit 1 when any object is missing or altered."""
    from archive_service.db import get_sessionmaker
    from archive_service.preservation.service import check_fixity, count_recorded_objects, object_store

    store = object_store()
    sessions = get_sessionmaker()
    with sessions() as s:
        total = count_recorded_objects(s)
    bar, advance = _progress(min(total, sample or total), f"fixity {store.description}")
    with bar:
        report = check_fixity(sessions, store, sample=sample, resume=resume, max_mb_per_s=max_mbps, progress=advance)
    typer.echo(
        f"run {report.run_id}: {report.checked} checked, {len(report.failures)} failed, "
        f"{report.bytes_read / 1e6:.1f} MB read"
    )
    for key, outcome in report.failures:
        typer.secho(f"FAILED {outcome}: {key}", fg=typer.colors.RED, err=True)
    if report.failures:
        raise typer.Exit(1)


@app.command()
def replicate(
    to: str = typer.Option(..., help="local:/path/to/dir or s3[:bucket] (ARCHIVE_S3_* settings)"),
) -> None:
    """Copy every object to a second store, verify each copy, compare counts and checksums.

    Moving an installation to MinIO: `archive replicate --to s3`, then set ARCHIVE_OBJECT_STORE=s3.
    """
    from archive_service.config import get_settings
    from archive_service.db import transaction
    from archive_service.preservation.service import count_recorded_objects, object_store, open_store
    from archive_service.preservation.service import replicate as run

    settings = get_settings()
    source, target = object_store(), open_store(settings, to)
    with transaction() as session:
        bar, advance = _progress(count_recorded_objects(session), f"{source.description} → {target.description}")
        with bar:
            report = run(session, source, target, progress=advance)
    typer.echo(
        f"{report.total} objects: {report.copied} copied, {report.already_there} already there, "
        f"{len(report.failed)} failed; target verified against the catalogue"
    )
    for key, why in report.failed:
        typer.secho(f"FAILED {key}: {why}", fg=typer.colors.RED, err=True)
    if report.failed:
        raise typer.Exit(1)


@objects_app.command("delete")
def objects_delete(
    storage_key: str,
    username: str = typer.Option(..., help="the administrator ordering the deletion"),
    reason: str = typer.Option(..., help="why the object is destroyed (kept in the record)"),
) -> None:
    """Destroy one stored object: administrators only, with a reason, recorded before it happens."""
    from archive_service.db import transaction
    from archive_service.errors import ArchiveError
    from archive_service.preservation.service import delete_object, object_store

    try:
        with transaction() as session:
            delete_object(session, object_store(), _user(session, username), storage_key, reason)
    except ArchiveError as e:
        _fail(e)
    typer.echo(f"deleted {storage_key}")


def _user(session, username: str):  # type: ignore[no-untyped-def]
    """The account a command acts as; commands are run by a named person, never anonymously."""
    from sqlalchemy import select

    from archive_service.auth.models import User
    from archive_service.errors import ArchiveError

    actor = session.scalar(select(User).where(User.username == username))
    if actor is None:
        raise ArchiveError("username.unknown", f"用户 {username} 不存在", "username")
    return actor


@audit_app.command("verify")
def audit_verify() -> None:
    """Walk the hash-chained access log; exit 1 naming the first entry that was altered, removed or inserted."""
    from archive_service.access.log import verify_chain
    from archive_service.db import get_sessionmaker

    with get_sessionmaker()() as session:
        report = verify_chain(session)
    if report.ok:
        typer.echo(f"access log intact: {report.entries} entries, chain verified")
        return
    typer.secho(
        f"access log BROKEN at entry seq {report.broken_seq} (id {report.broken_id}): {report.reason}; "
        f"{report.entries} entries before it verified",
        fg=typer.colors.RED,
        err=True,
    )
    raise typer.Exit(1)


@search_app.command("sync")
def search_sync() -> None:
    """Apply every queued change to the search index now (waits for a running applier)."""
    from archive_service.db import get_engine
    from archive_service.finding.worker import apply_outbox, search_index

    applied = apply_outbox(get_engine(), search_index(), wait=True)
    typer.echo(f"search index: {applied} dossiers updated")


@search_app.command("reindex")
def search_reindex() -> None:
    """Rebuild the search index from the database beside the live one, then switch to it at once."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from archive_service.db import get_engine
    from archive_service.finding.worker import apply_outbox, reindex, search_index

    index = search_index()
    with Progress("重建索引", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()) as bar:
        task = bar.add_task("dossiers", total=None)
        count = reindex(get_engine(), index, progress=lambda done, total: bar.update(task, completed=done, total=total))
    caught_up = apply_outbox(get_engine(), index, wait=True)
    typer.echo(f"search index rebuilt: {count} dossiers ({index.description}); {caught_up} changed meanwhile, applied")


@search_app.command("verify")
def search_verify() -> None:
    """Compare every dossier with the index; exit 1 naming dossiers missing, stale or left over."""
    from archive_service.db import get_engine
    from archive_service.finding.worker import search_index, verify

    report = verify(get_engine(), search_index())
    typer.echo(f"{report.dossiers} dossiers checked; {report.pending} queued for the index (not yet applied)")
    if report.ok:
        typer.echo("search index matches the database")
        return
    for label, items in (
        ("missing from the index", report.missing),
        ("stale in the index", report.stale),
        ("in the index but not in the database (dossier id)", report.extra),
    ):
        if items:
            shown = ", ".join(str(i) for i in items[:20]) + (" …" if len(items) > 20 else "")
            typer.secho(f"{len(items)} {label}: {shown}", fg=typer.colors.RED, err=True)
    typer.secho("run `archive search reindex` to rebuild", err=True)
    raise typer.Exit(1)


@app.command()
def digitise(
    archival_code: str = typer.Argument(..., help="档号"),
    scans: list[Path] = typer.Argument(..., help="扫描图像或扫描件 PDF，按扫描顺序"),
    username: str = typer.Option(..., help="数字化责任者（档案员账号）"),
    jobs: int | None = typer.Option(None, "--jobs", "-j", min=1),
    lang: str = typer.Option("chi_sim+eng", "--lang"),
) -> None:
    """Digitise a dossier: QC, OCR, PDF/A; store masters, use copy and sidecar; link pages to the catalogue."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from archive_service.config import get_settings
    from archive_service.db import transaction
    from archive_service.digitisation.service import digitise_dossier
    from archive_service.dossiers.service import get_dossier_by_code
    from archive_service.errors import ArchiveError
    from archive_service.preservation.service import object_store

    settings = get_settings()
    try:
        with transaction() as session:
            actor = _user(session, username)
            dossier = get_dossier_by_code(session, actor, archival_code)
            with Progress("数字化 " + archival_code, BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()) as bar:
                task = bar.add_task("pages", total=None)
                outcome = digitise_dossier(
                    session,
                    object_store(),
                    actor,
                    dossier,
                    scans,
                    jobs=jobs,
                    languages=lang,
                    progress=lambda done, total: bar.update(task, total=total, advance=done),
                    work_root=settings.digitise_work_dir,
                )
    except ArchiveError as e:
        _fail(e)
    if outcome.report:
        typer.echo(outcome.report)
    if not outcome.ok:
        typer.secho(f"{archival_code}: 质检未通过，未入库", fg=typer.colors.RED, err=True)
        raise typer.Exit(1)
    pages, size = len(outcome.result.pages), outcome.use_copy.size  # type: ignore[union-attr]
    typer.echo(f"{archival_code}: {pages} 页已数字化入库（PDF/A-2b，{size:,} 字节）")


@app.command("rebuild-faulty")
def rebuild_faulty(
    username: str = typer.Option(..., help="重制责任者（档案员账号）"),
    dry_run: bool = typer.Option(False, "--dry-run", help="只列出，不重制"),
) -> None:
    """Find use copies made by a faulty pipeline version (e.g. negative G4 pages) and make each again from
    its masters: a new version of the copy; the old one is kept, as every version is."""
    from archive_service.db import get_sessionmaker, transaction
    from archive_service.digitisation.service import faulty_use_copies, rebuild_use_copy
    from archive_service.errors import ArchiveError
    from archive_service.preservation.service import object_store
    from archive_service.values import page_ranges

    store = object_store()
    with get_sessionmaker()() as session:
        try:
            bureau = _user(session, username).organisation_id
        except ArchiveError as e:
            _fail(e)
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
                from archive_service.dossiers.models import Dossier

                dossier = session.get(Dossier, dossier_id)
                outcome = rebuild_use_copy(session, store, _user(session, username), dossier)
                if not outcome.ok:
                    raise ArchiveError("rebuild.qc_failed", outcome.report or "质检未通过", "archival_code")
            typer.echo(f"{code}: 已重制为第 {outcome.use_copy.version} 版")  # type: ignore[union-attr]
        except ArchiveError as e:
            failed += 1
            typer.secho(f"{code}: 重制失败：{e}", fg=typer.colors.RED, err=True)
    if failed:
        raise typer.Exit(1)


def _exit_cleanly(*_: object) -> None:
    raise SystemExit(0)


@app.command()
def serve(
    host: str | None = None,
    port: int | None = None,
    workers: int = typer.Option(1, min=1, help="web server processes (one per core for a busy reading room)"),
) -> None:
    """Run the web application (migrating the database first) and, without a broker, the local job workers."""
    import uvicorn

    from archive_service.config import get_settings
    from archive_service.db import get_engine
    from archive_service.jobs.worker import start_local_workers, stop_local_workers
    from archive_service.migrate import upgrade

    settings = get_settings()
    upgrade(get_engine())
    logging.basicConfig(level=logging.INFO)
    job_workers = start_local_workers(settings.job_workers) if not settings.broker_url else []
    # uvicorn shuts down on SIGTERM and then raises the signal again; with this handler that ends in
    # SystemExit, so the `finally` below stops the job workers instead of the process dying around them.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    try:
        uvicorn.run(
            "archive_service.main:app",
            host=host or settings.host,
            port=port or settings.port,
            workers=workers,
            access_log=False,
        )
    finally:
        stop_local_workers(job_workers)


@app.command()
def worker(
    processes: int = typer.Option(1, "--processes", "-p", min=1, help="jobs run at once on this host"),
) -> None:
    """Run jobs (digitisation, reindexing, fixity, replication): Celery with ARCHIVE_BROKER_URL, else local.

    Add a host: install the package, point ARCHIVE_DATABASE_URL, ARCHIVE_BROKER_URL and the S3 settings at
    the shared servers, and run `archive worker --processes <cores>` there.
    """
    import socket

    from archive_service.config import get_settings
    from archive_service.jobs.worker import run_worker_process, start_local_workers, stop_local_workers

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(processName)s %(name)s %(message)s")
    settings = get_settings()
    if settings.broker_url:
        from archive_service.jobs.celery_app import run_worker

        run_worker(processes, f"archive-{socket.gethostname()}-{os.getpid()}")
        return
    if processes == 1:
        run_worker_process()
        return
    children = start_local_workers(processes)
    try:
        for child in children:
            child.join()
    finally:
        stop_local_workers(children)


@app.command()
def backup(folder: Path = typer.Argument(..., help="an empty or new folder (a mounted backup disk)")) -> None:
    """Back up the installation: database rows (one snapshot), every stored object, and a manifest."""
    from archive_service.db import get_engine
    from archive_service.errors import ArchiveError
    from archive_service.preservation.backup import backup as run
    from archive_service.preservation.service import object_store

    try:
        report = run(get_engine(), object_store(), folder)
    except ArchiveError as e:
        _fail(e)
    rows = sum(report.tables.values())
    typer.echo(f"backup in {folder}: {rows} rows in {len(report.tables)} tables, "
               f"{report.objects} objects ({report.bytes / 1e6:.1f} MB), manifest.json")  # fmt: skip


@app.command()
def restore(folder: Path = typer.Argument(..., help="a folder written by `archive backup`")) -> None:
    """Restore a backup into this empty installation, verify it, and rebuild the search index."""
    from archive_service.db import get_engine
    from archive_service.errors import ArchiveError
    from archive_service.finding.worker import apply_outbox, reindex, search_index
    from archive_service.migrate import upgrade
    from archive_service.preservation.backup import restore as run
    from archive_service.preservation.service import object_store

    engine = get_engine()
    upgrade(engine)
    try:
        report = run(engine, object_store(), folder)
    except ArchiveError as e:
        _fail(e)
    indexed = reindex(engine, search_index())
    apply_outbox(engine, search_index(), wait=True)
    typer.echo(f"restored {sum(report.tables.values())} rows, {report.objects} objects "
               f"({report.objects_verified} verified), access log {report.log_entries} entries; "
               f"search index rebuilt ({indexed} dossiers)")  # fmt: skip
    for problem in report.problems:
        typer.secho(f"PROBLEM {problem}", fg=typer.colors.RED, err=True)
    if not report.ok:
        raise typer.Exit(1)


transfers_app = typer.Typer(help="Transfer batches", no_args_is_help=True)
app.add_typer(transfers_app, name="transfers")


@transfers_app.command("verify-receipt")
def transfers_verify_receipt(receipt: Path) -> None:
    """Recompute a receipt's manifest hash (and compare it with this installation's records of the batch)."""
    from archive_service.db import get_sessionmaker
    from archive_service.transfers.service import verify_receipt

    try:
        data = receipt.read_bytes()
    except OSError as e:
        _fail(e)
    with get_sessionmaker()() as session:
        check = verify_receipt(session, data)
    typer.echo(f"批次 / batch: {check.number}")
    typer.echo(f"交接书所载摘要 / printed:  {check.printed}")
    typer.echo(f"附件清单摘要 / computed: {check.computed}")
    for problem in check.problems:
        typer.secho(f"✗ {problem}", fg=typer.colors.RED)
    if not check.ok:
        raise typer.Exit(1)
    typer.secho("✓ 交接书与清单一致 / receipt verified", fg=typer.colors.GREEN)


if __name__ == "__main__":
    app()
