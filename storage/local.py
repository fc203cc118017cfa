"""Local directory adapter (the default): content-addressed files under one root.

A write goes to a temporary file in the same file system, is fsynced, then renamed into place
(atomic on POSIX) and the directory fsynced: after a crash at any moment the key either holds
the whole object or does not exist. Stored files are made read-only.
"""

import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from storage.hashing import verify_chunks
from storage.port import (
    CHUNK,
    ChecksumMismatch,
    FixityResult,
    ObjectMissing,
    StorageError,
    StoredObject,
    key_for,
)


class LocalObjectStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.description = f"local:{self.root}"
        (self.root / "sha256").mkdir(parents=True, exist_ok=True)
        self._tmp = self.root / "tmp"
        self._tmp.mkdir(exist_ok=True)

    def _path(self, key: str) -> Path:
        if not key.startswith("sha256/") or ".." in key:
            raise StorageError(f"not a key of this store: {key!r}")
        return self.root / key

    def put_file(self, path: Path, *, expected_sha256: str | None = None) -> StoredObject:
        with open(path, "rb") as f:
            return self.put_stream(f, expected_sha256=expected_sha256)

    def put_stream(self, stream: BinaryIO, *, expected_sha256: str | None = None) -> StoredObject:
        digest, size = hashlib.sha256(), 0
        fd, tmp_name = tempfile.mkstemp(dir=self._tmp, prefix="incoming-")
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                while block := stream.read(CHUNK):
                    digest.update(block)
                    size += len(block)
                    out.write(block)
                out.flush()
                os.fsync(out.fileno())
            sha256 = digest.hexdigest()
            if expected_sha256 and sha256 != expected_sha256:
                raise ChecksumMismatch(f"received bytes hash to {sha256}, expected {expected_sha256}")
            key = key_for(sha256)
            target = self._path(key)
            if target.exists():  # same content already kept: nothing to write
                return StoredObject(key, sha256, size)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.chmod(tmp, 0o444)
            os.replace(tmp, target)
            _fsync_dir(target.parent)
            return StoredObject(key, sha256, size, created=True)
        finally:
            tmp.unlink(missing_ok=True)

    def open(self, key: str) -> Iterator[bytes]:
        path = self._path(key)
        try:
            f = open(path, "rb")
        except FileNotFoundError:
            raise ObjectMissing(f"object {key} is missing from {self.description}") from None
        with f:
            while block := f.read(CHUNK):
                yield block

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def size(self, key: str) -> int:
        try:
            return self._path(key).stat().st_size
        except FileNotFoundError:
            raise ObjectMissing(f"object {key} is missing from {self.description}") from None

    def keys(self) -> Iterator[str]:
        base = self.root / "sha256"
        for first in sorted(base.iterdir()):
            for second in sorted(first.iterdir()):
                for obj in sorted(second.iterdir()):
                    yield f"sha256/{first.name}/{second.name}/{obj.name}"

    def verify(self, key: str, expected_sha256: str) -> FixityResult:
        return verify_chunks(key, expected_sha256, self.open(key))

    def delete(self, key: str) -> None:
        path = self._path(key)
        if not path.exists():
            raise ObjectMissing(f"object {key} is missing from {self.description}")
        path.unlink()
        _fsync_dir(path.parent)

    def download_url(self, key: str, expires_seconds: int = 300) -> str | None:
        return None  # served through the application, which logs the access


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
