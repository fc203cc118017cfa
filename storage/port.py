"""The object store port: what the application may ask of any place that keeps archival objects.

Objects are content-addressed: the key is derived from the SHA-256 of the bytes, so the same key
can never come to hold other content. A corrected page is new content, hence a new key; the old
object stays. Nothing in the port overwrites. `delete` is called for the audited administrator
action (the service records who and why first) and to take back an object this process has just put
when recording it failed (no orphans: an ingest, a job's output, a restore) — never for anything else.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Protocol, runtime_checkable

CHUNK = 1024 * 1024  # streaming unit: objects are never read whole into memory


class StorageError(Exception):
    """A store could not do what was asked; the message says which object and why."""


class ObjectMissing(StorageError):
    pass


class ChecksumMismatch(StorageError):
    pass


@dataclass(frozen=True)
class StoredObject:
    key: str
    sha256: str
    size: int
    # True when this put wrote the bytes, False when the same content was already kept.
    created: bool = field(default=False, compare=False)


@dataclass(frozen=True)
class FixityResult:
    key: str
    expected_sha256: str
    actual_sha256: str | None  # None: the object is missing
    size: int

    @property
    def ok(self) -> bool:
        return self.actual_sha256 == self.expected_sha256

    @property
    def outcome(self) -> str:
        return "ok" if self.ok else ("missing" if self.actual_sha256 is None else "mismatch")


def key_for(sha256: str) -> str:
    """sha256/ab/cd/abcd…: two fan-out levels keep directories and S3 prefixes small."""
    return f"sha256/{sha256[:2]}/{sha256[2:4]}/{sha256}"


@runtime_checkable
class ObjectStore(Protocol):
    description: str

    def put_file(self, path: Path, *, expected_sha256: str | None = None) -> StoredObject:
        """Store a file's bytes (streamed); idempotent for the same content."""
        ...

    def put_stream(self, stream: BinaryIO, *, expected_sha256: str | None = None) -> StoredObject:
        """Store bytes read from a stream (spooled, never held whole in memory)."""
        ...

    def open(self, key: str) -> Iterator[bytes]:
        """The object's bytes in chunks; ObjectMissing when absent."""
        ...

    def exists(self, key: str) -> bool: ...

    def size(self, key: str) -> int: ...

    def keys(self) -> Iterator[str]:
        """Every stored key, in key order."""
        ...

    def verify(self, key: str, expected_sha256: str) -> FixityResult:
        """Re-read the object and recompute its SHA-256."""
        ...

    def delete(self, key: str) -> None:
        """Remove an object for good. Only the audited administrator action calls this."""
        ...

    def download_url(self, key: str, expires_seconds: int = 300) -> str | None:
        """A short-lived direct link where the store offers one (S3); None otherwise."""
        ...
