"""Shared fixtures: a fresh database on SQLite and on the machine's PostgreSQL, and an app bound to it."""

import atexit
import fcntl
import functools
import hashlib
import json
import os
import queue
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from archive_service import config, db, protection
from archive_service.auth import passwords
from archive_service.db import make_engine
from archive_service.migrate import upgrade
from archive_service.startup import start
from digitise import ocr

# One data key for the test process (the templates are copied into every test's database): a test's own var
# directory never holds a key file, so the key cannot differ between a template and its copy.
TEST_DATA_KEY = "dGVzdC1kYXRhLWtleS1hcmNoaXZlLWN1c3RvZHktMzI="  # 32 bytes, Base64
os.environ.setdefault("ARCHIVE_DATA_KEY", TEST_DATA_KEY)
start()  # the test process starts as every process does: models known, session hooks installed

# Passwords are hashed with argon2id as in service, at its lightest cost: the library's recommended one
# (64 MiB, three passes, four lanes) took ~0.3 s of CPU a login, ~750 logins a run, all on the same two cores.
# Verifying reads the cost from the stored hash, so the demo templates' users log in at this cost too. (The hasher
# is `passwords._hasher`: set as `auth.service._hasher` since passwords.py was split out, it was a name nothing read,
# and every login of the suite cost 0.38 s of CPU again instead of 0.001 s.)
passwords._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)

PG_ADMIN_URL = os.environ.get("ARCHIVE_TEST_POSTGRES_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")


def _use_database(monkeypatch: pytest.MonkeyPatch, url: str, var_dir: str) -> Engine:
    monkeypatch.setenv("ARCHIVE_DATABASE_URL", url)
    monkeypatch.setenv("ARCHIVE_VAR_DIR", var_dir)
    monkeypatch.setenv("ARCHIVE_SEARCH_SYNC_SECONDS", "0")  # tests apply the search outbox when they mean to
    _clear_caches()
    return db.get_engine()


def _clear_caches() -> None:
    # The adapters (object store, search index) follow the settings by themselves (archive_service/adapters.py).
    for cached in (config.get_settings, db.get_engine, db.get_sessionmaker, protection.keyring):
        cached.cache_clear()


DEMO_RETIREES = 30
# Migrating and loading the demo (password hashing, 30 catalogues) took ~3.5 s a test on
# PostgreSQL; each is done once per run into a template that every test then copies.
_templates: dict[tuple[str, bool], str] = {}
_demo_counts: dict[str, int] = {}


def _build(url: str, with_demo: bool) -> None:
    engine = make_engine(url)
    upgrade(engine)
    if with_demo:
        from sqlalchemy.orm import Session

        from archive_service.demo import load_demo

        with Session(engine) as session, session.begin():
            _demo_counts.update(load_demo(session, retirees=DEMO_RETIREES))
    engine.dispose()


