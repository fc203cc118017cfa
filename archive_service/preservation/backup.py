"""`archive backup` and `archive restore`: the whole installation in one folder, and back.

A backup folder holds `manifest.json` (format, schema revision, row count of every table, every
object's key, SHA-256 and size, the access log's last hash), `database/{table}.jsonl.gz` (every row,
portable between SQLite and PostgreSQL) and `objects/` (a content-addressed object directory, the
same layout as the local store). The database is read in one snapshot; objects are copied and
verified after it, so every object the snapshot records is in the folder.

Restore goes into an installation without users or dossiers: the objects first (each verified
against the manifest), then every row in one transaction; if the rows fail, the objects it put are
removed again. Then it checks what it restored: row counts, every object's checksum in the
target store, and the access log's chain.
"""

import base64
import gzip
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, String, Table, bindparam, func, select, text, type_coerce
from sqlalchemy import types as sqltypes
from sqlalchemy.orm import Session

from archive_service import models as _models  # noqa: F401  every table known
from archive_service import protection
from archive_service.access.log import chain_head, verify_chain
from archive_service.db import Base, utcnow
from archive_service.dossiers.models import DigitalObject
from archive_service.errors import ArchiveError
from archive_service.preservation.models import ObjectDeletion
from archive_service.preservation.service import _ChunkReader
from archive_service.protection import Protected
from storage import LocalObjectStore, ObjectStore

FORMAT = 1
BATCH = 1000
StepDone = Callable[[str], None]  # a table or the objects done: what, how many


def _tables() -> list[Table]:
    return list(Base.metadata.sorted_tables)  # parents before children


def _as_stored(table: Table) -> list[Any]:
    """The table's columns as the database holds them: an encrypted field stays encrypted in the backup (and goes
    back as it was: the backup needs the installation's data key, kept apart from it — README)."""
    return [type_coerce(c, String).label(c.name) if isinstance(c.type, Protected) else c for c in table.columns]


def _insert_as_stored(table: Table) -> Any:
    protected = {c.name: bindparam(c.name, type_=String) for c in table.columns if isinstance(c.type, Protected)}
    return table.insert().values(protected) if protected else table.insert()


