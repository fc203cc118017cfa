"""How SQLite's transactions are set up (db.py): a read nobody finished does not outlive its session on the
pooled connection, and a savepoint taken before the first write belongs to the transaction around it."""

import pytest
from sqlalchemy import func, select, text

from archive_service import db
from archive_service.finding.models import SearchOutbox


def _queued(conn) -> int:
    return conn.scalar(select(func.count()).select_from(SearchOutbox))


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)  # SQLite's WAL snapshots
def test_a_read_left_open_does_not_outlive_its_session(engine, demo):
    """The 校对 browser test met "database is locked" at once now and then: the dossier page handed its template
    an open result that the template did not show, so the connection went back to the pool mid-read, holding its
    snapshot. The next request on it read the database as it was and could not write (SQLITE_BUSY_SNAPSHOT)."""
    pooled = db.make_engine(str(engine.url))  # one connection, taken again by each request below
    with pooled.connect() as conn:
        first = conn.connection.dbapi_connection
        left_open = conn.execute(text("SELECT id FROM material"))
        assert left_open.fetchone() is not None  # read, not to its end
    with engine.begin() as other:  # someone else commits meanwhile
        before = _queued(other)
        other.execute(text("INSERT INTO search_outbox (dossier_id, queued_at) VALUES (1, CURRENT_TIMESTAMP)"))
    with pooled.begin() as conn:
        assert conn.connection.dbapi_connection is first
        assert _queued(conn) == before + 1  # today's database, not the old snapshot
        conn.execute(text("INSERT INTO search_outbox (dossier_id, queued_at) VALUES (2, CURRENT_TIMESTAMP)"))
    with engine.connect() as conn:
        assert _queued(conn) == before + 2
    pooled.dispose()


def test_a_savepoint_before_the_first_write_belongs_to_the_transaction(engine, demo):
    """SQLite's driver began no transaction for a SAVEPOINT, so a savepoint taken before the first write began
    one of its own and its release committed it: the step inside was saved though the request failed after."""
    with db.get_sessionmaker()() as session:
        before = _queued(session)
        with session.begin_nested():
            session.add(SearchOutbox(dossier_id=1))
        assert _queued(session) == before + 1
        session.rollback()  # the request fails after the savepoint
        assert _queued(session) == before
    with db.get_sessionmaker()() as session:
        assert _queued(session) == before
