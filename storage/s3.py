"""MinIO / S3 adapter (the `minio` SDK): versioned bucket, multipart upload, verified checksums.

The SHA-256 is computed before upload (the key is content-addressed), in the same pass as the
ETag S3 will report (MD5, or MD5-of-part-MD5s for a multipart upload), so the upload is verified
without reading the object back. Where the server supports S3 Object Lock, the bucket is created
with it and every object gets a governance-mode retention, so not even a leaked key can delete it.
"""

import hashlib
import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from minio import Minio
from minio.commonconfig import ENABLED, GOVERNANCE
from minio.deleteobjects import DeleteObject
from minio.error import S3Error
from minio.retention import Retention
from minio.versioningconfig import VersioningConfig

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

PART_SIZE = 16 * 1024 * 1024  # multipart above this size; also the unit of the expected ETag
RETENTION_YEARS = 100  # personnel files are kept for the retiree's life and beyond


class S3ObjectStore:
    def __init__(
        self,
        endpoint: str,
        access_key: str,
        secret_key: str,
        bucket: str,
        *,
        secure: bool = False,
        region: str | None = None,
    ) -> None:
        self.client = Minio(endpoint, access_key=access_key, secret_key=secret_key, secure=secure, region=region)
        self.bucket = bucket
        self.description = f"s3:{endpoint}/{bucket}"
        self.object_lock = False
        self._ensure_bucket()

    def _ensure_bucket(self) -> None:
        try:
            if not self.client.bucket_exists(self.bucket):
                try:
                    self.client.make_bucket(self.bucket, object_lock=True)
                except S3Error:
                    self.client.make_bucket(self.bucket)  # server without Object Lock
            self.client.set_bucket_versioning(self.bucket, VersioningConfig(ENABLED))
            try:
                self.object_lock = self.client.get_object_lock_config(self.bucket) is not None
            except S3Error:
                self.object_lock = False
        except S3Error as e:
            raise StorageError(f"cannot prepare bucket {self.bucket} at {self.description}: {e}") from e

    def put_file(self, path: Path, *, expected_sha256: str | None = None) -> StoredObject:
        sha256, size, etag = _digests(path)
        if expected_sha256 and sha256 != expected_sha256:
            raise ChecksumMismatch(f"{path} hashes to {sha256}, expected {expected_sha256}")
        key = key_for(sha256)
        if self.exists(key):
            return StoredObject(key, sha256, size)
        retention = None
        if self.object_lock:
            until = datetime.now(UTC).replace(microsecond=0) + timedelta(days=365 * RETENTION_YEARS)
            retention = Retention(GOVERNANCE, until)
        try:
            result = self.client.fput_object(
                self.bucket,
                key,
                str(path),
                part_size=PART_SIZE,
                metadata={"x-amz-meta-sha256": sha256},
                retention=retention,
            )
        except S3Error as e:
            raise StorageError(f"upload of {path} to {self.description} failed: {e}") from e
        if (result.etag or "").strip('"') != etag:
            # The server stored other bytes than we sent: remove that version, never keep it.
            self.client.remove_object(self.bucket, key, version_id=result.version_id)
            raise ChecksumMismatch(f"{key}: server ETag {result.etag} differs from the computed {etag}")
        return StoredObject(key, sha256, size, created=True)

    def put_stream(self, stream: BinaryIO, *, expected_sha256: str | None = None) -> StoredObject:
        # Spool to disk: the key needs the hash before the upload starts, and memory stays flat.
        with tempfile.NamedTemporaryFile(prefix="archive-upload-") as spool:
            shutil.copyfileobj(stream, spool, CHUNK)
            spool.flush()
            return self.put_file(Path(spool.name), expected_sha256=expected_sha256)

    def open(self, key: str) -> Iterator[bytes]:
        try:
            response = self.client.get_object(self.bucket, key)
        except S3Error as e:
            if e.code in ("NoSuchKey", "NoSuchVersion"):
                raise ObjectMissing(f"object {key} is missing from {self.description}") from None
            raise StorageError(f"cannot read {key} from {self.description}: {e}") from e
        try:
            yield from response.stream(CHUNK)
        finally:
            response.close()
            response.release_conn()

    def exists(self, key: str) -> bool:
        try:
            self.client.stat_object(self.bucket, key)
            return True
        except S3Error as e:
            if e.code in ("NoSuchKey", "NoSuchVersion", "NotFound"):
                return False
            raise StorageError(f"cannot stat {key} at {self.description}: {e}") from e

    def size(self, key: str) -> int:
        try:
            return self.client.stat_object(self.bucket, key).size or 0
        except S3Error as e:
            raise ObjectMissing(f"object {key} is missing from {self.description}") from e

    def keys(self) -> Iterator[str]:
        for obj in self.client.list_objects(self.bucket, prefix="sha256/", recursive=True):
            if obj.object_name:
                yield obj.object_name

    def verify(self, key: str, expected_sha256: str) -> FixityResult:
        return verify_chunks(key, expected_sha256, self.open(key))

    def delete(self, key: str) -> None:
        versions = [
            o for o in self.client.list_objects(self.bucket, prefix=key, include_version=True) if o.object_name == key
        ]
        if not versions:
            raise ObjectMissing(f"object {key} is missing from {self.description}")
        # The administrator's audited deletion is the one place governance retention is bypassed.
        errors = list(
            self.client.remove_objects(
                self.bucket, [DeleteObject(key, v.version_id) for v in versions], bypass_governance_mode=True
            )
        )
        if errors:
            raise StorageError(f"{key} could not be deleted from {self.description}: {errors[0].message}")

    def download_url(self, key: str, expires_seconds: int = 300) -> str | None:
        return self.client.presigned_get_object(self.bucket, key, expires=timedelta(seconds=expires_seconds))


def _digests(path: Path) -> tuple[str, int, str]:
    """SHA-256, size and the ETag S3 will report for an upload in PART_SIZE parts."""
    sha, size, part_md5s = hashlib.sha256(), 0, []
    with open(path, "rb") as f:
        while part := f.read(PART_SIZE):
            sha.update(part)
            size += len(part)
            part_md5s.append(hashlib.md5(part, usedforsecurity=False).digest())
    if len(part_md5s) <= 1:
        etag = (part_md5s[0] if part_md5s else hashlib.md5(b"", usedforsecurity=False).digest()).hex()
    else:
        etag = f"{hashlib.md5(b''.join(part_md5s), usedforsecurity=False).hexdigest()}-{len(part_md5s)}"
    return sha.hexdigest(), size, etag
