"""Personal information at rest (个人信息保护法 第五十一条; GB/T 22239-2019 8.1.4.8 数据保密性).

A column of type `Protected` holds its value encrypted — AES-256-GCM, or SM4-GCM where the installation
chooses the national cipher (`ARCHIVE_DATA_CIPHER`) — under a key that lives outside the database: a key
file (`ARCHIVE_DATA_KEY_FILE`, default `{var}/data.key`, owner-only) or the environment (`ARCHIVE_DATA_KEY`).
Each stored value starts with a keyed digest of the plain value (HMAC-SHA-256, or HMAC-SM3 with
`ARCHIVE_DATA_DIGEST`), so `Retiree.citizen_id == "11010…"` and `.in_([...])` still find rows by exact
value, and a unique index on that digest keeps a citizen ID unique. The type does all of it when a value is
bound or read — ORM objects, Core inserts of 100,000 rows and bulk updates alike — so no other code knows.

Stored text: `<digest 64 hex>.<tail digest 16 hex>.<key id 8 hex><cipher letter>.<base64 nonce|ciphertext|tag>`
(`-` fill where a column keeps no digest). The tail digest is of the last four characters, the part counter
staff ask by; a longer suffix is matched among those candidates after decryption (`suffix_candidates`).

A key that is missing, unknown to this database or wrong is a named Chinese error (`DataKeyError`), never
plaintext written or read: `register_or_check` records each key's check value in `data_key`, and every
value carries the id of the key that sealed it. Rotation: `archive keys rotate` (README, 数据加密密钥).
"""

import base64
import binascii
import hashlib
import hmac as std_hmac
import os
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Connection, String, func, literal, literal_column, text, type_coerce
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeDecorator

from archive_service.config import get_settings
from archive_service.errors import ArchiveError

NO_DIGEST = "-" * 64
NO_TAIL = "-" * 16
TAIL = 4  # characters of a value's end that can be asked for (the last 4 of a citizen ID, as masks show)
CHECK_TEXT = b"archive custody data key check"
CIPHERS = {"aes-256-gcm": "a", "sm4-gcm": "s"}
DIGESTS = ("hmac-sha256", "hmac-sm3")


class DataKeyError(ArchiveError):
    """The data key is missing, not this database's, or does not open a value: the service cannot go on."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"data_key.{code}", message, None, 500)


@dataclass(frozen=True)
class DataKey:
    key_id: str  # first 8 hex of SHA-256 of the key: names the key without revealing it
    material: bytes

    def _derive(self, purpose: bytes, length: int) -> bytes:
        return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=purpose).derive(self.material)

    # Derived once per key (the key stays in memory either way): a 100,000-row import seals and digests
    # ~700,000 times, and deriving each time was a tenth of its CPU.
    @cached_property
    def aes(self) -> bytes:
        return self._derive(b"archive field encryption aes-256-gcm", 32)

    @cached_property
    def sm4(self) -> bytes:
        return self._derive(b"archive field encryption sm4-gcm", 16)

    @cached_property
    def mac(self) -> bytes:
        return self._derive(b"archive keyed digest", 32)

    @property
    def check_value(self) -> str:
        return std_hmac.new(self.mac, CHECK_TEXT, hashlib.sha256).hexdigest()


def _key_from_text(text: str, where: str) -> DataKey:
    try:
        material = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise DataKeyError("malformed", f"{where} 中的数据加密密钥不是 Base64 文本") from None
    if len(material) != 32:
        raise DataKeyError(
            "malformed", f"{where} 中的数据加密密钥应为 32 字节（Base64 编码），现为 {len(material)} 字节"
        )
    return DataKey(hashlib.sha256(material).hexdigest()[:8], material)


def key_file() -> Path:
    settings = get_settings()
    return settings.data_key_file or settings.var_dir / "data.key"


@lru_cache
def keyring() -> tuple[DataKey, ...]:
    """The configured keys, oldest first; the last one seals new values. Empty: none configured."""
    settings = get_settings()
    if settings.data_key:
        lines = [part for part in settings.data_key.replace(",", "\n").splitlines() if part.strip()]
        return tuple(_key_from_text(line, "ARCHIVE_DATA_KEY") for line in lines)
    path = key_file()
    try:
        content = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ()
    except (OSError, UnicodeDecodeError) as e:
        raise DataKeyError("unreadable", f"无法读取数据加密密钥文件 {path}：{e}") from None
    lines = [line for line in content.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return tuple(_key_from_text(line, str(path)) for line in lines)


def current_key() -> DataKey:
    keys = keyring()
    if not keys:
        raise DataKeyError(
            "missing",
            f"未找到数据加密密钥：请把密钥文件放在 {key_file()}，或设置 ARCHIVE_DATA_KEY_FILE / ARCHIVE_DATA_KEY"
            "（见 README“数据加密密钥”）；没有密钥，系统不能读写公民身份号码等加密字段",
        )
    return keys[-1]


def _key(key_id: str) -> DataKey:
    for key in keyring():
        if key.key_id == key_id:
            return key
    raise DataKeyError(
        "unknown",
        f"该数据由编号 {key_id} 的数据加密密钥加密，当前配置中没有这把密钥（配置的密钥编号："
        f"{'、'.join(k.key_id for k in keyring()) or '无'}）：请恢复原密钥文件",
    )


def new_key_text() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def create_key_file(path: Path) -> None:
    """A new installation's key: written once, readable by the service's user only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write("# 档案托管系统 数据加密密钥（勿删除、勿与备份放在一起；轮换见 README）\n")
        out.write(new_key_text() + "\n")
        out.flush()
        os.fsync(out.fileno())
    try:
        os.link(draft, path)  # whole or not at all, and never over an existing key
    finally:
        draft.unlink()
    keyring.cache_clear()


