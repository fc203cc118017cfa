"""Ingest, fixity, second copies and audited deletion, with the real database and stores."""

import os
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from typer.testing import CliRunner

from archive_service import db
from archive_service.auth.models import User
from archive_service.cli import app as cli
from archive_service.dossiers.models import DigitalObject, Dossier
from archive_service.errors import ArchiveError, Forbidden
from archive_service.preservation.models import FixityCheck, FixityRun, ObjectDeletion
from archive_service.preservation.service import check_fixity, delete_object, ingest, replicate
from tests.conftest import cookie_login


def _scan(tmp_path: Path, name: str, content: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


@pytest.fixture
def ingested(demo, local_store, tmp_path):
    """Three master images of one dossier, stored and recorded."""
    with db.transaction() as s:
        dossier = s.scalar(select(Dossier).order_by(Dossier.id))
        objs = [
            ingest(
                s,
                local_store,
                dossier,
                _scan(tmp_path, f"p{i}.tif", f"page {i}".encode() * 500),
                role="master_image",
                name=f"{dossier.archival_code}-{i:04d}.tif",
                media_type="image/tiff",
            )
            for i in range(1, 4)
        ]
        return dossier.id, [(o.storage_key, o.sha256) for o in objs]


def _flip_byte(store, key: str) -> None:
    path = store.root / key
    path.chmod(0o644)
    data = bytearray(path.read_bytes())
    data[10] ^= 0x01
    path.write_bytes(bytes(data))


def test_a_corrected_page_is_a_new_version_and_the_old_one_stays(ingested, local_store, tmp_path):
    dossier_id, objects = ingested
    with db.transaction() as s:
        dossier = s.get(Dossier, dossier_id)
        name = f"{dossier.archival_code}-0002.tif"
        v2 = ingest(
            s,
            local_store,
            dossier,
            _scan(tmp_path, "rescan.tif", b"page 2 rescanned"),
            role="master_image",
            name=name,
            media_type="image/tiff",
        )
        assert v2.version == 2
        versions = s.scalars(select(DigitalObject).where(DigitalObject.name == name)).all()
        assert [v.version for v in versions] == [1, 2]
    assert local_store.verify(objects[1][0], objects[1][1]).ok  # version 1 still there, intact


def test_failed_recording_leaves_no_orphan_object(demo, local_store, tmp_path):
    with db.transaction() as s:
        bureau = s.scalar(select(Dossier.custodian_id).order_by(Dossier.id))

    class Ghost:
        id = 999_999  # no such dossier: the foreign key refuses the row
        archival_code = "J102-RS-999999"
        custodian_id = bureau  # a real bureau: its fixity algorithm is read before the row is written

    with pytest.raises(IntegrityError):
        with db.transaction() as s:
            ingest(
                s,
                local_store,
                Ghost(),
                _scan(tmp_path, "x.tif", b"orphan?"),  # type: ignore[arg-type]
                role="master_image",
                name="x.tif",
                media_type="image/tiff",
            )
    assert list(local_store.keys()) == []


def test_fixity_passes_then_catches_a_flipped_byte(ingested, local_store, client):
    _, objects = ingested
    sessions = db.get_sessionmaker()
    assert check_fixity(sessions, local_store).ok
    _flip_byte(local_store, objects[0][0])
    report = check_fixity(sessions, local_store)
    assert report.failures == [(objects[0][0], "mismatch")]
    with db.transaction() as s:
        runs = s.scalars(select(FixityRun).order_by(FixityRun.id)).all()
        assert [(r.checked, r.failures) for r in runs] == [(3, 0), (3, 1)]
        assert all(r.finished_at for r in runs)
    # The dashboard raises the alarm.
    cookie_login(client, "archivist")
    page = client.get("/").text
    assert "存储完整性告警" in page and objects[0][0] in page


def test_missing_object_is_a_failure_and_the_cli_says_so(ingested, local_store, monkeypatch):
    _, objects = ingested
    path = local_store.root / objects[2][0]
    path.unlink()
    monkeypatch.setenv("ARCHIVE_OBJECT_DIR", str(local_store.root))
    from archive_service import config

    config.get_settings.cache_clear()
    result = CliRunner().invoke(cli, ["fixity", "check"])
    assert result.exit_code == 1
    assert "失败 1 个" in result.output and f"失败（缺失）：{objects[2][0]}" in result.output


def test_fixity_run_resumes_after_an_interruption(ingested, local_store):
    sessions = db.get_sessionmaker()
    seen = []

    def crash_after_two(nbytes, nobjects):
        seen.append(nobjects)
        if len(seen) == 2:
            raise KeyboardInterrupt  # operator pressed Ctrl-C

    with pytest.raises(KeyboardInterrupt):
        check_fixity(sessions, local_store, progress=crash_after_two, batch=1)
    report = check_fixity(sessions, local_store, resume=True, batch=1)
    with db.transaction() as s:
        checks = s.scalars(select(FixityCheck.storage_key)).all()
        runs = s.scalars(select(FixityRun)).all()
    assert len(runs) == 1 and runs[0].finished_at is not None
    assert sorted(checks) == sorted(k for k, _ in ingested[1])  # each object checked exactly once
    assert report.checked == 2  # 1 committed before the crash, 2 after resuming


def test_sample_checks_only_that_many(ingested, local_store):
    assert check_fixity(db.get_sessionmaker(), local_store, sample=2).checked == 2


def test_replicate_to_s3_then_switch(ingested, local_store, s3_store, monkeypatch):
    _, objects = ingested
    with db.transaction() as s:
        first = replicate(s, local_store, s3_store)
        again = replicate(s, local_store, s3_store)
    assert (first.total, first.copied, first.failed) == (3, 3, [])
    assert (again.copied, again.already_there) == (0, 3)  # only what is new is copied
    # After the configuration switch the installation reads from MinIO and every checksum holds.
    assert check_fixity(db.get_sessionmaker(), s3_store).ok


def test_replicate_to_an_offline_directory_reports_a_corrupt_source(ingested, local_store, tmp_path):
    from storage import LocalObjectStore

    _, objects = ingested
    _flip_byte(local_store, objects[1][0])
    offline = LocalObjectStore(tmp_path / "offline-disk")
    with db.transaction() as s:
        report = replicate(s, local_store, offline)
    assert report.copied == 2 and [k for k, _ in report.failed] == [objects[1][0]]
    assert not offline.exists(objects[1][0])  # a bad copy is never kept as a backup


def test_deletion_is_for_administrators_with_a_reason(ingested, local_store):
    _, objects = ingested
    key = objects[0][0]
    with db.transaction() as s:
        archivist = s.scalar(select(User).where(User.username == "archivist"))
        admin = s.scalar(select(User).where(User.username == "admin"))
        with pytest.raises(Forbidden):
            delete_object(s, local_store, archivist, key, "重复扫描的页面")
        with pytest.raises(ArchiveError) as e:
            delete_object(s, local_store, admin, key, "重复")
        assert e.value.field == "reason"
        delete_object(s, local_store, admin, key, "重复扫描的页面，经馆长批准销毁")
    assert not local_store.exists(key)
    with db.transaction() as s:
        record = s.scalar(select(ObjectDeletion))
        assert (record.storage_key, record.reason) == (key, "重复扫描的页面，经馆长批准销毁")
    # A destroyed object is not reported as missing by later fixity checks.
    assert check_fixity(db.get_sessionmaker(), local_store).ok


def test_cli_refuses_a_deletion_without_an_administrator(ingested, local_store, monkeypatch):
    monkeypatch.setenv("ARCHIVE_OBJECT_DIR", str(local_store.root))
    from archive_service import config

    config.get_settings.cache_clear()
    key = ingested[1][0][0]
    result = CliRunner().invoke(
        cli, ["objects", "delete", key, "--username", "clerk", "--reason", "整理时误扫描的空白页"]
    )
    assert result.exit_code == 2 and os.path.exists(local_store.root / key)


def test_cli_replicate_to_an_offline_directory(ingested, local_store, tmp_path, monkeypatch):
    monkeypatch.setenv("ARCHIVE_OBJECT_DIR", str(local_store.root))
    from archive_service import config

    config.get_settings.cache_clear()
    offline = tmp_path / "usb-disk"
    result = CliRunner().invoke(cli, ["replicate", "--to", f"local:{offline}"])
    assert result.exit_code == 0, result.output
    assert "共 3 个对象：复制 3 个，已存在 0 个，失败 0 个" in result.output
    again = CliRunner().invoke(cli, ["replicate", "--to", f"local:{offline}"])
    assert "复制 0 个，已存在 3 个" in again.output


def test_the_store_is_made_once_per_settings_and_a_misspelt_kind_fails_at_start(monkeypatch, tmp_path):
    from pydantic import ValidationError

    from archive_service.adapters import object_store
    from archive_service.config import Settings, get_settings

    monkeypatch.setenv("ARCHIVE_VAR_DIR", str(tmp_path))
    get_settings.cache_clear()
    first = object_store()
    assert object_store() is first  # not a new client (and bucket checks) on every page view
    monkeypatch.setenv("ARCHIVE_VAR_DIR", str(tmp_path / "other"))
    get_settings.cache_clear()
    assert object_store() is not first  # new settings, a new store
    get_settings.cache_clear()
    monkeypatch.setenv("ARCHIVE_OBJECT_STORE", "S3 ")
    with pytest.raises(ValidationError, match="object_store"):
        Settings()
