"""The database and the bureau's clock.

- `make_engine` / `get_engine`: SQLite (WAL, foreign keys on) or PostgreSQL, as the settings say, with a pool
  of two connections per request thread; a process's first look checks that the data key it holds is this
  database's (`protection.py`).
- `get_sessionmaker` / `transaction`: sessions, only once `startup.start()` has installed the session hooks.
- `Base`: the declarative base of every domain's models, with constraint names that read the same on both
  databases (Alembic compares them).
- Time: stored in UTC (`utcnow`, `as_utc`); shown and counted in the bureau's zone (Beijing unless configured)
  through `in_bureau_time`, `show_time`, `bureau_today` and `bureau_midnight` — the one place that knows it.
"""

from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from typing import Any
from weakref import WeakSet
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy import (
    JSON,
    Connection,
    DateTime,
    Engine,
    MetaData,
    String,
    bindparam,
    cast,
    create_engine,
    event,
    func,
    insert,
    literal_column,
    select,
    text,
)
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from archive_service.config import get_settings

# Stable constraint names so Alembic migrations read the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: DateTime(timezone=True)}


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """SQLite hands datetimes back without their zone; every stored time is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@lru_cache(maxsize=4)
def _zone(name: str) -> tzinfo:
    return ZoneInfo(name)


def bureau_zone() -> tzinfo:
    """The bureau's time zone (setting ARCHIVE_TIME_ZONE, default Asia/Shanghai): months, readings, what
    people see and which date "today" is."""
    return _zone(get_settings().time_zone)


def bureau_zone_label() -> str:
    """How documents name that time: 北京时间 for China's zone, else the zone's own name."""
    offset = datetime.now(UTC).astimezone(bureau_zone()).utcoffset()
    return "北京时间" if offset == timedelta(hours=8) else get_settings().time_zone


def in_bureau_time(moment: datetime) -> datetime:
    """A stored (UTC) moment as the bureau reads it: every page, PDF, export and watermark goes through here."""
    return as_utc(moment).astimezone(bureau_zone())


def bureau_midnight(day: date) -> datetime:
    """The instant (UTC) the bureau's day `day` begins: a date people pick, as a bound on stored times."""
    return datetime.combine(day, time(), bureau_zone()).astimezone(UTC)


def bureau_today(now: datetime | None = None) -> date:
    """Today at the bureau: validity periods, defaults and "overdue" are the bureau's dates, not the server's."""
    return (now or datetime.now(UTC)).astimezone(bureau_zone()).date()


