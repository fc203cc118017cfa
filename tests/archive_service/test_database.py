"""Schema, migrations and the append-only tables, on SQLite and PostgreSQL."""

import pytest
from sqlalchemy import func, inspect, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from archive_service import db
from archive_service.dossiers.models import CustodyEvent, Dossier, MaterialClass
from archive_service.migrate import sync_class_schemes


def test_migrations_create_every_table(engine):
    tables = set(inspect(engine).get_table_names())
    assert {
        "organisation",
        "retiree",
        "dossier",
        "material",
        "material_class",
        "digital_object",
        "transfer_batch",
        "transfer_item",
        "custody_event",
        "room",
        "shelving_unit",
        "shelf_slot",
        "retrieval_request",
        "access_log_entry",
        "app_user",
        "session_token",
        "login_attempt",
        "alembic_version",
    } <= tables


def test_class_schemes_are_synchronised_once(engine):
    sync_class_schemes(engine)  # a second run adds nothing
    with db.transaction() as s:
        per_scheme = dict(s.execute(select(MaterialClass.scheme_code, func.count()).group_by("scheme_code")).all())
    assert per_scheme == {"enterprise-1992": 10, "cadre-2009": 16, "regulation-2018": 16}


def test_demo_data_is_consistent(demo):
    with db.transaction() as s:
        dossiers = s.scalars(select(Dossier)).unique().all()
        assert len(dossiers) == demo["dossiers"]
        for d in dossiers:
            assert d.pages == sum(m.pages for m in d.materials) > 0
            # item numbers within a class are 1..n without gaps
            by_class: dict[str, list[int]] = {}
            for m in d.materials:
                by_class.setdefault(m.material_class.code, []).append(m.item_no)
            assert all(sorted(v) == list(range(1, len(v) + 1)) for v in by_class.values())


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE custody_event SET note = 'rewritten'",
        "DELETE FROM custody_event",
    ],
)
def test_custody_events_cannot_be_changed(demo, engine, statement):
    with db.transaction() as s:
        before = s.scalar(select(func.count()).select_from(CustodyEvent))
        assert before > 2 * demo["dossiers"]  # registered + received for each, shelved for those on the shelf
    with pytest.raises((DBAPIError, IntegrityError)) as e:
        with engine.begin() as c:
            c.execute(text(statement))
    assert "append-only" in str(e.value)
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(CustodyEvent)) == before
        assert s.scalar(select(func.count()).where(CustodyEvent.note == "rewritten")) == 0


def test_access_log_cannot_be_changed(engine, demo):
    with engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO access_log_entry (at, role, client_address, action, detail, prev_hash, entry_hash, seq) "
                "VALUES (CURRENT_TIMESTAMP, 'auditor', '127.0.0.1', 'view', '', :p, :h, 1)"
            ),
            {"p": "0" * 64, "h": "1" * 64},
        )
    for statement in ("UPDATE access_log_entry SET action = 'x'", "DELETE FROM access_log_entry"):
        with pytest.raises(DBAPIError) as e:
            with engine.begin() as c:
                c.execute(text(statement))
        assert "append-only" in str(e.value)
