"""What each kind of job does: a thin step around the domain service that already does the work.

Every handler may be run again after a crash: digitisation resumes from the pages its work
directory holds and ends the job in the transaction that records the copy; fixity resumes its
unfinished run; replication copies only what the target lacks; a reindex starts over.
"""

import logging
import multiprocessing
import shutil
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from archive_service.auth.models import User
from archive_service.config import job_folder
from archive_service.dossiers.models import DigitalObject, Dossier
from archive_service.errors import ArchiveError
from archive_service.jobs.models import Job, JobKind
from archive_service.jobs.runner import Handlers, JobContext, PermanentFailure
from digitise.findings import errors
from digitise.sources import sha256_of_file
from storage import key_for

log = logging.getLogger("archive.jobs")


def digitise(context: JobContext) -> dict[str, Any] | None:
    from archive_service.digitisation.service import digitise_dossier

    params = context.params
    work_root = context.settings.digitise_work_dir
    inbox = job_folder(context.settings, context.job_id)
    inbox.mkdir(parents=True, exist_ok=True)
    scans = []
    for scan in params["scans"]:  # fetched once per host; a resumed attempt finds them in place
        path = inbox / scan["name"]
        if not path.exists() or sha256_of_file(path) != scan["sha256"]:
            partial = path.with_suffix(path.suffix + ".part")
            with partial.open("wb") as out:
                for chunk in context.store.open(scan["key"]):
                    out.write(chunk)
            partial.replace(path)
        scans.append(path)
    with Session(context.engine, expire_on_commit=False) as session:
        actor, dossier = session.get(User, params["actor_id"]), session.get(Dossier, params["dossier_id"])
        if actor is None or dossier is None:
            raise PermanentFailure("档案或提交人已不存在")
        outcome = digitise_dossier(
            session,
            context.store,
            actor,
            dossier,
            scans,
            # A Celery prefork child is daemonic and may not start a process pool: there each worker
            # process is one OCR lane (run `archive worker --processes <cores>`).
            jobs=params.get("jobs") or (1 if multiprocessing.current_process().daemon else None),
            languages=params.get("languages", "chi_sim+eng"),
            progress=context.progress,
            work_root=work_root,
            before_storing=lambda files: context.stage(key_for(sha256_of_file(f)) for f in files),
        )
        if outcome.ok:
            assert outcome.use_copy is not None
            result = {"pages": len(outcome.result.pages), "use_copy": outcome.use_copy.name, "report": outcome.report}
            context.finish(session, result)
        else:
            failed = "；".join(  # each problem with the file it is in, by the name the clerk gave it
                f.message + (f"（{f.source.split('-', 1)[-1]}）" if f.source else "")
                for f in errors(outcome.result.findings)
            )[:1000]
            context.finish(session, {"report": outcome.report}, failed=f"质检未通过，未入库：{failed}")
        session.commit()
    shutil.rmtree(inbox, ignore_errors=True)
    return None


def fixity(context: JobContext) -> dict[str, Any]:
    from archive_service.preservation.service import check_fixity, count_recorded_objects

    sessions = sessionmaker(context.engine)
    sample = context.params.get("sample")
    with sessions() as session:
        total = count_recorded_objects(session)
    context.progress(0, min(total, sample or total))
    report = check_fixity(
        sessions,
        context.store,
        sample=sample,
        resume=context.attempt > 1,  # an interrupted attempt's checks are kept; go on after them
        max_mb_per_s=context.params.get("max_mbps"),
        progress=lambda _bytes, objects: context.progress(objects),
    )
    return {"run_id": report.run_id, "checked": report.checked, "failures": [list(f) for f in report.failures]}


def replicate(context: JobContext) -> dict[str, Any]:
    from archive_service.adapters import open_store
    from archive_service.preservation.service import replicate as copy_all

    target = open_store(context.settings, context.params["to"])
    with Session(context.engine) as session:
        total = session.scalar(select(func.count(func.distinct(DigitalObject.storage_key)))) or 0
        context.progress(0, total)
        report = copy_all(session, context.store, target, progress=lambda _bytes, objects: context.progress(objects))
    if report.failed:  # a second store that is unreachable now may be back at the next attempt
        shown = "; ".join(f"{key}: {why}" for key, why in report.failed[:5])
        raise ArchiveError("replication.incomplete", f"{len(report.failed)} 个对象未能复制：{shown}", "to", 503)
    return {"target": target.description, "copied": report.copied, "already_there": report.already_there}


def search_reindex(context: JobContext) -> dict[str, Any]:
    from archive_service.adapters import search_index
    from archive_service.finding.worker import apply_outbox, reindex

    index = search_index()
    count = reindex(
        context.engine, index, progress=lambda done, total: context.progress(done - context.units_done, total)
    )
    caught_up = apply_outbox(context.engine, index, wait=True)
    return {"indexed": count, "applied_after": caught_up}


