"""Real worker processes: `archive worker` (local, and Celery on the machine's Redis and RabbitMQ)
digitising a dossier, killed with SIGKILL half-way and started again: the job completes, every page
is there exactly once, and no stored object is left that the catalogue does not record."""

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from archive_service import adapters, db
from archive_service.config import get_settings
from archive_service.dossiers.models import DigitalObject, Dossier, PageText
from archive_service.jobs.models import Job, JobState
from digitise.specimen import draw_page, person, save_scan
from tests.archive_service.test_jobs import _first_dossier, _orphans, _upload

BROKERS = {"redis": "redis://127.0.0.1:6379/11", "rabbitmq": "amqp://guest:guest@127.0.0.1:5672//"}


def _scans(folder: Path, pages: int, printed: int) -> list[Path]:
    """`printed` pages of text first (OCR takes seconds each), then blank sheets."""
    rng = random.Random(9)
    who = person(rng)
    blank = save_scan(draw_page(rng, who, blank=True, dpi=200, noise=0), folder / "blank.tif").read_bytes()
    scans = []
    for n in range(pages):
        path = folder / f"p{n + 1:03d}.tif"
        if n < printed:
            save_scan(draw_page(rng, who, lines=8), path)
        else:
            path.write_bytes(blank)
        scans.append(path)
    return scans


def _shortened(dossier_id: int, pages: int = 6) -> int:
    """Cut the dossier's catalogue to its first entries, at least `pages` pages (the first demo file's first two:
    4 + 2). A kill and a resumption need a file a little longer than its printed pages, not the demo's 28–37:
    every page past them was still uploaded, run, stored and recorded (~0.25 s of CPU each). The catalogue's
    pages and the scans uploaded still agree."""
    with db.get_sessionmaker()() as session, session.begin():
        dossier = session.get(Dossier, dossier_id)
        kept = 0
        for material in list(dossier.materials):
            if kept >= pages:
                session.delete(material)
            else:
                kept += material.pages
    return kept


def _start_worker(log: Path, broker: str = "") -> subprocess.Popen:
    env = {
        **os.environ,
        "ARCHIVE_BROKER_URL": broker,
        "ARCHIVE_JOB_LEASE_SECONDS": "3",
        "ARCHIVE_JOB_POLL_SECONDS": "0.5",
    }
    return subprocess.Popen(
        [sys.executable, "-c", "from archive_service.cli import app; app()", "worker"],
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: SIGKILL reaches the OCR children too
    )


def _kill(worker: subprocess.Popen) -> None:
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(timeout=30)


def _wait(job_id: int, until, timeout: float, log: Path) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with db.get_sessionmaker()() as session:
            job = session.get(Job, job_id)
            if until(job):
                return job
        time.sleep(0.3)
    pytest.fail(f"job {job_id} did not get there in {timeout} s: {job.state} {job.done}/{job.total} {job.error}\n"
                + log.read_text()[-3000:])  # fmt: skip


def _check_complete(dossier_id: int, pages: int) -> None:
    with db.get_sessionmaker()() as session:
        dossier = session.get(Dossier, dossier_id)
        objects = session.scalars(select(DigitalObject).where(DigitalObject.dossier_id == dossier_id)).all()
        assert sorted(o.role for o in objects).count("use_copy") == 1  # made once, not once per attempt
        masters = [o for o in objects if o.role == "master_image"]
        assert len({o.name for o in masters}) == len(masters) and sum(o.pages for o in masters) == pages
        use_copy = next(o for o in objects if o.role == "use_copy")
        assert use_copy.pages == pages and len(use_copy.page_confidence) == pages
        texts = session.scalars(select(PageText.page).where(PageText.dossier_id == dossier_id)).all()
        assert sorted(texts) == list(range(1, pages + 1))  # no page missing or twice
        assert dossier.materials[-1].last_page == pages
    store = adapters.open_store(get_settings())
    for obj in objects:
        assert store.verify(obj.storage_key, obj.sha256).ok
    assert _orphans() == set()


