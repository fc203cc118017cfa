"""Jobs in the database: queued by the API, claimed once, progress and outcome on record, retried with
back-off, failed with a reason, and no object left behind that the catalogue does not record."""

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from archive_service import adapters, db
from archive_service.config import get_settings
from archive_service.db import as_utc, utcnow
from archive_service.dossiers.models import DigitalObject, DigitisationState, Dossier
from archive_service.jobs import kinds, queue, runner
from archive_service.jobs.kinds import HANDLERS
from archive_service.jobs.models import Job, JobKind, JobState
from tests.archive_service.conftest import blank_scans, one_sheet_per_entry


def _store():
    return adapters.open_store(get_settings())


def _first_dossier(session, username: str = "archivist") -> Dossier:
    from archive_service.auth.models import User

    actor = session.scalar(select(User).where(User.username == username))
    return session.scalars(
        select(Dossier).where(Dossier.custodian_id == actor.organisation_id).order_by(Dossier.id)
    ).first()


def _upload(client, headers, dossier_id: int, scans):
    files = [("scans", (p.name, p.read_bytes(), "image/tiff")) for p in scans]
    return client.post(f"/api/dossiers/{dossier_id}/digitisation", files=files, headers=headers)


def _job(job_id: int) -> Job:
    with db.get_sessionmaker()() as session:
        return session.get(Job, job_id)


def _orphans() -> set[str]:
    """Stored objects the catalogue does not record (and no unfinished job is holding)."""
    with db.get_sessionmaker()() as session:
        recorded = set(session.scalars(select(DigitalObject.storage_key)))
        held = {
            k
            for keys in session.scalars(
                select(Job.staged_keys).where(Job.state.in_([JobState.queued, JobState.running]))
            )
            for k in keys or []
        }
    return set(_store().keys()) - recorded - held


def test_digitisation_job_runs_to_the_end_with_progress_and_no_orphan(client, login):
    archivist = login("archivist")
    with db.get_sessionmaker()() as session:
        dossier = _first_dossier(session)
        pages = one_sheet_per_entry(session, dossier)
    r = _upload(client, archivist, dossier.id, blank_scans(pages))
    assert r.status_code == 202, r.text
    job = r.json()
    assert job["state"] == "queued" and job["total"] == pages and job["done"] == 0 and job["kind"] == "digitise"
    assert len(list(_store().keys())) == 1  # the scans (identical blank sheets: one object) are staged

    outcome = runner.run_next(db.get_engine(), _store(), "test-worker", HANDLERS)
    assert outcome is not None and outcome.state is JobState.done
    assert runner.run_next(db.get_engine(), _store(), "test-worker", HANDLERS) is None  # nothing else to do

    shown = client.get(f"/api/jobs/{job['id']}", headers=archivist).json()
    assert shown["state"] == "done" and shown["done"] == pages and shown["attempts"] == 1
    assert shown["result"]["pages"] == pages and shown["finished_at"]
    with db.get_sessionmaker()() as session:
        d = session.get(Dossier, dossier.id)
        assert d.digitisation is DigitisationState.done
        roles = sorted(o.role for o in session.scalars(select(DigitalObject).where(DigitalObject.dossier_id == d.id)))
        assert roles.count("use_copy") == 1 and roles.count("sidecar") == 1 and roles.count("master_image") == pages
    assert _orphans() == set() and _job(job["id"]).staged_keys is None

    page = client.get(f"/jobs/{job['id']}", headers=archivist)
    assert page.status_code == 200 and "已完成" in page.text and f"{pages} / {pages}" in page.text
    listing = client.get("/jobs", headers=archivist)
    assert f'href="/jobs/{job["id"]}"' in listing.text
    dossier_page = client.get(f"/dossiers/{dossier.id}", headers=archivist)
    assert 'id="digitise-form"' in dossier_page.text


def test_bad_scans_are_refused_by_field_and_nothing_is_stored_or_queued(client, login, tmp_path):
    archivist = login("archivist")
    with db.get_sessionmaker()() as session:
        dossier = _first_dossier(session)
    fake = tmp_path / "scan.tif"
    fake.write_text("这不是图像")
    r = _upload(client, archivist, dossier.id, [fake])
    assert r.status_code == 422 and r.json()["field"] == "scans" and "scan.tif" in r.json()["message"]
    none = client.post(f"/api/dossiers/{dossier.id}/digitisation", headers=archivist, data={"languages": "chi_sim"})
    assert none.status_code == 422 and none.json()["field"] == "scans"
    assert list(_store().keys()) == []
    with db.get_sessionmaker()() as session:
        assert session.scalars(select(Job)).all() == []
    assert _upload(client, login("sibao"), dossier.id, blank_scans(2)).status_code in (403, 404)
    assert client.get("/api/jobs", headers=login("sibao")).status_code == 403


