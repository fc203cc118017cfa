"""Personal information at rest (issue 40.5, 40.6): citizen IDs encrypted in the database and still found by their
exact value and last digits; a missing, foreign or wrong key is named, never silent plaintext; rotation; SM3
fixity sums where a bureau chooses them."""

import base64

import pytest
from sqlalchemy import insert, select, text
from typer.testing import CliRunner

from archive_service import config, db, protection
from archive_service.auth.models import User
from archive_service.cli import app as cli
from archive_service.dossiers.models import DigitalObject, Retiree
from archive_service.dossiers.service import DossierQuery, list_dossiers
from archive_service.transfers.models import TransferItem


def _first_retiree() -> tuple[int, str]:
    with db.get_sessionmaker()() as session:
        retiree = session.scalars(select(Retiree).order_by(Retiree.id)).first()
        return retiree.id, retiree.citizen_id


def _use_key(monkeypatch, value: str | None, file=None) -> None:
    if value is None:
        monkeypatch.delenv("ARCHIVE_DATA_KEY", raising=False)
    else:
        monkeypatch.setenv("ARCHIVE_DATA_KEY", value)
    if file is not None:
        monkeypatch.setenv("ARCHIVE_DATA_KEY_FILE", str(file))
    for cached in (config.get_settings, db.get_engine, db.get_sessionmaker, protection.keyring):
        cached.cache_clear()


