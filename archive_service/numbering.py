"""Numbers people write down — 档号, batch numbers, request numbers — from series that concurrent writers
cannot hand out twice.

A number used to be "the highest so far + 1", read then written: two clerks at the same moment got the
same one and the second insert failed with a 500. A series is now one row, incremented by an
UPDATE … RETURNING that the database serialises (PostgreSQL locks the row; SQLite takes its write lock
and other writers wait on the busy timeout), so every caller gets its own number.
"""

from collections.abc import Callable

from sqlalchemy import String, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from archive_service.db import Base


class NumberSeries(Base):
    """The last number issued in one series: 'CY-2026', 'YJ2026', 'J102-RS' …"""

    __tablename__ = "number_series"

    series: Mapped[str] = mapped_column(String(40), primary_key=True)
    last: Mapped[int]


def next_in_series(session: Session, series: str, issued_so_far: Callable[[], int], count: int = 1) -> int:
    """The next number of `series` (with `count`, the last of that many taken at once: they are the `count`
    numbers ending there). A series met for the first time starts after `issued_so_far()` — the highest
    number already in use, from the records made before series existed."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    exists = session.get(NumberSeries, series) is not None
    if not exists:
        session.execute(insert(NumberSeries).values(series=series, last=issued_so_far()).on_conflict_do_nothing())
    return session.execute(
        update(NumberSeries)
        .where(NumberSeries.series == series)
        .values(last=NumberSeries.last + count)
        .returning(NumberSeries.last)
        .execution_options(synchronize_session=False)
    ).scalar_one()