# ---- digests -----------------------------------------------------------------------------------


def keyed_digest(value: str, key: DataKey | None = None) -> str:
    """HMAC of the plain value under the current key: what exact search compares."""
    mac_key = (key or current_key()).mac
    if get_settings().data_digest == "hmac-sm3":
        h = crypto_hmac.HMAC(mac_key, hashes.SM3())
        h.update(value.encode())
        return h.finalize().hex()
    return std_hmac.new(mac_key, value.encode(), hashlib.sha256).hexdigest()


def tail_digest(value: str, key: DataKey | None = None) -> str:
    return keyed_digest("tail:" + value[-TAIL:].upper(), key)[:16]


# ---- sealing -------------------------------------------------------------------------------------


def seal(value: str, *, searchable: bool, tail: bool, key: DataKey | None = None) -> str:
    key = key or current_key()
    cipher = get_settings().data_cipher
    nonce = secrets.token_bytes(12)
    plain = value.encode()
    if cipher == "sm4-gcm":
        encryptor = Cipher(algorithms.SM4(key.sm4), modes.GCM(nonce)).encryptor()
        sealed = encryptor.update(plain) + encryptor.finalize() + encryptor.tag
    else:
        sealed = AESGCM(key.aes).encrypt(nonce, plain, None)
    digest = keyed_digest(value, key) if searchable else NO_DIGEST
    tail_part = tail_digest(value, key) if tail and len(value) >= TAIL else NO_TAIL
    return f"{digest}.{tail_part}.{key.key_id}{CIPHERS[cipher]}.{base64.b64encode(nonce + sealed).decode()}"


def unseal(stored: str) -> str:
    parts = stored.split(".")
    if len(parts) != 4 or len(parts[0]) != 64 or len(parts[2]) != 9:
        raise DataKeyError(
            "plaintext", "数据库中有未加密的个人信息字段：请先运行 archive db upgrade（迁移时加密已有数据）"
        )
    key = _key(parts[2][:8])
    blob = base64.b64decode(parts[3])
    nonce, sealed = blob[:12], blob[12:]
    try:
        if parts[2][8] == "s":
            decryptor = Cipher(algorithms.SM4(key.sm4), modes.GCM(nonce, sealed[-16:])).decryptor()
            plain = decryptor.update(sealed[:-16]) + decryptor.finalize()
        else:
            plain = AESGCM(key.aes).decrypt(nonce, sealed, None)
    except InvalidTag:
        raise DataKeyError(
            "wrong", f"加密字段无法用编号 {key.key_id} 的密钥解开：密钥不对，或数据库中的密文被改动"
        ) from None
    return plain.decode()


