"""`archive backup` / `archive restore`: an installation restored into an empty one (across database
kinds, too) has every dossier, every object with its checksum, and an intact access log."""

import gzip
import shutil
import uuid

import orjson
import psycopg
import pytest
from sqlalchemy import func, select
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


def _damage(bak, how: str) -> None:
    """What an attacker or a failing disk does to a backup folder."""
    manifest_path = bak / "manifest.json"
    manifest = orjson.loads(manifest_path.read_bytes())
    dossiers = bak / "database" / "dossier.jsonl.gz"
    if how == "not_a_folder":
        shutil.rmtree(bak)
        bak.write_bytes(b"PK\x03\x04 a zip, not a backup folder")
    elif how == "manifest_a_list":
        manifest_path.write_bytes(b"[1, 2, 3]")
    elif how == "manifest_without_objects":
        del manifest["objects"]
    elif how in ("dotdot_key", "absolute_key"):
        sha = manifest["objects"][0]["sha256"]
        manifest["objects"][0]["key"] = "sha256/../../../../etc/passwd" if how == "dotdot_key" else "/etc/passwd"
        assert manifest["objects"][0]["sha256"] == sha
    elif how == "unknown_table":
        manifest["tables"]["stolen_secrets"] = 1
    elif how == "count_differs":
        manifest["tables"]["dossier"] += 1
    elif how == "missing_database_file":
        dossiers.unlink()
    elif how == "truncated":
        whole = dossiers.read_bytes()
        dossiers.write_bytes(whole[: len(whole) // 2])
    elif how == "wrong_columns":
        dossiers.write_bytes(gzip.compress(b"[1, 2]\n"))
    elif how == "duplicate_rows":  # the same user twice, and the count to match: the database refuses it
        users = bak / "database" / "app_user.jsonl.gz"
        lines = gzip.decompress(users.read_bytes())
        users.write_bytes(gzip.compress(lines + lines.splitlines(keepends=True)[0]))
        manifest["tables"]["app_user"] += 1
    elif how == "object_altered":
        next(p for p in (bak / "objects" / "sha256").rglob("*") if p.is_file()).write_bytes(b"bit rot")
    if how not in ("not_a_folder", "manifest_a_list"):
        manifest_path.write_bytes(orjson.dumps(manifest))


REFUSALS = {
    "not_a_folder": "不是备份目录",
    "manifest_a_list": "manifest.json 不是备份清单",
    "manifest_without_objects": "缺少或写错了 revision、tables、objects",
    "dotdot_key": "不是它的内容地址（不接受 .. 或绝对路径）",
    "absolute_key": "不是它的内容地址（不接受 .. 或绝对路径）",
    "unknown_table": "列出了本系统没有的表：stolen_secrets",
    "count_differs": "database/dossier.jsonl.gz 有",
    "missing_database_file": "备份缺少数据库文件 database/dossier.jsonl.gz",
    "truncated": "database/dossier.jsonl.gz 已损坏或不完整",
    "wrong_columns": "database/dossier.jsonl.gz 第 1 行不是本系统 dossier 表的数据",
    "duplicate_rows": "app_user 表的数据无法写入数据库",
    "object_altered": "已损坏：内容与校验和不符",
}


def _table_counts() -> dict[str, int]:
    with db.get_engine().connect() as conn:
        return {t.name: conn.scalar(select(func.count()).select_from(t)) for t in db.Base.metadata.sorted_tables}


def test_a_crafted_backup_is_refused_by_name_and_nothing_is_restored(digitised, tmp_path, monkeypatch):
    """Issue 40 (Low): `archive restore` of a crafted backup gave a traceback. Each damage is refused with a
    Chinese error naming what is wrong, exit status 2, and the empty installation stays as it was."""
    runner = CliRunner()
    assert runner.invoke(cli, ["backup", str(tmp_path / "bak")]).exit_code == 0
    source_url = get_settings().resolved_database_url
    if source_url.startswith("sqlite"):
        target_url = f"sqlite:///{tmp_path}/restored.db"
    else:
        name = f"archive_restore_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        target_url = f"{_pg_base()}/{name}"
    monkeypatch.setenv("ARCHIVE_DATABASE_URL", target_url)
    monkeypatch.setenv("ARCHIVE_VAR_DIR", str(tmp_path / "restored"))
    _clear_caches()
    try:
        upgrade(db.get_engine())
        empty = _table_counts()
        for how, said in REFUSALS.items():
            crafted = tmp_path / how
            shutil.copytree(tmp_path / "bak", crafted)
            _damage(crafted, how)
            result = runner.invoke(cli, ["restore", str(crafted)])
            assert result.exit_code == 2, (how, result.output, result.exception)
            assert "错误：" in result.output and said in result.output, (how, result.output)
            assert "Traceback" not in result.output and "Error" not in result.output, (how, result.output)
            assert _table_counts() == empty, how  # nothing half-restored, the migration's reference rows kept
            assert list(adapters.open_store(get_settings()).keys()) == [], how
        # the same installation still takes the undamaged backup
        restored = runner.invoke(cli, ["restore", str(tmp_path / "bak")])
        assert restored.exit_code == 0 and "问题：" not in restored.output, restored.output
    finally:
        db.get_engine().dispose()
        _clear_caches()
        if not source_url.startswith("sqlite"):
            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