def made_once_per_run(tmp_path_factory: pytest.TempPathFactory, name: str, make: Callable[[Path], None]) -> Path:
    """The folder `name` of this run, filled by `make(folder)` in whichever of the run's workers asks first; the
    others wait for it and then use what it made. For what is costly and the same in every worker (each worker
    made the SQLite templates for itself: ~7 s of CPU a worker). It lives in the run's own temporary folder
    (the workers' common parent), so nothing is kept from one run to the next; a `make` that fails leaves the
    folder to be made again by the next to ask."""
    base = tmp_path_factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    folder = root / name
    with open(root / f"{name}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed, also when this worker dies
        if not (folder / ".made").exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            make(folder)
            (folder / ".made").touch()
    return folder


def _sqlite_template(tmp_path_factory: pytest.TempPathFactory, with_demo: bool) -> str:
    key = ("sqlite", with_demo)
    if key not in _templates:

        def make(folder: Path) -> None:
            _build(f"sqlite:///{folder / 'archive.db'}", with_demo)
            (folder / "demo-counts.json").write_text(json.dumps(_demo_counts if with_demo else {}))

        folder = made_once_per_run(tmp_path_factory, f"template-{'demo' if with_demo else 'empty'}", make)
        _demo_counts.update(json.loads((folder / "demo-counts.json").read_text()))
        _templates[key] = str(folder / "archive.db")
    return _templates[key]


def _pg_template(with_demo: bool) -> str:
    key = ("postgresql", with_demo)
    if key not in _templates:
        name = f"archive_tmpl_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        _build(f"{_pg_base()}/{name}", with_demo)
        _templates[key] = name
    return _templates[key]


def _pg_base() -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")


# Dropping a database waits for PostgreSQL to remove its files (0.3–3 s on a busy machine); the next test
# need not wait for that. One thread per worker drops each finished test's database while tests go on.
_finished_databases: queue.Queue[str | None] = queue.Queue()


def _drop_finished_databases() -> None:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        while (name := _finished_databases.get()) is not None:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


_dropper = threading.Thread(target=_drop_finished_databases, name="drop-test-databases")


def _drop_later(name: str) -> None:
    if _dropper.ident is None:  # started with the first PostgreSQL test
        _dropper.start()
    _finished_databases.put(name)


# Nor need a test wait for its copy of the template (CREATE DATABASE … TEMPLATE writes its ~12 MB to
# PostgreSQL's log): another thread keeps one copy of each template made ahead, while the test before runs.
# (Not the dropping thread: a copy queued behind a drop would wait for the drop.)
_templates_to_copy: queue.Queue[str | None] = queue.Queue()
_copies: dict[str, queue.Queue[str | Exception]] = {}  # template -> databases copied from it, not yet used


def _copy_templates() -> None:
    admin: psycopg.Connection | None = None
    while (template := _templates_to_copy.get()) is not None:
        try:
            if admin is None or admin.closed:
                admin = psycopg.connect(PG_ADMIN_URL, autocommit=True)
            name = f"archive_test_{uuid.uuid4().hex[:12]}"
            admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
            _copies[template].put(name)
        except Exception as e:  # the test waiting for it fails with PostgreSQL's reason
            _copies[template].put(e)
    if admin is not None:
        admin.close()


# A daemon: the session's teardown joins it; should a worker ever end without that teardown, a thread waiting
# for the next template must not keep the process (and CI) from exiting — at most one spare copy is left.
_copier = threading.Thread(target=_copy_templates, name="copy-test-databases", daemon=True)


def _copy_of(template: str) -> str:
    """A database of the test's own, copied from `template` (made while the test before it ran)."""
    if _copier.ident is None:  # started with the first PostgreSQL test
        _copier.start()
    if template not in _copies:
        _copies[template] = queue.Queue()
        _templates_to_copy.put(template)
    _templates_to_copy.put(template)  # the next test's, made while this one runs
    name = _copies[template].get(timeout=600)
    if isinstance(name, Exception):
        raise name
    return name


@pytest.fixture(scope="session", autouse=True)
def _drop_pg_databases() -> Iterator[None]:
    yield
    if _copier.is_alive():
        _templates_to_copy.put(None)
        _copier.join()
    names = [n for copies in _copies.values() for n in copies.queue if isinstance(n, str)]  # made, never used
    for name in names:
        _drop_later(name)
    if _dropper.is_alive():
        _finished_databases.put(None)
        _dropper.join()
    names = [n for (backend, _), n in _templates.items() if backend == "postgresql"]
    if names:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            for name in names:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path, tmp_path_factory, monkeypatch) -> Iterator[Engine]:
    """A migrated database (with the demo data when the test asks for `demo`), fresh for each test;
    PostgreSQL gets a throwaway database of its own."""
    with_demo = "demo" in request.fixturenames
    if request.param == "sqlite":
        template = _sqlite_template(tmp_path_factory, with_demo)
        shutil.copyfile(template, tmp_path / "archive.db")
        engine = _use_database(monkeypatch, f"sqlite:///{tmp_path}/archive.db", str(tmp_path))
        yield engine
        engine.dispose()
        return
    try:
        template = _pg_template(with_demo)
    except psycopg.OperationalError as e:  # the suite must not pass silently without PostgreSQL
        pytest.fail(f"PostgreSQL at {PG_ADMIN_URL} is required for the database tests: {e}")
    name = _copy_of(template)
    engine = _use_database(monkeypatch, f"{_pg_base()}/{name}", str(tmp_path))
    yield engine
    engine.dispose()
    _drop_later(name)
    _clear_caches()