def _kill_mid_dossier_and_resume(client, login, tmp_path, broker: str = "") -> None:
    with db.get_sessionmaker()() as session:
        dossier = _first_dossier(session)
    pages = _shortened(dossier.id)
    job_id = _upload(client, login("archivist"), dossier.id, _scans(tmp_path, pages, printed=4)).json()["id"]
    log = tmp_path / "worker.log"
    first = _start_worker(log, broker)
    try:
        _wait(job_id, lambda j: j.state is JobState.running and 1 <= j.done < 4, 120, log)
    finally:
        _kill(first)
    with db.get_sessionmaker()() as session:
        assert session.get(Job, job_id).state is JobState.running  # as the dead worker left it
        assert session.scalar(select(func.count()).where(DigitalObject.dossier_id == dossier.id)) == 0
    second = _start_worker(log, broker)
    try:
        job = _wait(job_id, lambda j: j.state in (JobState.done, JobState.failed), 240, log)
    finally:
        _kill(second)
    assert job.state is JobState.done, job.error
    assert job.attempts == 2 and job.done == pages and job.result["pages"] == pages
    _check_complete(dossier.id, pages)


def test_local_worker_killed_mid_dossier_resumes_after_restart(client, login, tmp_path):
    _kill_mid_dossier_and_resume(client, login, tmp_path)


def _purge(broker: str) -> None:
    from archive_service.adapters import open_broker

    open_broker(broker).control.purge()  # doorbells an earlier run left behind


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)  # a scaled installation runs PostgreSQL
def test_celery_worker_on_rabbitmq_killed_mid_dossier_resumes(client, login, tmp_path, monkeypatch):
    monkeypatch.setenv("ARCHIVE_BROKER_URL", BROKERS["rabbitmq"])
    get_settings.cache_clear()
    _purge(BROKERS["rabbitmq"])
    _kill_mid_dossier_and_resume(client, login, tmp_path, BROKERS["rabbitmq"])


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_celery_workers_on_redis_share_the_jobs(client, login, tmp_path, monkeypatch):
    monkeypatch.setenv("ARCHIVE_BROKER_URL", BROKERS["redis"])
    get_settings.cache_clear()
    _purge(BROKERS["redis"])
    archivist = login("archivist")
    with db.get_sessionmaker()() as session:
        from archive_service.auth.models import User

        actor = session.scalar(select(User).where(User.username == "archivist"))
        dossiers = session.scalars(
            select(Dossier).where(Dossier.custodian_id == actor.organisation_id).order_by(Dossier.id).limit(3)
        ).all()
    wanted = {d.id: _shortened(d.id) for d in dossiers}
    job_ids = [
        _upload(client, archivist, dossier_id, _scans(tmp_path, pages, printed=0)).json()["id"]
        for dossier_id, pages in wanted.items()
    ]
    log = tmp_path / "worker.log"
    workers = [_start_worker(log, BROKERS["redis"]) for _ in range(2)]
    try:
        for job_id in job_ids:
            job = _wait(job_id, lambda j: j.state in (JobState.done, JobState.failed), 240, log)
            assert job.state is JobState.done, job.error
    finally:
        for worker in workers:
            _kill(worker)
    with db.get_sessionmaker()() as session:
        ran_by = {session.get(Job, j).worker for j in job_ids}
    assert all(name and ":" in name for name in ran_by)
    for dossier_id, pages in wanted.items():
        _check_complete(dossier_id, pages)


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_under_celery_the_bureaus_take_turns_so_one_bureaus_backlog_does_not_hold_up_anothers_job(
    demo, tmp_path, monkeypatch
):
    """Issue 40, High 6, under Celery: each doorbell ran the job it named, in the broker's order, so a bureau's
    backlog queued first held up every other bureau's job (the local queue's turns did not apply). 西城 queues four
    jobs, then 东城 one, all rung before the Celery worker (one process) starts: 东城's runs second, not fifth,
    and every job is done — no doorbell is lost when one runs another bureau's job."""
    from archive_service.auth.models import User
    from archive_service.jobs import queue
    from archive_service.jobs.models import JobKind

    monkeypatch.setenv("ARCHIVE_BROKER_URL", BROKERS["redis"])
    get_settings.cache_clear()
    _purge(BROKERS["redis"])
    with db.get_sessionmaker()() as session, session.begin():
        xicheng, dongcheng = (
            session.scalar(select(User).where(User.username == n)) for n in ("archivist", "dongcheng")
        )
        jobs = [
            queue.enqueue(session, JobKind.fixity, {"sample": 1, "who": f"西城{n}"}, actor=xicheng) for n in range(1, 5)
        ]
        jobs.append(queue.enqueue(session, JobKind.fixity, {"sample": 1, "who": "东城1"}, actor=dongcheng))
        session.flush()
        job_ids = [j.id for j in jobs]
    log = tmp_path / "worker.log"
    worker = _start_worker(log, BROKERS["redis"])
    try:
        for job_id in job_ids:
            job = _wait(job_id, lambda j: j.state in (JobState.done, JobState.failed), 120, log)
            assert job.state is JobState.done, job.error
    finally:
        _kill(worker)
    with db.get_sessionmaker()() as session:
        ran = session.scalars(select(Job).where(Job.id.in_(job_ids)).order_by(Job.started_at)).all()
        assert len({j.worker for j in ran}) == 1  # one worker process took them one after another
        assert [j.params["who"] for j in ran] == ["西城1", "东城1", "西城2", "西城3", "西城4"]


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)  # the worker's processes, whatever the database
def test_a_local_worker_stopped_mid_dossier_goes_at_once_and_its_job_resumes(client, login, tmp_path):
    """SIGTERM (a restart, `systemctl stop`) to a worker in the middle of a file: it stopped only after every page
    left (over 90 s); now its page processes go with it at once, and the job's lease lets another worker resume."""
    with db.get_sessionmaker()() as session:
        dossier = _first_dossier(session)
    pages = _shortened(dossier.id)
    job_id = _upload(client, login("archivist"), dossier.id, _scans(tmp_path, pages, printed=4)).json()["id"]
    log = tmp_path / "worker.log"
    first = _start_worker(log)
    try:
        _wait(job_id, lambda j: j.state is JobState.running and 1 <= j.done < 4, 120, log)
        pool = _descendants(first.pid)
        assert pool, "the worker runs its pages in processes of its own"
        first.send_signal(signal.SIGTERM)
        first.wait(timeout=60)  # it went through the pages in hand first: over 90 s (issue 40), over 20 s loaded
        time.sleep(0.5)
        assert not [p for p in pool if _alive(p)], "no page process outlives its worker"
    finally:
        if first.poll() is None:
            _kill(first)
    second = _start_worker(log)
    try:
        job = _wait(job_id, lambda j: j.state in (JobState.done, JobState.failed), 300, log)
    finally:
        _kill(second)
    assert job.state is JobState.done, job.error
    _check_complete(dossier.id, pages)