def test_qc_failure_ends_the_job_failed_with_the_reason_and_removes_the_staged_scans(client, login):
    archivist = login("archivist")
    with db.get_sessionmaker()() as session:
        dossier = _first_dossier(session)
        pages = one_sheet_per_entry(session, dossier)
    job = _upload(client, archivist, dossier.id, blank_scans(pages - 1)).json()
    outcome = runner.run_next(db.get_engine(), _store(), "test-worker", HANDLERS)
    assert outcome.state is JobState.failed
    failed = _job(job["id"])
    assert failed.attempts == 1  # not retried: scanning again is the remedy
    assert failed.error.startswith("质检未通过") and "page_count.mismatch" in failed.result["report"]
    assert list(_store().keys()) == []
    page = client.get(f"/jobs/{job['id']}", headers=archivist).text
    assert "失败原因" in page and "质检未通过" in page


def test_transient_failures_retry_with_doubling_back_off_then_fail_visibly(demo, monkeypatch):
    monkeypatch.setenv("ARCHIVE_JOB_RETRY_SECONDS", "30")
    monkeypatch.setenv("ARCHIVE_JOB_MAX_ATTEMPTS", "3")
    get_settings.cache_clear()
    calls = []

    def flaky(context):
        calls.append(context.attempt)
        raise OSError("second store unreachable")

    monkeypatch.setitem(kinds.HANDLERS, JobKind.fixity, flaky)
    with db.get_sessionmaker()() as session, session.begin():
        job_id = queue.enqueue(session, JobKind.fixity, {}).id
    engine, store = db.get_engine(), _store()
    delays = []
    for _ in range(2):
        started = utcnow()
        outcome = runner.run_next(engine, store, "w", HANDLERS)
        assert outcome.state is JobState.queued
        job = _job(job_id)
        assert job.error == "处理出错（OSError），详情已记入服务器日志"  # the library's words go to the log
        delays.append((as_utc(job.run_after) - started).total_seconds())
        assert runner.run_next(engine, store, "w", HANDLERS) is None  # not due before its back-off
        with db.get_sessionmaker()() as session, session.begin():
            session.execute(update(Job).where(Job.id == job_id).values(run_after=utcnow()))
    assert 30 <= delays[0] < 32 and 60 <= delays[1] < 62
    assert runner.run_next(engine, store, "w", HANDLERS).state is JobState.failed
    job = _job(job_id)
    assert calls == [1, 2, 3] and job.state is JobState.failed and job.finished_at
    assert job.error.startswith("重试 3 次后仍失败") and "OSError" in job.error and "unreachable" not in job.error


def test_a_dead_workers_job_is_taken_over_once_its_lease_runs_out(demo):
    engine = db.get_engine()
    with db.get_sessionmaker()() as session, session.begin():
        job_id = queue.enqueue(session, JobKind.fixity, {}).id
    assert runner.claim(engine, "worker-a") == job_id
    assert runner.claim(engine, "worker-b") is None  # held under a live lease
    with db.get_sessionmaker()() as session, session.begin():
        session.execute(update(Job).where(Job.id == job_id).values(lease_until=utcnow() - timedelta(seconds=1)))
    assert runner.claim(engine, "worker-b") == job_id
    job = _job(job_id)
    assert job.worker == "worker-b" and job.attempts == 2 and job.state is JobState.running
    # worker-a wakes up and tries to finish: refused, so its work cannot be recorded twice
    context = runner.JobContext(engine, _store(), get_settings(), job_id, JobKind.fixity, {}, 1, "worker-a")
    with pytest.raises(runner.LeaseLost), db.get_sessionmaker()() as session, session.begin():
        context.finish(session, {})
    assert runner.run(engine, _store(), job_id, "worker-b", HANDLERS).state is JobState.done


