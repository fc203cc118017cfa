"""Shared fixtures: a fresh database on SQLite and on the machine's PostgreSQL, and an app bound to it."""

import os
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from archive_service import config, db
from archive_service.finding.worker import search_index
from archive_service.migrate import upgrade

PG_ADMIN_URL = os.environ.get("ARCHIVE_TEST_POSTGRES_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")


def _use_database(monkeypatch: pytest.MonkeyPatch, url: str, var_dir: str) -> Engine:
    monkeypatch.setenv("ARCHIVE_DATABASE_URL", url)
    monkeypatch.setenv("ARCHIVE_VAR_DIR", var_dir)
    monkeypatch.setenv("ARCHIVE_SEARCH_SYNC_SECONDS", "0")  # tests apply the search outbox when they mean to
    for cached in (config.get_settings, db.get_engine, db.get_sessionmaker, search_index):
        cached.cache_clear()
    engine = db.get_engine()
    upgrade(engine)
    return engine


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path, monkeypatch) -> Iterator[Engine]:
    """A migrated, empty database; PostgreSQL gets a throwaway database of its own."""
    if request.param == "sqlite":
        engine = _use_database(monkeypatch, f"sqlite:///{tmp_path}/archive.db", str(tmp_path))
        yield engine
        engine.dispose()
        return
    name = f"archive_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True)
    except psycopg.OperationalError as e:  # the suite must not pass silently without PostgreSQL
        pytest.fail(f"PostgreSQL at {PG_ADMIN_URL} is required for the database tests: {e}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    engine = _use_database(monkeypatch, f"{base}/{name}", str(tmp_path))
    yield engine
    engine.dispose()
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    for cached in (config.get_settings, db.get_engine, db.get_sessionmaker, search_index):
        cached.cache_clear()


@pytest.fixture
def demo(engine: Engine) -> dict[str, int]:
    from archive_service.demo import load_demo

    with db.transaction() as session:
        return load_demo(session, retirees=30)


@pytest.fixture
def client(demo) -> Iterator[TestClient]:
    from archive_service.app import create_app

    with TestClient(create_app()) as c:
        yield c


@pytest.fixture
def login(client: TestClient):
    """login("archivist") -> headers with that demo user's bearer token."""
    from archive_service.demo import DEMO_PASSWORD

    def _login(username: str) -> dict[str, str]:
        r = client.post("/api/auth/login", json={"username": username, "password": DEMO_PASSWORD})
        assert r.status_code == 200, r.text
        return {"authorization": f"Bearer {r.json()['token']}"}

    return _login


# The real S3 server and the stores, shared by tests/storage and the preservation tests.
from tests.fixtures_s3 import local_store, s3_server, s3_store, store  # noqa: E402,F401