def _descendants(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return [int(p) for p in found] + [d for p in found for d in _descendants(int(p))]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"  # a zombie has ended; only its parent's wait is missing


def _job_workers(server_pid: int) -> list[int]:
    """The server's local job workers: its descendants that `multiprocessing` spawned (not its resource tracker)."""
    workers = []
    for pid in _descendants(server_pid):
        try:
            if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes() and _alive(pid):
                workers.append(pid)
        except FileNotFoundError:
            continue
    return workers


def _until(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := condition():
            return found
        time.sleep(0.3)
    pytest.fail(what)


@pytest.mark.served
@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_a_dead_job_worker_is_replaced_and_none_outlives_a_killed_server(client, tmp_path):
    """Issue 40: a worker that died was never replaced (the server ran on and nothing was digitised), and a server
    killed outright left its workers running on, unseen, beside those the next start made."""
    from tests.archive_service.test_server_crash import _serve

    server, _url = _serve(tmp_path / "server.log", workers=1, settings={"ARCHIVE_JOB_WORKERS": "1"})
    try:
        [worker] = _until(lambda: _job_workers(server.pid), 60, "the server started no job worker")
        os.kill(worker, signal.SIGKILL)
        [again] = _until(lambda: [p for p in _job_workers(server.pid) if p != worker], 30, "no worker replaced it")
        assert "已重新启动" in (tmp_path / "server.log").read_text()

        os.kill(server.pid, signal.SIGKILL)  # the server alone, not its process group
        server.wait(timeout=30)
        _until(lambda: not _alive(again), 30, "the job worker outlived its server")
    finally:
        os.killpg(server.pid, signal.SIGKILL)