def show_time(moment: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return in_bureau_time(moment).strftime(fmt) if moment else ""


def make_engine(url: str) -> Engine:
    # A request may hold two connections at once — its own transaction and the access log's entry, committed
    # on a connection of its own — so the pool has room for two per request thread (plus the background
    # threads): with fewer, a full reading room took every connection and each waited for a second one.
    threads = get_settings().request_threads
    pool = {"pool_size": threads, "max_overflow": threads + 4, "pool_timeout": 30}
    # orjson reads JSON columns several times faster than the stdlib (the access log has millions of rows).
    if url.startswith("sqlite"):
        # isolation_level: the sqlite3 driver begins a transaction at its first write with BEGIN IMMEDIATE, which
        # takes the write lock there and then (waiting up to the timeout), never later in the transaction.
        connect_args = {"check_same_thread": False, "timeout": 30, "isolation_level": "IMMEDIATE"}
        engine = create_engine(url, connect_args=connect_args, json_deserializer=orjson.loads, **pool)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            # WAL lets pages be read while a clerk's write commits; foreign keys are off by default.
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        _sqlite_transactions(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, json_deserializer=orjson.loads, **pool)


def _sqlite_transactions(engine: Engine) -> None:
    """Two gaps in the sqlite3 driver's transactions, closed for every SQLite engine.

    A read left open — a result nobody read to its end, such as a query handed to a template that did not show
    it — keeps its statement running and with it the connection's WAL snapshot, after the session closed and the
    connection went back to the pool. The next request on that connection reads the database as it was then, and
    its first write is refused at once once anyone else has committed: SQLite lets no stale reader become the
    writer and does not wait (SQLITE_BUSY_SNAPSHOT, "database is locked"). Each cursor is therefore closed when
    its connection is returned, which ends its statement.

    The driver does not begin a transaction for a SAVEPOINT (`session.begin_nested()`): one taken before the
    first write began a deferred transaction of its own, outside the driver's knowledge, whose RELEASE
    committed it — the steps inside it were saved even when the request then failed. A savepoint outside a
    transaction is preceded by BEGIN IMMEDIATE, so it is nested in the request's transaction and holds the
    write lock from the start."""

    @event.listens_for(engine, "before_cursor_execute")
    def _remember_cursor(conn, cursor, _statement, _parameters, _context, _executemany):
        conn.connection.info.setdefault("cursors", WeakSet()).add(cursor)

    @event.listens_for(engine, "checkin")
    def _close_cursors(dbapi_conn, record):
        cursors = record.info.pop("cursors", ())
        if dbapi_conn is not None:  # None: the connection was dropped, and its statements with it
            for cursor in list(cursors):
                cursor.close()

    @event.listens_for(engine, "savepoint")
    def _begin_before_savepoint(conn, _name):
        if not conn.connection.dbapi_connection.in_transaction:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


@lru_cache
def get_engine() -> Engine:
    settings = get_settings()
    # The data directory holds personal data (database, objects, index, work files): its owner's only.
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    settings.var_dir.chmod(0o700)
    engine = make_engine(settings.resolved_database_url)
    _check_data_key(engine)
    return engine


def _check_data_key(engine: Engine) -> None:
    """A process's first look at its database: the data key it holds must be this database's (protection.py). A
    database not migrated yet has no key table: `archive db upgrade` registers one."""
    from sqlalchemy import inspect

    from archive_service import protection

    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table("data_key"):
                return
            protection.check_database_key(conn)
    except protection.DataKeyError:
        engine.dispose()
        raise
    except SQLAlchemyError:
        return  # an unreachable or broken database is named where it is first used (cli/common.py)


_started = False


def started() -> None:
    """Set by `startup.start()`: every mapper is known and the session hooks are installed."""
    global _started
    _started = True


@lru_cache
def get_sessionmaker() -> sessionmaker[Session]:
    if not _started:  # a process that skipped start-up would write without its search outbox rows
        raise RuntimeError("call archive_service.startup.start() before the first session")
    return sessionmaker(get_engine(), expire_on_commit=False)


@contextmanager
def transaction() -> Iterator[Session]:
    """One unit of work: commit on success, roll back everything on any error."""
    with get_sessionmaker()() as session, session.begin():
        yield session


def insert_many(session: Session | Connection, table: Any, rows: Sequence[dict[str, Any]], *returning: Any) -> Any:
    """Many rows into `table` at once, as the table's own insert would write them (its columns' types, its
    Python-side defaults), through `session` (a session's statement hooks see it, as the search outbox must);
    the Result, carrying `returning`'s columns (in no promised order) when asked for.

    PostgreSQL gets one short statement and the rows as one JSON document — INSERT … SELECT … FROM
    json_to_recordset(…). SQLAlchemy's many-values insert is a fresh query text of thousands of parameters
    per thousand rows, which psycopg parses again each time (it caches only short queries): most of the time
    a 100,000-row ledger took to save. One array per column (unnest) was tried: psycopg builds arrays in
    Python, 25 times slower than orjson writing the same rows. SQLite's own insert is fast as it is."""
    assert rows, "an insert of no rows would write one row of defaults"
    stmt: Any = insert(table)
    dialect = session.get_bind().dialect if isinstance(session, Session) else session.dialect
    if dialect.name != "postgresql":
        return session.execute(stmt.returning(*returning) if returning else stmt, list(rows))
    given = list(rows[0])
    columns = [table.c[n] for n in given]
    values = [[r[n] for r in rows] for n in given]  # column by column
    for column in table.c:  # what the insert would put in a column the rows leave out (one value for the batch)
        default: Any = column.default
        if column.name in given or default is None or column.primary_key:
            continue
        if not (default.is_scalar or default.is_callable):
            raise ValueError(f"{column}: a SQL default is not written by insert_many")
        columns.append(column)
        values.append([default.arg(None) if default.is_callable else default.arg] * len(rows))
    for i, column in enumerate(columns):  # as the column's type binds it (sealed, an enum's name …)
        bind = None if isinstance(column.type, JSON) else column.type.dialect_impl(dialect).bind_processor(dialect)
        if bind is not None:  # a JSON column's value stays a document inside the rows' document
            values[i] = [bind(v) for v in values[i]]
    keys = [f"c{i}" for i in range(len(columns))]
    records = [dict(zip(keys, row, strict=True)) for row in zip(*values, strict=True)]
    shape = ", ".join(f"c{i} {c.type.compile(dialect=dialect)}" for i, c in enumerate(columns))
    query = text(f"SELECT * FROM json_to_recordset(CAST(:rows AS JSON)) AS v({shape})")
    source = query.bindparams(rows=orjson.dumps(records, default=str).decode()).columns(
        *(literal_column(f"c{i}") for i in range(len(columns)))
    )
    stmt = stmt.from_select([c.name for c in columns], source, include_defaults=False)
    return session.execute(stmt.returning(*returning) if returning else stmt)


def one_of(session: Session, expr: Any, values: Collection[str]) -> Any:
    """`expr IN values` for a batch's thousand keys. PostgreSQL gets the list as one JSON parameter: a
    thousand-parameter IN is a fresh query text each time, parsed again by psycopg (and by the server)."""
    if session.get_bind().dialect.name != "postgresql":
        return expr.in_(values)
    listed = bindparam(None, orjson.dumps(list(values)).decode(), type_=String, unique=True)
    each = func.json_array_elements_text(cast(listed, JSON))
    return expr.in_(select(literal_column("value")).select_from(each))
