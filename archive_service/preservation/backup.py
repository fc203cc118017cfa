"""`archive backup` and `archive restore`: the whole installation in one folder, and back.

A backup folder holds `manifest.json` (format, schema revision, row count of every table, every
object's key, SHA-256 and size, the access log's last hash), `database/{table}.jsonl.gz` (every row,
portable between SQLite and PostgreSQL) and `objects/` (a content-addressed object directory, the
same layout as the local store). The database is read in one snapshot; objects are copied and
verified after it, so every object the snapshot records is in the folder.

Restore goes into an installation without users or dossiers. A crafted or damaged folder is refused by
name before anything is written (the manifest against this schema and the folder's files, every object
key its own content address); then the objects (each verified against the manifest), then every row in
one transaction, each table's count checked before the commit; if the rows fail, the objects it put are
removed again. Then it checks what it restored: every object's checksum in the target store and the
access log's chain.
"""

import base64
import gzip
import re
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, String, Table, bindparam, func, select, text, type_coerce
from sqlalchemy import types as sqltypes
from sqlalchemy.exc import DBAPIError
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
from storage import ChecksumMismatch, LocalObjectStore, ObjectStore, key_for

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


def _refused(message: str) -> ArchiveError:
    return ArchiveError("backup.damaged", message, "folder")


def _rows(folder: Path, table: Table) -> Iterator[dict[str, Any]]:
    """The table's rows from the backup; a truncated or altered file is refused by name and line."""
    name = f"database/{table.name}.jsonl.gz"
    line = 0
    try:
        with gzip.open(folder / "database" / f"{table.name}.jsonl.gz", "rb") as lines:
            for text_line in lines:
                line += 1
                values = orjson.loads(text_line)
                yield {c.name: _load_value(c.type, v) for c, v in zip(table.columns, values, strict=True)}
    except (OSError, EOFError, zlib.error) as e:  # BadGzipFile is an OSError; EOFError: the file was cut short
        raise _refused(f"备份文件 {name} 已损坏或不完整（读到第 {line} 行后无法解压）") from e
    except (ValueError, TypeError, KeyError) as e:  # not JSON, a wrong number of columns, a value of the wrong kind
        raise _refused(f"备份文件 {name} 第 {line} 行不是本系统 {table.name} 表的数据") from e


_HEX64 = re.compile(r"[0-9a-f]{64}")


def _insert(conn: Connection, table: Table, batch: list[dict[str, Any]]) -> None:
    try:
        conn.execute(_insert_as_stored(table), batch)
    except DBAPIError as e:  # a duplicate, a broken reference, a value too long: the rows do not fit this schema
        raise _refused(
            f"备份中 {table.name} 表的数据无法写入数据库：有重复的记录、引用不存在的记录或不合表结构的值"
        ) from e


def _manifest(folder: Path, tables: list[Table]) -> dict[str, Any]:
    """The backup's manifest, checked against this system and the folder before anything is written: every table
    of the schema and its file, every object under its own content address (no `..`, no absolute path) and present."""
    try:
        manifest = orjson.loads((folder / "manifest.json").read_bytes())
    except OSError:
        raise ArchiveError("backup.manifest", f"{folder} 不是备份目录：没有可读的 manifest.json", "folder") from None
    except orjson.JSONDecodeError:
        raise ArchiveError("backup.manifest", f"{folder} 的 manifest.json 已损坏（非 JSON）", "folder") from None
    if not isinstance(manifest, dict):
        raise ArchiveError("backup.manifest", f"{folder} 的 manifest.json 不是备份清单", "folder")
    if manifest.get("format") != FORMAT:
        raise ArchiveError("backup.format", f"备份格式 {manifest.get('format')} 不受支持", "folder")
    counts, objects = manifest.get("tables"), manifest.get("objects")
    if (
        not isinstance(manifest.get("revision"), str)
        or not isinstance(counts, dict)
        or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in counts.values())
        or not isinstance(objects, list)
        or not isinstance(manifest.get("access_log_head"), str | None)
    ):
        raise _refused("备份清单 manifest.json 缺少或写错了 revision、tables、objects 或 access_log_head")
    ours = {str(t.name) for t in tables}
    if unknown := sorted(set(counts) - ours):
        raise _refused(f"备份清单列出了本系统没有的表：{'、'.join(unknown[:5])}")
    if missing := sorted(ours - set(counts)):
        raise _refused(f"备份清单缺少表：{'、'.join(missing[:5])}")
    for name in sorted(ours):
        path = folder / "database" / f"{name}.jsonl.gz"
        if not path.is_file() or path.is_symlink():
            raise _refused(f"备份缺少数据库文件 database/{name}.jsonl.gz")
    for n, obj in enumerate(objects, 1):
        sha = obj.get("sha256") if isinstance(obj, dict) else None
        if not isinstance(sha, str) or not _HEX64.fullmatch(sha) or obj.get("key") != key_for(sha):
            raise _refused(f"备份清单第 {n} 个对象的键 {str(obj)[:120]} 不是它的内容地址（不接受 .. 或绝对路径）")
        path = folder / "objects" / obj["key"]
        if not path.is_file() or path.is_symlink():
            raise _refused(f"备份缺少对象文件 objects/{obj['key']}")
    return manifest


def restore(engine: Engine, store: ObjectStore, folder: Path, progress: StepDone | None = None) -> RestoreReport:
    """Restore a backup into this (migrated, empty) installation, then verify it."""
    tables = _tables()
    manifest = _manifest(folder, tables)
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
            try:
                stored = store.put_stream(_ChunkReader(copies.open(obj["key"])), expected_sha256=obj["sha256"])  # type: ignore[arg-type]
            except ChecksumMismatch:
                raise _refused(f"备份中的对象 objects/{obj['key']} 已损坏：内容与校验和不符") from None
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
                        _insert(conn, table, batch)
                        count, batch = count + len(batch), []
                if batch:
                    _insert(conn, table, batch)
                    count += len(batch)
                expected = manifest["tables"][table.name]
                if count != expected:  # refused before the commit: nothing half-restored
                    raise _refused(f"备份文件 database/{table.name}.jsonl.gz 有 {count} 行，清单记载 {expected} 行")
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
    for obj in manifest["objects"]:
        if store.verify(obj["key"], obj["sha256"]).ok:
            report.objects_verified += 1
        else:
            report.problems.append(f"对象 {obj['key']} 恢复后缺失或内容不符")
    with engine.connect() as conn:
        try:
            protection.check_database_key(conn)
        except protection.DataKeyError as e:
            report.problems.append(e.message)
    with Session(engine) as session:
        chain = verify_chain(session)
        report.log_entries = chain.entries
        if not chain.ok:
            report.problems.append(f"利用登记的哈希链在第 {chain.broken_seq} 条断开：{chain.reason}")
        head = chain_head(session)
        if (head.entry_hash if head else None) != manifest["access_log_head"]:
            report.problems.append("利用登记的最后一条与备份记载的不同")
    return report
