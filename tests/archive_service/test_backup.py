"""`archive backup` / `archive restore`: an installation restored into an empty one (across database
kinds, too) has every dossier, every object with its checksum, and an intact access log."""

import uuid

import psycopg
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from archive_service import adapters, db
from archive_service.access.log import AccessAction, record_access
from archive_service.access.models import AccessLogEntry
from archive_service.auth.models import User
from archive_service.cli import app as cli
from archive_service.config import get_settings
from archive_service.dossiers.models import DigitalObject, Dossier, Material
from archive_service.migrate import upgrade
from tests.conftest import PG_ADMIN_URL, _clear_caches, _pg_base


def _snapshot(session) -> dict:
    return {
        "dossiers": sorted(
            (d.archival_code, d.retiree.citizen_id, d.status.value) for d in session.scalars(select(Dossier))
        ),
        "materials": session.query(Material).count(),
        "objects": sorted((o.name, o.version, o.storage_key, o.sha256) for o in session.scalars(select(DigitalObject))),
        "log": [(e.seq, e.entry_hash) for e in session.scalars(select(AccessLogEntry).order_by(AccessLogEntry.seq))],
    }


@pytest.fixture
def empty_postgres(monkeypatch):
    name = f"archive_restore_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield f"{_pg_base()}/{name}"
    _clear_caches()
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_backup_then_restore_into_an_empty_installation(digitised, tmp_path, monkeypatch, empty_postgres):
    with db.get_sessionmaker()() as session, session.begin():
        archivist = session.scalar(select(User).where(User.username == "archivist"))
        for n in range(3):
            record_access(
                session, archivist, AccessAction.view_copy, "127.0.0.1", dossier_id=digitised.id, detail=f"p{n}"
            )
    with db.get_sessionmaker()() as session:
        before = _snapshot(session)
    assert before["objects"] and len(before["log"]) >= 3
    runner = CliRunner()
    made = runner.invoke(cli, ["backup", str(tmp_path / "bak")])
    assert made.exit_code == 0, made.output
    assert (tmp_path / "bak" / "manifest.json").exists() and (
        tmp_path / "bak" / "database" / "dossier.jsonl.gz"
    ).exists()
    again = runner.invoke(cli, ["backup", str(tmp_path / "bak")])
    assert again.exit_code == 2 and "不是空目录" in again.output

    # A new, empty installation: the other database kind, its own object directory.
    source_url = get_settings().resolved_database_url
    target_url = empty_postgres if source_url.startswith("sqlite") else f"sqlite:///{tmp_path}/restored.db"
    monkeypatch.setenv("ARCHIVE_DATABASE_URL", target_url)
    monkeypatch.setenv("ARCHIVE_VAR_DIR", str(tmp_path / "restored"))
    _clear_caches()
    upgrade(db.get_engine())
    restored = runner.invoke(cli, ["restore", str(tmp_path / "bak")])
    assert restored.exit_code == 0, restored.output
    assert "问题：" not in restored.output and f"利用登记 {len(before['log'])} 条" in restored.output
    with db.get_sessionmaker()() as session:
        after = _snapshot(session)
        # The restore itself is the restored log's next entry (the system's own event, issue 40).
        assert after.pop("log")[:-1] == before["log"] and after == {k: v for k, v in before.items() if k != "log"}
        last = session.scalars(select(AccessLogEntry).order_by(AccessLogEntry.seq.desc())).first()
        assert last.action == "restore" and last.detail.endswith("核验通过")
    store = adapters.open_store(get_settings())
    for _, _, key, sha256 in before["objects"]:
        assert store.verify(key, sha256).ok
    assert runner.invoke(cli, ["audit", "verify"]).exit_code == 0
    # the restored installation goes on working: new rows get new ids, the log chain continues
    with db.get_sessionmaker()() as session, session.begin():
        archivist = session.scalar(select(User).where(User.username == "archivist"))
        record_access(session, archivist, AccessAction.view_copy, "127.0.0.1", dossier_id=digitised.id, detail="after")
    assert runner.invoke(cli, ["audit", "verify"]).exit_code == 0
    # restoring twice is refused: the installation is no longer empty
    twice = runner.invoke(cli, ["restore", str(tmp_path / "bak")])
    assert twice.exit_code == 2 and "只能恢复到空的系统" in twice.output


def test_a_damaged_backup_is_refused_and_leaves_nothing_behind(digitised, tmp_path, monkeypatch):
    runner = CliRunner()
    assert runner.invoke(cli, ["backup", str(tmp_path / "bak")]).exit_code == 0
    victim = next(p for p in (tmp_path / "bak" / "objects").rglob("*") if p.is_file())
    victim.write_bytes(b"bit rot")
    monkeypatch.setenv("ARCHIVE_DATABASE_URL", f"sqlite:///{tmp_path}/restored.db")
    monkeypatch.setenv("ARCHIVE_VAR_DIR", str(tmp_path / "restored"))
    _clear_caches()
    upgrade(db.get_engine())
    result = runner.invoke(cli, ["restore", str(tmp_path / "bak")])
    assert result.exit_code != 0
    assert list(adapters.open_store(get_settings()).keys()) == []  # objects put before the failure removed
    with db.get_sessionmaker()() as session:
        assert session.scalars(select(Dossier)).first() is None