@pytest.fixture
def demo(engine: Engine) -> dict[str, int]:
    """The demo data (loaded by `engine` from its template): its counts."""
    return dict(_demo_counts)


@pytest.fixture(scope="session")
def _app() -> FastAPI:
    """One application per worker: building its ~160 routes' validators took ~0.5 s of CPU a test. It reads
    no setting when made; each test's database and settings are found per request, as in service."""
    from archive_service.app import create_app

    return create_app()


@pytest.fixture
def client(demo, _app: FastAPI) -> Iterator[TestClient]:
    _app.middleware_stack = None  # built again on the first request: its request slots belong to one event loop
    with TestClient(_app) as c:
        yield c


class DemoCodes:
    """The demo accounts' authenticator (demo.demo_totp_secret), as a person's phone: each login gets a code of a
    time step not used before on that database — a code is good once — waiting for the next step when both allowed
    are used. Keyed by the database (every test has its own), or by `where` (the browser tests' server)."""

    def __init__(self) -> None:
        self.used: dict[tuple[str, str], int] = {}

    def __call__(self, username: str, where: str | None = None) -> str:
        import pyotp

        from archive_service.auth.two_factor import DRIFT_STEPS, STEP_SECONDS
        from archive_service.demo import TWO_FACTOR_DEMO_USERS, demo_totp_secret

        if username not in TWO_FACTOR_DEMO_USERS:
            return ""
        key = (where or config.get_settings().resolved_database_url, username)
        step = int(time.time() // STEP_SECONDS)
        last = self.used.get(key)
        if last is not None and step <= last:
            step = last + 1
            while step > int(time.time() // STEP_SECONDS) + DRIFT_STEPS:
                time.sleep(1)
        self.used[key] = step
        return pyotp.TOTP(demo_totp_secret(username)).at(step * STEP_SECONDS)


demo_codes = DemoCodes()


@pytest.fixture
def demo_code() -> DemoCodes:
    """demo_code("archivist") -> a fresh 6-digit code from that demo account's authenticator ("" when it has none)."""
    return demo_codes


def demo_login_body(username: str, codes: DemoCodes, password: str | None = None) -> dict[str, str]:
    """The body of POST /api/auth/login for a demo account: password and its code."""
    from archive_service.demo import DEMO_PASSWORD

    return {"username": username, "password": password or DEMO_PASSWORD, "code": codes(username)}


@pytest.fixture
def login(client: TestClient, demo_code: DemoCodes):
    """login("archivist") -> headers with that demo user's bearer token (password and authenticator code).

    Within a test, a user's session still open is used again, as a client keeps its token: a code is good once,
    so a third login of one user within half a minute waits for the authenticator's next code — tests written
    with a login per call waited ~30 s for each. `login(user, new_session=True)` opens another session."""
    open_sessions: dict[str, dict[str, str]] = {}

    def _login(username: str, new_session: bool = False) -> dict[str, str]:
        kept = open_sessions.get(username)
        if kept and not new_session and client.get("/api/me", headers=kept).status_code == 200:
            return kept
        r = client.post("/api/auth/login", json=demo_login_body(username, demo_code))
        assert r.status_code == 200, r.text
        open_sessions[username] = {"authorization": f"Bearer {r.json()['token']}"}
        return open_sessions[username]

    return _login


def cookie_login(client: TestClient, username: str, codes: DemoCodes = demo_codes, password: str | None = None) -> None:
    """Sign in through the login pages, as a browser does: the password, then the code page. A browser already
    signed in as that user (its cookie's session still open) stays so — a code is good once (see `login`)."""
    from archive_service.demo import DEMO_PASSWORD

    if password is None and "archive_session" in client.cookies:
        me = client.get("/api/me")
        if me.status_code == 200 and me.json().get("username") == username:
            return

    r = client.post(
        "/login", data={"username": username, "password": password or DEMO_PASSWORD}, follow_redirects=False
    )
    assert r.status_code == 303, r.text
    if r.headers["location"].startswith("/login/code"):
        r = client.post("/login/code", data={"code": codes(username)}, follow_redirects=False)
        assert r.status_code == 303, r.text


# `make test` runs two pytest-xdist workers; each has its own session fixtures (its own database
# templates, its own servers). Tests that share one expensive server run on one worker, as one unit:
# the broker tests share the machine's Redis and RabbitMQ queues, the S3 tests one `weed mini`, and the
# browser tests one demo server (built once, ~1 min) whose state they leave as they found it. The
# controller sees only node ids, so the group is read from the id; collection checks that every test
# using the S3 server is in its group. The modules whose tests share a costly session or module fixture
# are groups too, so that one worker makes it once instead of both (CPU seconds, load ~10): scanned_dossier,
# five pages through the pipeline and the OCR engine, 26 s (its 20 tests then take 6 s in all);
# test_handwriting's hand_dossier 13 s and hand_facts_run 33 s; test_rendering's drawn pages 15 s.
SHARED_FIXTURE_MODULES = {
    "tests/digitise/test_pipeline.py": "scanned_dossier",
    "tests/digitise/test_proposal.py": "scanned_dossier",
    "tests/digitise/test_handwriting.py": "handwriting",
    "tests/digitise/test_rendering.py": "rendering",
}


def xdist_group(nodeid: str) -> str | None:
    path = nodeid.split("::", 1)[0]
    if path in SHARED_FIXTURE_MODULES:
        return SHARED_FIXTURE_MODULES[path]
    if path.startswith("tests/e2e/"):
        return "e2e"
    if path.endswith("/test_workers.py"):
        return "brokers"
    if "s3" in nodeid.split("::", 1)[-1].lower():
        return "s3"
    return None


def pytest_xdist_make_scheduler(config: pytest.Config, log):  # type: ignore[no-untyped-def]
    from xdist.scheduler import LoadScopeScheduling

    class GroupScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return xdist_group(nodeid) or nodeid

    return GroupScheduling(config, log)


# What a test needs beyond Python and the two databases is a marker, set here from where the test lives and
# what it uses, so a new test is classified without anyone remembering to: `e2e` (Chromium and the demo
# server), `brokers` (Redis, RabbitMQ, real worker processes), `s3` (the SeaweedFS server), `ocr` (an
# engine reads pages), `postgresql` (a database test's PostgreSQL variant: each copies and drops a database).
# `make check` runs the tests that need none of them. A test that makes an engine
# read without using `scanned_dossier` says `@pytest.mark.ocr`; one that forgets fails (see below).
OCR_FIXTURES = {"scanned_dossier"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        uses_s3 = (
            "s3_server" in item.fixturenames
            or getattr(item, "callspec", None)
            and "s3" in str(item.callspec.params.get("store", ""))
        )
        if uses_s3 and xdist_group(item.nodeid) != "s3":
            raise pytest.UsageError(f"{item.nodeid} uses the S3 server: put 's3' in its name (see xdist_group)")
        group = xdist_group(item.nodeid)
        if group in ("e2e", "brokers", "s3"):  # the groups that need a server of their own are markers too
            item.add_marker(group)
        if OCR_FIXTURES & set(item.fixturenames):
            item.add_marker("ocr")
        if getattr(item, "callspec", None) and item.callspec.params.get("engine") == "postgresql":
            item.add_marker("postgresql")  # the same test on SQLite runs in `make check`; both in `make test`
    # The long groups first, then the long single tests, so they start at once and the short tests fill in
    # around them: a long test handed out last keeps one worker busy while the other has nothing left to do.
    items.sort(key=_start_order)


# Single tests that take far longer than most (CPU seconds on a busy machine, 2026-12-07): they start first,
# the longest first.
# `make check` ran mypy (24 s on an empty cache) last, on one worker, while the other had finished.
LONG_TESTS = (
    "tests/test_code_checks.py::test_mypy_finds_nothing",  # 24
    "tests/archive_service/test_api_schema.py::test_every_operation_answers",  # 27
    "tests/archive_service/test_digitisation.py::",  # a 28-page dossier through the pipeline: 8–17 each
    "tests/archive_service/test_jobs.py::test_digitisation_job_runs",  # 9
    "tests/archive_service/test_jobs.py::test_qc_failure",  # 9
    "tests/archive_service/test_jobs.py::test_a_digitisation_given_up",  # 7
    "tests/archive_service/test_backup.py::test_backup_then_restore",  # 10
    "tests/archive_service/test_cli.py::test_a_database_that_cannot_be_used",  # 8, in programs of its own
    "tests/archive_service/test_missing_materials.py::test_every_copy_handed_over",  # 7
    "tests/archive_service/test_supplements.py::test_an_approved_supplement_joins",  # 9
    "tests/archive_service/test_security_controls.py::test_password_rules",  # 6
)


def _start_order(item: pytest.Item) -> tuple[int, int]:
    group = {"e2e": 0, "brokers": 1, "s3": 2}.get(xdist_group(item.nodeid) or "")
    if group is not None:
        return (group, 0)
    if item.get_closest_marker("served"):  # the service in a process of its own, killed or flooded: 30–60 s
        return (3, 0)
    long = [i for i, prefix in enumerate(LONG_TESTS) if item.nodeid.startswith(prefix)]
    if long:
        return (4, long[0])  # in the list's order: the longest first
    if item.get_closest_marker("ocr"):
        return (5, 0)
    return (6, 0)


# Every read of an OCR engine in this process or the pipeline's forked page workers leaves a note named for
# the test that caused it (PYTEST_CURRENT_TEST, which the workers inherit); a test not marked `ocr` that
# left one fails, so `make check` never quietly grows an OCR run. Reads in a separate program (the
# `archive` command in a subprocess, spawned job workers) are not seen: those tests are `e2e` or `brokers`.
_OCR_NOTES = Path(tempfile.mkdtemp(prefix="ocr-reads-"))
atexit.register(shutil.rmtree, _OCR_NOTES, ignore_errors=True)


def _note(nodeid: str) -> Path:
    return _OCR_NOTES / hashlib.sha256(nodeid.encode()).hexdigest()[:32]


def _noting_reads(name: str, model_folder: Path | None = None) -> ocr.OcrEngine:
    found = _engine(name, model_folder)
    read = found.read

    def noted_read(*args: Any, **kwargs: Any) -> ocr.PageRead:
        _note(os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" ", 1)[0]).touch()
        return read(*args, **kwargs)

    found.read = noted_read  # type: ignore[method-assign]
    return found


_engine = ocr.engine.__wrapped__
ocr.engine = functools.cache(_noting_reads)


_running: list[pytest.Item] = []  # the test being run in this process


def pytest_runtest_setup(item: pytest.Item) -> None:
    _running[:] = [item]


def require_marker(name: str, what: str) -> None:
    """Fail the running test unless it is marked `name`: `what` it does is left out of `make check`."""
    if _running and not _running[0].get_closest_marker(name):
        pytest.fail(f"this test {what}: mark it @pytest.mark.{name}, so that `make check` leaves it to `make test`")


@pytest.fixture(autouse=True)
def _ocr_reads_are_marked(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if _note(request.node.nodeid).exists() and not request.node.get_closest_marker("ocr"):
        pytest.fail(
            "this test made an OCR engine read a page: mark it @pytest.mark.ocr (or use scanned_dossier), "
            "so that `make check` leaves it to `make test`",
            pytrace=False,
        )


# The real S3 server and the stores, shared by tests/storage and the preservation tests.
from tests.fixtures_s3 import local_store, s3_server, s3_store, store  # noqa: E402,F401
