"""Schema migrations (Alembic) plus the reference data every installation needs."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, select

from archive_service import protection
from archive_service.dossiers.class_schemes import SCHEMES, top_class
from archive_service.dossiers.models import ClassScheme, MaterialClass

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if engine is not None:
        config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine) -> None:
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # SQLite alters a table by copying it, and dropping the old copy would trip the keys that point at
            # it: the check is off while migrating (possible only outside a transaction) and every key is checked
            # before the end — SQLite's own procedure for altering a table.
            connection.exec_driver_sql("PRAGMA foreign_keys = OFF")
            connection.commit()
        try:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
            # The data key (protection.py): a new installation registers its key; any other must hold its own.
            protection.register_or_check(connection)
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                if broken:
                    raise RuntimeError(f"migration left foreign keys that point nowhere: {broken[:5]}")
            connection.commit()
        finally:
            if sqlite:
                connection.rollback()
                connection.exec_driver_sql("PRAGMA foreign_keys = ON")
                connection.commit()
    sync_class_schemes(engine)


def sync_class_schemes(engine: Engine) -> None:
    """Insert missing schemes and classes; never deletes (materials may refer to a retired class)."""
    from sqlalchemy.orm import Session

    with Session(engine) as session, session.begin():
        have = {s.code for s in session.scalars(select(ClassScheme))}
        have_classes = {(c.scheme_code, c.code) for c in session.scalars(select(MaterialClass))}
        for scheme_code, (name, classes) in SCHEMES.items():
            if scheme_code not in have:
                session.add(ClassScheme(code=scheme_code, name=name))
                session.flush()
            for order, (code, class_name) in enumerate(classes):
                if (scheme_code, code) not in have_classes:
                    session.add(
                        MaterialClass(
                            scheme_code=scheme_code,
                            code=code,
                            name=class_name,
                            top_class=top_class(code),
                            sort_key=order,
                        )
                    )