def test_a_job_whose_worker_keeps_dying_is_stopped(demo, monkeypatch):
    monkeypatch.setenv("ARCHIVE_JOB_MAX_ATTEMPTS", "2")
    get_settings.cache_clear()
    engine = db.get_engine()
    with db.get_sessionmaker()() as session, session.begin():
        job_id = queue.enqueue(session, JobKind.fixity, {}).id
    for worker in ("a", "b"):  # each claims it and "dies" (the lease simply runs out)
        assert runner.claim(engine, worker) == job_id
        with db.get_sessionmaker()() as session, session.begin():
            session.execute(update(Job).where(Job.id == job_id).values(lease_until=utcnow() - timedelta(seconds=1)))
    assert runner.run_next(engine, _store(), "c", HANDLERS).state is JobState.failed
    assert "中断 2 次" in _job(job_id).error


def test_maintenance_jobs_are_for_administrators_and_run(client, login):
    admin, archivist = login("admin"), login("archivist")
    assert client.post("/api/jobs", json={"kind": "fixity"}, headers=archivist).status_code == 403
    bad = client.post("/api/jobs", json={"kind": "replicate"}, headers=admin)
    assert bad.status_code == 422 and bad.json()["field"] == "to"
    # Not any directory of the server a request names: only the configured targets (issue 22, low).
    anywhere = client.post("/api/jobs", json={"kind": "replicate", "to": "local:/tmp/elsewhere"}, headers=admin)
    assert anywhere.status_code == 422 and anywhere.json()["code"] == "to.not_configured", anywhere.text
    r = client.post("/api/jobs", json={"kind": "fixity", "sample": 5}, headers=admin)
    assert r.status_code == 202 and r.json()["state"] == "queued"
    assert runner.run_next(db.get_engine(), _store(), "w", HANDLERS).state is JobState.done
    assert client.get(f"/api/jobs/{r.json()['id']}", headers=admin).json()["result"]["checked"] == 0
    # another bureau's staff do not see this bureau's jobs
    assert client.get(f"/api/jobs/{r.json()['id']}", headers=login("dongcheng")).status_code == 404
    assert client.get("/api/jobs", headers=login("dongcheng")).json() == []
    with pytest.MonkeyPatch.context() as patch:  # a configured target is accepted
        patch.setenv("ARCHIVE_REPLICA_TARGETS", '["local:/tmp/offsite-copy"]')
        get_settings.cache_clear()
        try:
            to = {"kind": "replicate", "to": "local:/tmp/offsite-copy"}
            assert client.post("/api/jobs", json=to, headers=admin).status_code == 202
        finally:
            get_settings.cache_clear()


def test_a_queued_job_is_cancelled_from_its_page_and_never_runs(client, login):
    """Issue 40 High 6: a job could not be stopped — marking it failed by hand was ignored, a restart resumed it.
    The archivist cancels it on its page; no worker takes it, its staged scans are swept like a failed job's."""
    from tests.conftest import cookie_login

    archivist = login("archivist")
    with db.get_sessionmaker()() as session:
        dossier = _first_dossier(session)
    job = _upload(client, archivist, dossier.id, blank_scans(3)).json()
    cookie_login(client, "archivist")
    page = client.get(f"/jobs/{job['id']}")
    assert 'id="cancel-job"' in page.text
    r = client.post(f"/jobs/{job['id']}/cancel", follow_redirects=True)
    assert r.status_code == 200 and "失败原因：已由" in r.text and "取消" in r.text and 'id="cancel-job"' not in r.text
    cancelled = _job(job["id"])
    assert cancelled.state is JobState.failed and cancelled.finished_at is not None
    assert runner.run_next(db.get_engine(), _store(), "test-worker", HANDLERS) is None
    runner.sweep_finished(db.get_engine(), _store())
    assert list(_store().keys()) == []
    again = client.post(f"/api/jobs/{job['id']}/cancel", headers=archivist)
    assert again.status_code == 409 and again.json()["code"] == "job.finished"
    assert client.post(f"/api/jobs/{job['id']}/cancel", headers=login("dongcheng")).status_code == 404