def holdings_check(context: JobContext) -> dict[str, Any] | None:
    """An old ledger's dry run (holdings/checking.py): problems recorded, nothing of the ledger saved."""
    from archive_service.holdings.checking import check_import

    with Session(context.engine, expire_on_commit=False) as session:
        summary = _holdings_step(
            context, session, lambda progress: check_import(session, context.params["import_id"], progress)
        )
        context.finish(session, {"summary": summary})
        session.commit()
    return None


def holdings_save(context: JobContext) -> dict[str, Any] | None:
    """An old ledger checked again and saved in one transaction; then the search index is brought up to
    date at once, so every file imported is found as soon as the job says it is done."""
    from archive_service.adapters import search_index
    from archive_service.finding.worker import apply_outbox
    from archive_service.holdings.saving import save_import

    params = context.params
    single_writer = context.engine.dialect.name == "sqlite"
    with Session(context.engine, expire_on_commit=False) as session:
        actor = session.get(User, params["actor_id"])
        if actor is None:
            raise PermanentFailure("提交人已不存在")

        def save(progress: Any) -> dict[str, Any]:
            # SQLite has one writer, this save's transaction once it writes (the second half of the rows):
            # progress written from another connection would wait for it to commit, so then none is written.
            shown = (
                (lambda done, total: progress(done, total) if done <= total // 2 else None)
                if single_writer
                else progress
            )
            return save_import(session, actor, params["import_id"], good_rows_only=params["good_rows_only"],
                               progress=shown)  # fmt: skip

        summary = _holdings_step(context, session, save)
        context.finish(session, {"summary": summary})
        session.commit()
    _index_at_once(context.engine, params["import_id"], lambda: apply_outbox(context.engine, search_index(),
                                                                             wait=True, batch=2000))  # fmt: skip
    return None


def _index_at_once(engine: Any, import_id: int, apply: Any) -> None:
    """The files just saved into the search index now (not at the next turn of the server's applier), and the
    import says so: its page shows 已导入 once search finds them all."""
    from archive_service.holdings.models import HoldingsImport

    try:
        applied, indexed = apply(), True
    except Exception:  # the rows stay queued: the server's own applier writes them shortly
        log.exception("存量档案导入后写入检索索引失败（将由检索队列补写）")
        applied, indexed = 0, False
    with Session(engine) as session, session.begin():
        imported = session.get(HoldingsImport, import_id)
        if imported is not None:
            imported.summary = {**(imported.summary or {}), "indexed": indexed, "indexed_now": applied}


def _holdings_step(context: JobContext, session: Session, step: Any) -> dict[str, Any]:
    """Run a holdings step with the job's progress; a refusal (a mapping incomplete, an enterprise taken
    meanwhile) puts the import back where the person can mend it and fails the job with the reason."""
    from archive_service.holdings.models import HoldingsImport, ImportState

    try:
        return step(lambda done, total: context.progress(done - context.units_done, total))
    except ArchiveError as e:
        session.rollback()
        imported = session.get(HoldingsImport, context.params["import_id"])
        if imported is not None:
            imported.state = ImportState.uploaded
            imported.summary = {**(imported.summary or {}), "error": e.message}
            session.commit()
        raise PermanentFailure(e.message) from None


def demo_scans(context: JobContext) -> dict[str, Any]:
    """`archive demo --with-scans --in-background`: the site is up while the demo's pages are drawn here and
    each file's scans go on as a digitisation job of its own (the 后台任务 page shows them all). Each step
    commits (demo.DemoScans), and a new attempt skips the steps done."""
    from archive_service.demo import DemoScans, digitise_demo_dossier, digitised_demo_batch

    work_root = context.settings.digitise_work_dir
    work_root.mkdir(parents=True, exist_ok=True)
    with Session(context.engine, expire_on_commit=False) as session:
        scans = DemoScans(context.store, work_root, in_background=True)
        scans.progress = lambda: context.progress(1, DemoScans.FILES)
        code = digitise_demo_dossier(session, scans)
        number = digitised_demo_batch(session, scans)
        session.commit()
        pages = session.scalar(select(func.sum(Job.total)).where(Job.id.in_(scans.jobs))) or 0
    return {"jobs": scans.jobs, "pages": pages, "dossier": code, "batch": number}


HANDLERS: Handlers = {
    JobKind.demo_scans: demo_scans,
    JobKind.digitise: digitise,
    JobKind.fixity: fixity,
    JobKind.replicate: replicate,
    JobKind.search_reindex: search_reindex,
    JobKind.holdings_check: holdings_check,
    JobKind.holdings_save: holdings_save,
}