def _dump_value(column_type: sqltypes.TypeEngine, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(column_type, sqltypes.Enum) and column_type.enum_class is not None:
        return value.name  # what SQLAlchemy stores for an enum column
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def _load_value(column_type: sqltypes.TypeEngine, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(column_type, sqltypes.Enum) and column_type.enum_class is not None:
        return column_type.enum_class[value]
    if isinstance(column_type, sqltypes.DateTime):
        return datetime.fromisoformat(value)
    if isinstance(column_type, sqltypes.Date):
        return date.fromisoformat(value)
    if isinstance(column_type, sqltypes.LargeBinary):
        return base64.b64decode(value)
    if isinstance(column_type, sqltypes.Numeric) and not isinstance(column_type, sqltypes.Float):
        return Decimal(value)
    return value


@dataclass
class BackupReport:
    folder: Path
    tables: dict[str, int] = field(default_factory=dict)
    objects: int = 0
    bytes: int = 0


def _snapshot(conn: Connection) -> None:
    """One consistent view for every table: REPEATABLE READ on PostgreSQL, a read transaction in SQLite's WAL."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
    else:
        conn.exec_driver_sql("BEGIN")
    conn.execute(select(func.count()).select_from(DigitalObject.__table__))  # the snapshot starts here


def backup(engine: Engine, store: ObjectStore, folder: Path, progress: StepDone | None = None) -> BackupReport:
    if folder.exists() and any(folder.iterdir()):
        raise ArchiveError("backup.folder_not_empty", f"备份目录 {folder} 不是空目录", "folder")
    (folder / "database").mkdir(parents=True, exist_ok=True)
    report = BackupReport(folder)
    with engine.connect() as conn:
        _snapshot(conn)
        revision = conn.scalar(text("SELECT version_num FROM alembic_version"))
        for table in _tables():
            with gzip.open(folder / "database" / f"{table.name}.jsonl.gz", "wb") as out:
                count = 0
                rows = conn.execution_options(yield_per=BATCH).execute(
                    select(*_as_stored(table)).order_by(*table.primary_key)
                )
                for row in rows:
                    out.write(orjson.dumps([_dump_value(c.type, v) for c, v in zip(table.columns, row, strict=True)]))
                    out.write(b"\n")
                    count += 1
            report.tables[str(table.name)] = count
            if progress:
                progress(f"{table.name}: {count}")
        destroyed = set(conn.scalars(select(ObjectDeletion.storage_key)))
        objects: list[dict[str, Any]] = [
            {"key": k, "sha256": s, "size": n}
            for k, s, n in conn.execute(
                select(DigitalObject.storage_key, DigitalObject.sha256, DigitalObject.size)
                .distinct()
                .order_by(DigitalObject.storage_key)
            )
            if k not in destroyed
        ]
        head = chain_head(conn)
        conn.rollback()
    copies = LocalObjectStore(folder / "objects")
    for obj in objects:
        copies.put_stream(_ChunkReader(store.open(obj["key"])), expected_sha256=obj["sha256"])  # type: ignore[arg-type]
        report.objects += 1
        report.bytes += obj["size"]
    manifest = {
        "format": FORMAT,
        "created_at": utcnow().isoformat(),
        "revision": revision,
        "dialect": engine.dialect.name,
        "tables": report.tables,
        "objects": objects,
        "access_log_head": head.entry_hash if head else None,
    }
    (folder / "manifest.json").write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
    return report


@dataclass
class RestoreReport:
    tables: dict[str, int] = field(default_factory=dict)
    objects: int = 0
    objects_verified: int = 0
    log_entries: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _rows(folder: Path, table: Table) -> Iterator[dict[str, Any]]:
    path = folder / "database" / f"{table.name}.jsonl.gz"
    if not path.exists():
        return
    with gzip.open(path, "rb") as lines:
        for line in lines:
            values = orjson.loads(line)
            yield {c.name: _load_value(c.type, v) for c, v in zip(table.columns, values, strict=True)}


def restore(engine: Engine, store: ObjectStore, folder: Path, progress: StepDone | None = None) -> RestoreReport:
    """Restore a backup into this (migrated, empty) installation, then verify it."""
    try:
        manifest = orjson.loads((folder / "manifest.json").read_bytes())
    except OSError:
        raise ArchiveError("backup.manifest", f"{folder} 不是备份目录：没有可读的 manifest.json", "folder") from None
    except orjson.JSONDecodeError:
        raise ArchiveError("backup.manifest", f"{folder} 的 manifest.json 已损坏（非 JSON）", "folder") from None
    if manifest.get("format") != FORMAT:
        raise ArchiveError("backup.format", f"备份格式 {manifest.get('format')} 不受支持", "folder")
    tables = _tables()
    with engine.connect() as conn:
        revision = conn.scalar(text("SELECT version_num FROM alembic_version"))
        if revision != manifest["revision"]:
            raise ArchiveError(
                "backup.revision",
                f"备份的数据库版本 {manifest['revision']} 与本系统 {revision} 不同：请用同一版本的系统恢复",
                "folder",
            )
        for name in ("app_user", "dossier", "organisation", "access_log_entry"):
            if conn.scalar(text(f"SELECT count(*) FROM {name}")):
                raise ArchiveError(
                    "restore.not_empty", f"目标系统已有数据（{name}），只能恢复到空的系统", "folder", 409
                )
    report = RestoreReport()
    copies = LocalObjectStore(folder / "objects")
    created: list[str] = []
    try:
        for obj in manifest["objects"]:
            stored = store.put_stream(_ChunkReader(copies.open(obj["key"])), expected_sha256=obj["sha256"])  # type: ignore[arg-type]
            if stored.created:
                created.append(stored.key)
            report.objects += 1
        if progress:
            progress(f"objects: {report.objects}")
        with engine.begin() as conn:
            for table in reversed(tables):  # reference data the migration put in is replaced by the backup's
                conn.execute(table.delete())
            for table in tables:
                count, batch = 0, []
                for row in _rows(folder, table):
                    batch.append(row)
                    if len(batch) >= BATCH:
                        conn.execute(_insert_as_stored(table), batch)
                        count, batch = count + len(batch), []
                if batch:
                    conn.execute(_insert_as_stored(table), batch)
                    count += len(batch)
                report.tables[str(table.name)] = count
                if progress:
                    progress(f"{table.name}: {count}")
            if conn.dialect.name == "postgresql":  # ids were inserted as they were: move the sequences past them
                for table in tables:
                    if "id" in table.columns and isinstance(table.c.id.type, sqltypes.Integer):
                        conn.execute(
                            text(
                                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                                f"COALESCE((SELECT max(id) FROM {table.name}), 0) + 1, false)"
                            )
                        )
    except BaseException:
        for key in created:
            store.delete(key)
        raise
    # Verify what was restored.
    for name, expected in manifest["tables"].items():
        if report.tables.get(name) != expected:
            report.problems.append(f"{name}: {report.tables.get(name)} rows restored, backup has {expected}")
    for obj in manifest["objects"]:
        if store.verify(obj["key"], obj["sha256"]).ok:
            report.objects_verified += 1
        else:
            report.problems.append(f"object {obj['key']} missing or altered after restore")
    with engine.connect() as conn:
        try:
            protection.check_database_key(conn)
        except protection.DataKeyError as e:
            report.problems.append(e.message)
    with Session(engine) as session:
        chain = verify_chain(session)
        report.log_entries = chain.entries
        if not chain.ok:
            report.problems.append(f"access log chain broken at seq {chain.broken_seq}: {chain.reason}")
        head = chain_head(session)
        if (head.entry_hash if head else None) != manifest["access_log_head"]:
            report.problems.append("access log's last entry differs from the backup's")
    return report