def test_a_running_job_stops_at_its_next_page_once_cancelled(demo, monkeypatch):
    """The worker of a running job notices the cancellation at its next heartbeat and stops at its next page
    report: no page after that is worked on, nothing is finished."""
    import threading
    import time

    from archive_service.auth.models import User

    monkeypatch.setenv("ARCHIVE_JOB_LEASE_SECONDS", "1.5")  # a heartbeat every half second
    get_settings.cache_clear()
    engine = db.get_engine()
    with db.get_sessionmaker()() as session, session.begin():
        archivist = session.scalar(select(User).where(User.username == "archivist"))
        job_id = queue.enqueue(session, JobKind.fixity, {}, actor=archivist).id
    pages_done, started = [], threading.Event()

    def slow_pages(context):  # a long run, page after page
        started.set()
        for n in range(600):
            time.sleep(0.1)
            context.progress(1, 600)
            pages_done.append(n)
        return {}

    outcome = []
    worker = threading.Thread(
        target=lambda: outcome.append(runner.run_next(engine, _store(), "w", {JobKind.fixity: slow_pages}))
    )
    worker.start()
    assert started.wait(30)
    with db.get_sessionmaker()() as session, session.begin():
        queue.cancel_job(session, session.get(User, archivist.id), job_id)
    worker.join(timeout=30)
    assert not worker.is_alive() and outcome == [runner.RunOutcome(job_id, None)]
    assert len(pages_done) < 600
    job = _job(job_id)
    assert job.state is JobState.failed and job.error.startswith("已由") and job.done < 600


def test_bureaus_take_turns_so_one_bureaus_backlog_does_not_hold_up_anothers_file(demo):
    """Issue 40, High 6: 西城 queues four jobs, then 东城 one. 东城's starts second, not fifth — the one worker
    takes the bureaus in turn — and a second worker free while 西城's first job runs takes 东城's at once."""
    from archive_service.auth.models import User

    engine = db.get_engine()
    with db.get_sessionmaker()() as session, session.begin():
        xicheng, dongcheng = (
            session.scalar(select(User).where(User.username == n)) for n in ("archivist", "dongcheng")
        )
        for n in range(1, 5):
            queue.enqueue(session, JobKind.fixity, {"who": f"西城{n}"}, actor=xicheng)
        queue.enqueue(session, JobKind.fixity, {"who": "东城1"}, actor=dongcheng)
    ran: list[str] = []

    def note(context):
        ran.append(context.params["who"])
        return {}

    while runner.run_next(engine, _store(), "one-worker", {JobKind.fixity: note}) is not None:
        pass
    assert ran == ["西城1", "东城1", "西城2", "西城3", "西城4"]

    # Two workers: while 西城's job runs, the free one takes 东城's, queued after 西城's backlog.
    with db.get_sessionmaker()() as session, session.begin():
        for n in range(5, 8):
            queue.enqueue(session, JobKind.fixity, {"who": f"西城{n}"}, actor=session.get(User, xicheng.id))
    assert _job(runner.claim(engine, "worker-a")).params["who"] == "西城5"
    with db.get_sessionmaker()() as session, session.begin():
        later = queue.enqueue(session, JobKind.fixity, {"who": "东城2"}, actor=session.get(User, dongcheng.id)).id
    assert runner.claim(engine, "worker-b") == later


def test_a_digitisation_given_up_leaves_nothing_in_the_work_folder(client, login, monkeypatch):
    """Issue 40 (Low): a job that failed for good left its scans (and finished pages) in the work folder. The
    copy cannot be written (the disk refuses it, on each attempt): the first attempt keeps its work for the
    retry; the last gives up, removes it, and the job page says why."""
    monkeypatch.setenv("ARCHIVE_JOB_MAX_ATTEMPTS", "2")
    get_settings.cache_clear()

    def disk_refuses(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("digitise.pipeline.write_pdf", disk_refuses)
    archivist = login("archivist")
    with db.get_sessionmaker()() as session:
        dossier = _first_dossier(session)
        pages = one_sheet_per_entry(session, dossier)
    job = _upload(client, archivist, dossier.id, blank_scans(pages)).json()
    work = get_settings().digitise_work_dir
    engine = db.get_engine()
    assert runner.run_next(engine, _store(), "w", HANDLERS).state is JobState.queued
    kept = sorted(p.name for p in work.iterdir())
    assert f"job-{job['id']}" in kept and f"digitise-{dossier.archival_code}.work" in kept, kept
    assert len(list((work / f"digitise-{dossier.archival_code}.work").iterdir())) >= pages  # pages for the retry
    with db.get_sessionmaker()() as session, session.begin():
        session.execute(update(Job).where(Job.id == job["id"]).values(run_after=utcnow()))
    assert runner.run_next(engine, _store(), "w", HANDLERS).state is JobState.failed
    assert [p for p in work.rglob("*") if p.is_file()] == []
    assert list(_store().keys()) == []  # the staged scans went too
    page = client.get(f"/jobs/{job['id']}", headers=archivist).text
    assert "失败原因" in page and "重试 2 次后仍失败" in page and "OSError" in page
