"""Alembic environment: the URL comes from ARCHIVE_DATABASE_URL (or the SQLite default)."""

from alembic import context

from archive_service.db import get_engine
from archive_service.models import Base

connectable = context.config.attributes.get("connection")


def run() -> None:
    def configure(connection) -> None:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copy
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()

    if connectable is not None:
        configure(connectable)
    else:
        with get_engine().connect() as connection:
            configure(connection)


run()
