"""What each kind of job does: a thin step around the domain service that already does the work.

Every handler may be run again after a crash: digitisation resumes from the pages its work
directory holds and ends the job in the transaction that records the copy; fixity resumes its
unfinished run; replication copies only what the target lacks; a reindex starts over.
"""

import multiprocessing
import shutil
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from archive_service.auth.models import User
from archive_service.dossiers.models import DigitalObject, Dossier
from archive_service.errors import ArchiveError
from archive_service.jobs.models import JobKind
from archive_service.jobs.runner import Handlers, JobContext, PermanentFailure
from digitise.findings import errors
from digitise.sources import sha256_of_file
from storage import key_for


def digitise(context: JobContext) -> dict[str, Any] | None:
    from archive_service.digitisation.service import digitise_dossier

    params = context.params
    work_root = context.settings.digitise_work_dir
    inbox = work_root / f"job-{context.job_id}"
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
    from archive_service.preservation.service import open_store
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
    from archive_service.finding.worker import apply_outbox, reindex, search_index

    index = search_index()
    count = reindex(
        context.engine, index, progress=lambda done, total: context.progress(done - context.units_done, total)
    )
    caught_up = apply_outbox(context.engine, index, wait=True)
    return {"indexed": count, "applied_after": caught_up}


HANDLERS: Handlers = {
    JobKind.digitise: digitise,
    JobKind.fixity: fixity,
    JobKind.replicate: replicate,
    JobKind.search_reindex: search_reindex,
}