def test_ids_are_ciphertext_in_the_database_and_found_by_value_suffix_and_in_bulk(engine, demo):
    """On SQLite and PostgreSQL: the raw column holds no ID, `==`/`in_` find by the keyed digest (also for rows a
    Core bulk insert wrote, as the 100,000-row ledger import does), the last-4/6 search finds, and the digest keeps
    the ID unique."""
    retiree_id, cid = _first_retiree()
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT citizen_id FROM retiree WHERE id = :i"), {"i": retiree_id}).scalar()
        everything = " ".join(v for (v,) in conn.execute(text("SELECT citizen_id FROM retiree")))
    assert protection.is_sealed(stored) and cid not in stored and cid not in everything
    with db.get_sessionmaker()() as session:
        assert session.scalar(select(Retiree.id).where(Retiree.citizen_id == cid)) == retiree_id
        assert session.scalars(select(Retiree.id).where(Retiree.citizen_id.in_([cid, "110101199001011237"]))).all() == [
            retiree_id
        ]
        archivist = session.scalar(select(User).where(User.username == "archivist"))
        for suffix in (cid[-4:], cid[-6:], cid[-11:]):
            total, rows = list_dossiers(session, archivist, DossierQuery(text=suffix))
            assert retiree_id in {d.retiree_id for d in rows}, suffix
        with pytest.raises(TypeError, match="加密字段"):  # a LIKE on ciphertext would silently find nothing
            select(Retiree.id).where(Retiree.citizen_id.like("1101%"))
        batch_id = session.scalar(text("SELECT id FROM transfer_batch ORDER BY id LIMIT 1"))
        if batch_id is not None:  # a Core bulk insert: sealed by the type, found by value
            session.execute(
                insert(TransferItem),
                [{"batch_id": batch_id, "row_no": 900 + i, "citizen_id": f"11010219500101{i:03d}X",
                  "retiree_name": "某", "declared_volumes": 1, "declared_pages": 1, "declared_materials": 1}
                 for i in range(3)],
            )  # fmt: skip
            found = session.scalars(select(TransferItem.row_no).where(TransferItem.citizen_id == "11010219500101001X"))
            assert list(found) == [901]
        session.rollback()
    with pytest.raises(Exception, match="(?i)unique|duplicate"):
        with db.transaction() as session:
            twin = session.get(Retiree, retiree_id)
            session.add(Retiree(**{c: getattr(twin, c) for c in ("name", "sex", "birth_date", "enterprise_id",
                                                             "hukou_region_code", "residence_region_code")},
                                citizen_id=cid))  # fmt: skip


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_a_missing_foreign_or_wrong_key_is_named_and_nothing_is_read_or_written(engine, demo, monkeypatch, tmp_path):
    _use_key(monkeypatch, None, tmp_path / "no-such.key")
    with pytest.raises(protection.DataKeyError) as missing:
        db.get_engine()
    assert missing.value.code == "data_key.missing" and "未找到数据加密密钥" in missing.value.message
    result = CliRunner().invoke(cli, ["audit", "verify"])  # the `archive` command prints what its failures say
    assert isinstance(result.exception, protection.DataKeyError)
    assert cli.failures[protection.DataKeyError](result.exception).startswith("未找到数据加密密钥")

    _use_key(monkeypatch, base64.b64encode(b"k" * 32).decode())
    with pytest.raises(protection.DataKeyError) as foreign:
        db.get_engine()
    assert foreign.value.code == "data_key.unknown" and "不是本数据库的密钥" in foreign.value.message
    # Even a process that skipped the check cannot read a value: the value names the key it needs.
    raw = engine.connect().execute(text("SELECT citizen_id FROM retiree LIMIT 1")).scalar()
    with pytest.raises(protection.DataKeyError, match="当前配置中没有这把密钥"):
        protection.unseal(raw)
    _use_key(monkeypatch, "not base64!")
    with pytest.raises(protection.DataKeyError, match="Base64"):
        protection.keyring()
    with pytest.raises(protection.DataKeyError, match="未加密"):
        protection.unseal("110102195001010011")


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_rotation_seals_everything_again_and_retires_the_old_key(engine, demo, monkeypatch, tmp_path):
    from tests.conftest import TEST_DATA_KEY

    key_file = tmp_path / "data.key"
    key_file.write_text(f"# 测试\n{TEST_DATA_KEY}\n", encoding="utf-8")
    _use_key(monkeypatch, None, key_file)
    retiree_id, cid = _first_retiree()
    old_id = protection.current_key().key_id
    result = CliRunner().invoke(cli, ["keys", "rotate"])
    assert result.exit_code == 0, result.output
    new_id = protection.current_key().key_id
    assert new_id != old_id and f"已启用新密钥 {new_id}" in result.output
    with engine.connect() as conn:
        key_ids = {v.split(".")[2][:8] for (v,) in conn.execute(text("SELECT citizen_id FROM retiree"))}
        assert key_ids == {new_id}
    with db.get_sessionmaker()() as session:
        assert session.scalar(select(Retiree.id).where(Retiree.citizen_id == cid)) == retiree_id
    # The old key alone is refused now (retired), by name.
    _use_key(monkeypatch, TEST_DATA_KEY)
    with pytest.raises(protection.DataKeyError, match="已在轮换后停用"):
        db.get_engine()


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_sm3_fixity_sums_are_recorded_and_both_verify(engine, digitised, client, login):
    from archive_service.adapters import object_store
    from archive_service.preservation.service import check_fixity

    assert (
        client.put("/api/security/policy", json={"hash_algorithm": "sm3"}, headers=login("security")).status_code == 200
    )
    store = object_store()
    report = check_fixity(db.get_sessionmaker(), store)
    assert report.ok and report.checked > 0
    with db.get_sessionmaker()() as session:
        sums = session.execute(select(DigitalObject.storage_key, DigitalObject.sha256, DigitalObject.sm3)).all()
    assert all(sm3 and len(sm3) == 64 and sm3 != sha for _, sha, sm3 in sums)
    # An SM3 sum that does not match (the object's bytes are intact, its SM3 record altered) fails the check.
    with db.transaction() as session:
        session.execute(
            text("UPDATE digital_object SET sm3 = :z WHERE storage_key = :k"), {"z": "0" * 64, "k": sums[0][0]}
        )
    failed = check_fixity(db.get_sessionmaker(), store)
    assert [key for key, _ in failed.failures] == [sums[0][0]]