def is_sealed(stored: str | None) -> bool:
    if stored is None:
        return True
    parts = stored.split(".")
    return len(parts) == 4 and len(parts[0]) == 64 and len(parts[2]) == 9


class Protected(TypeDecorator[str]):
    """An encrypted text column. `searchable`: exact-value lookups (`==`, `in_`) through the keyed digest;
    `tail`: candidates by the last four characters (`suffix_candidates`). Any other comparison is refused
    (a LIKE on ciphertext would silently find nothing)."""

    impl = String(255)
    cache_ok = True

    def __init__(self, searchable: bool = True, tail: bool = False) -> None:
        super().__init__()
        self.searchable = searchable
        self.tail = tail

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        return seal(str(value), searchable=self.searchable, tail=self.tail)

    def process_result_value(self, value: Any, dialect: Any) -> str | None:
        return None if value is None else unseal(value)

    class comparator_factory(TypeDecorator.Comparator):  # noqa: N801  SQLAlchemy's name
        def operate(self, op: Any, *other: Any, **kwargs: Any) -> ColumnElement[Any]:
            column = self.expr
            if op in (operators.is_, operators.is_not):
                return super().operate(op, *other, **kwargs)
            if not getattr(column.type, "searchable", False):
                raise TypeError(f"{column} 为加密字段，不能按内容比较")
            if op in (operators.eq, operators.ne):
                (value,) = other
                right = digest_of(value) if isinstance(value, ColumnElement) else literal(keyed_digest(value), String)
                return op(digest_of(column), right)
            if op in (operators.in_op, operators.not_in_op):
                (values,) = other
                digests = [keyed_digest(v) for v in values]
                return op(digest_of(column), digests)
            raise TypeError(f"{column} 为加密字段，只能按全值查找（==、in_）")


def digest_of(column: Any) -> ColumnElement[str]:
    """The keyed digest part of a protected column, as SQL: what its unique index and lookups use (constants
    written out, not bound: a query matches an expression index only with the same constants)."""
    return type_coerce(func.substr(type_coerce(column, String), literal_column("1"), literal_column("64")), String)


def tail_of(column: Any) -> ColumnElement[str]:
    return type_coerce(func.substr(type_coerce(column, String), literal_column("66"), literal_column("16")), String)


def suffix_candidates(column: Any, suffix: str) -> ColumnElement[bool]:
    """Rows whose value may end with `suffix` (≥ 4 characters): the keyed digest of its last four; the caller
    keeps those whose decrypted value really ends with it."""
    return tail_of(column) == tail_digest(suffix)


# ---- the key and the database --------------------------------------------------------------------


def register_or_check(conn: Connection) -> DataKey:
    """On migration: a database without a registered key registers the current one (a new installation
    without any key configured gets a key file first); one with keys accepts only a registered, active key."""
    registered = {row.key_id: row for row in conn.execute(text("SELECT key_id, check_value, retired_at FROM data_key"))}
    if not registered and not keyring() and not get_settings().data_key:
        create_key_file(key_file())
    key = current_key()
    if not registered:
        conn.execute(
            text("INSERT INTO data_key (key_id, check_value, created_at) VALUES (:k, :c, CURRENT_TIMESTAMP)"),
            {"k": key.key_id, "c": key.check_value},
        )
        return key
    _check_against(key, registered)
    return key


def check_database_key(conn: Connection) -> None:
    """At a process's first use of a database: its current key must be one this database registered."""
    rows = {row.key_id: row for row in conn.execute(text("SELECT key_id, check_value, retired_at FROM data_key"))}
    if rows:
        _check_against(current_key(), rows)


