"""The access log's hash chain: intact when used, broken — at the right entry — when tampered with."""

import threading

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session
from sqlalchemy.pool import SingletonThreadPool
from typer.testing import CliRunner

from archive_service import db
from archive_service.access.log import GENESIS, record_access, verify_chain
from archive_service.access.models import AccessLogEntry
from archive_service.auth.models import User
from archive_service.cli import app as cli


def _log_some(n: int) -> None:
    with db.get_sessionmaker()() as session:
        user = session.scalar(select(User).where(User.username == "archivist"))
        for i in range(n):
            record_access(session, user, "view_page", "10.0.0.7", dossier_id=1, pages=[i + 1], detail=f"第{i + 1}页")


def _without_triggers(session, sql: str) -> None:
    """Go around the append-only triggers, as someone with the database password could."""
    if session.get_bind().dialect.name == "sqlite":
        for name in (
            session.execute(text("SELECT name FROM sqlite_master WHERE type='trigger' AND tbl_name='access_log_entry'"))
            .scalars()
            .all()
        ):
            session.execute(text(f"DROP TRIGGER {name}"))
    else:
        session.execute(text("ALTER TABLE access_log_entry DISABLE TRIGGER USER"))
    session.execute(text(sql))
    session.commit()


def test_entries_are_chained_and_verify(demo):
    _log_some(5)
    with db.get_sessionmaker()() as session:
        entries = session.scalars(select(AccessLogEntry).order_by(AccessLogEntry.seq)).all()
        assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
        assert entries[0].prev_hash == GENESIS
        assert all(b.prev_hash == a.entry_hash for a, b in zip(entries, entries[1:], strict=False))
        assert entries[2].role == "archivist" and entries[2].client_address == "10.0.0.7"
        report = verify_chain(session)
    assert report.ok and report.entries == 5
    result = CliRunner().invoke(cli, ["audit", "verify"])
    assert result.exit_code == 0 and "利用登记完好：5 条" in result.output


def test_edited_entry_is_named(demo):
    _log_some(6)
    with db.get_sessionmaker()() as session:
        _without_triggers(session, "UPDATE access_log_entry SET detail = '无' WHERE seq = 4")
        report = verify_chain(session)
    assert report.broken_seq == 4 and "被改动" in report.reason and report.entries == 3
    result = CliRunner().invoke(cli, ["audit", "verify"])
    assert result.exit_code == 1 and "序号 4" in result.output


def test_deleted_entry_is_detected(demo):
    _log_some(6)
    with db.get_sessionmaker()() as session:
        _without_triggers(session, "DELETE FROM access_log_entry WHERE seq = 3")
        report = verify_chain(session)
    assert report.broken_seq == 4 and "有条目缺失" in report.reason


def test_deleted_last_entries_with_renumbering_is_detected(demo):
    """Even a careful forger who deletes and renumbers cannot re-link the hashes."""
    _log_some(5)
    with db.get_sessionmaker()() as session:
        _without_triggers(session, "DELETE FROM access_log_entry WHERE seq = 2")
        session.execute(text("UPDATE access_log_entry SET seq = seq - 1 WHERE seq > 2"))
        session.commit()
        report = verify_chain(session)
    assert report.broken_seq == 2 and "不相衔接" in report.reason


def test_concurrent_writers_keep_one_gap_free_chain(demo):
    threads = [threading.Thread(target=_log_some, args=(15,)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with db.get_sessionmaker()() as session:
        report = verify_chain(session)
    assert report.ok and report.entries == 60


def test_the_register_filters_by_the_bureaus_days(demo, monkeypatch):
    """An auditor's 2026-12-01 is the bureau's day: 00:30 Beijing (16:30 UTC the day before) is in it, 23:30
    Beijing the day before (15:30 UTC) is not. The filter took the dates as UTC days, eight hours off."""
    from datetime import UTC, date, datetime

    from archive_service.access import log as access_log
    from archive_service.access.register import LogFilter, log_entries

    moments = iter([datetime(2026, 11, 30, 15, 30, tzinfo=UTC), datetime(2026, 11, 30, 16, 30, tzinfo=UTC)])

    class Clock(datetime):
        @classmethod
        def now(cls, tz=None):  # type: ignore[no-untyped-def, override]
            return next(moments)

    monkeypatch.setattr(access_log, "datetime", Clock)
    with db.transaction() as session:
        auditor = session.scalar(select(User).where(User.username == "auditor"))
        for detail in ("23:30 北京时间", "00:30 北京时间"):
            record_access(session, auditor, "export", "127.0.0.1", detail=detail)
    with db.get_sessionmaker()() as session:
        auditor = session.scalar(select(User).where(User.username == "auditor"))
        day = date(2026, 12, 1)
        _, found = log_entries(session, auditor, LogFilter(action="export", since=day, until=day))
        assert [e.detail for e in found] == ["00:30 北京时间"]
        _, before = log_entries(session, auditor, LogFilter(action="export", until=date(2026, 11, 30)))
        assert [e.detail for e in before] == ["23:30 北京时间"]


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)  # SQLite's one-writer rule; PostgreSQL locks the head
def test_an_entry_is_appended_on_a_connection_that_still_held_an_old_snapshot(engine, demo):
    """The 校对 screen's four crops at once met "database is locked" at once, not after the busy timeout: the
    entry's connection came from the pool still holding a read snapshot, and another entry committed after it —
    a stale reader cannot become SQLite's writer (SQLITE_BUSY_SNAPSHOT). The entry is appended all the same."""
    with db.get_sessionmaker()() as session:
        before = session.scalar(select(func.count()).select_from(AccessLogEntry))
    pool_engine = create_engine(engine.url, poolclass=SingletonThreadPool)  # one connection: the stale one
    with Session(pool_engine) as session:
        user = session.scalar(select(User).where(User.username == "archivist"))
        reading = session.connection().exec_driver_sql("SELECT id FROM material")
        reading.fetchone()  # a read left open: this connection's snapshot is now fixed
        _log_some(1)  # another connection appends and commits: the snapshot is stale
        record_access(session, user, "view_page", "10.0.0.7", dossier_id=1, pages=[1], detail="第1页")
    with db.get_sessionmaker()() as session:
        assert session.scalar(select(func.count()).select_from(AccessLogEntry)) == before + 2
        assert verify_chain(session).ok
    pool_engine.dispose()
