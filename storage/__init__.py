"""Object store port and adapters (local content-addressed directory, MinIO/S3)."""

from storage.local import LocalObjectStore
from storage.port import (
    ChecksumMismatch,
    FixityResult,
    ObjectMissing,
    ObjectStore,
    StorageError,
    StoredObject,
    key_for,
)
from storage.s3 import S3ObjectStore

__all__ = [
    "ChecksumMismatch",
    "FixityResult",
    "LocalObjectStore",
    "ObjectMissing",
    "ObjectStore",
    "S3ObjectStore",
    "StorageError",
    "StoredObject",
    "key_for",
]