def _check_against(key: DataKey, registered: dict[str, Any]) -> None:
    row = registered.get(key.key_id)
    if row is None:
        raise DataKeyError(
            "unknown",
            f"当前数据加密密钥（编号 {key.key_id}）不是本数据库的密钥（本库密钥编号："
            f"{'、'.join(registered)}）：请使用本库原来的密钥文件",
        )
    if not std_hmac.compare_digest(row.check_value, key.check_value):
        raise DataKeyError("wrong", f"数据加密密钥（编号 {key.key_id}）与本数据库登记的校验值不符")
    if row.retired_at is not None:
        raise DataKeyError("retired", f"数据加密密钥（编号 {key.key_id}）已在轮换后停用：请使用密钥文件中最新的密钥")


@dataclass(frozen=True)
class ProtectedColumn:
    table: str
    column: str
    searchable: bool
    tail: bool


def protected_columns(tables: Iterable[Any]) -> list[ProtectedColumn]:
    found = []
    for table in tables:
        for column in table.columns:
            if isinstance(column.type, Protected):
                found.append(ProtectedColumn(table.name, column.name, column.type.searchable, column.type.tail))
    return found


def reseal_all(conn: Connection, columns: Sequence[ProtectedColumn], key: DataKey) -> int:
    """Every protected value sealed again under `key` (new digests too): a migration's first encryption of
    plain values, and key rotation. Returns how many values were written."""
    written = 0
    for c in columns:
        rows = conn.execute(text(f"SELECT id, {c.column} FROM {c.table} WHERE {c.column} IS NOT NULL")).all()
        updates = []
        for row_id, stored in rows:
            plain = unseal(stored) if is_sealed(stored) else stored
            updates.append({"i": row_id, "v": seal(plain, searchable=c.searchable, tail=c.tail, key=key)})
        for start in range(0, len(updates), 2000):
            conn.execute(text(f"UPDATE {c.table} SET {c.column} = :v WHERE id = :i"), updates[start : start + 2000])
        written += len(updates)
    return written


def rotate(engine: Any, tables: Iterable[Any]) -> tuple[DataKey, int]:
    """Key rotation (`archive keys rotate`, with the service stopped): a new key is appended to the key file and
    becomes current; in one transaction every protected value is sealed again under it (digests too) and the
    earlier keys are retired (`tables`: the schema's, from the caller — this module sits below db.py). If anything
    fails the file is put back as it was. Returns the new key and how many values were sealed again."""
    settings = get_settings()
    if settings.data_key:
        raise DataKeyError(
            "rotate_env",
            "密钥来自环境变量 ARCHIVE_DATA_KEY：请改用密钥文件（ARCHIVE_DATA_KEY_FILE）后再轮换，"
            "或在该变量末尾加入新密钥并按 README 手工轮换",
        )
    path = key_file()
    before = path.read_text(encoding="utf-8")
    old = keyring()
    current_key()  # a missing key is named before anything changes
    new = new_key_text()
    stamp = datetime.now().astimezone().isoformat(timespec="seconds")
    path.write_text(before.rstrip("\n") + f"\n# 轮换于 {stamp}\n{new}\n", encoding="utf-8")
    keyring.cache_clear()
    try:
        key = current_key()
        with engine.begin() as conn:
            check_database_key_with(conn, old[-1])
            conn.execute(
                text("INSERT INTO data_key (key_id, check_value, created_at) VALUES (:k, :c, CURRENT_TIMESTAMP)"),
                {"k": key.key_id, "c": key.check_value},
            )
            written = reseal_all(conn, protected_columns(tables), key)
            conn.execute(
                text("UPDATE data_key SET retired_at = CURRENT_TIMESTAMP WHERE key_id <> :k AND retired_at IS NULL"),
                {"k": key.key_id},
            )
    except BaseException:
        path.write_text(before, encoding="utf-8")
        keyring.cache_clear()
        raise
    return key, written


def check_database_key_with(conn: Connection, key: DataKey) -> None:
    rows = {row.key_id: row for row in conn.execute(text("SELECT key_id, check_value, retired_at FROM data_key"))}
    _check_against(key, rows)
