"""The ObjectStore contract, run against the local directory and a real S3 server."""

import hashlib
import io
import os
from pathlib import Path

import httpx
import pytest

from storage import ChecksumMismatch, ObjectMissing, ObjectStore, StoredObject, key_for


def _read(store: ObjectStore, key: str) -> bytes:
    return b"".join(store.open(key))


def test_adapters_implement_the_port(store):
    assert isinstance(store, ObjectStore)


def test_put_is_content_addressed_and_idempotent(store):
    data = "职工退休审批表 第1页".encode() * 1000
    first = store.put_stream(io.BytesIO(data))
    sha = hashlib.sha256(data).hexdigest()
    assert first == StoredObject(key_for(sha), sha, len(data))
    assert store.put_stream(io.BytesIO(data)) == first  # same content, same key, nothing rewritten
    assert _read(store, first.key) == data
    assert store.exists(first.key) and store.size(first.key) == len(data)
    assert list(store.keys()) == [first.key]


def test_a_corrected_page_is_a_new_object_and_the_old_stays(store):
    old = store.put_stream(io.BytesIO(b"page scanned crooked"))
    new = store.put_stream(io.BytesIO(b"page scanned again, straight"))
    assert old.key != new.key
    assert _read(store, old.key) == b"page scanned crooked"
    assert sorted(store.keys()) == sorted([old.key, new.key])


def test_wrong_expected_checksum_stores_nothing(store):
    with pytest.raises(ChecksumMismatch):
        store.put_stream(io.BytesIO(b"truncated in transit"), expected_sha256="0" * 64)
    assert list(store.keys()) == []


def test_missing_object(store):
    key = key_for("ab" * 32)
    assert not store.exists(key)
    with pytest.raises(ObjectMissing):
        _read(store, key)
    result = store.verify(key, "ab" * 32)
    assert (result.ok, result.outcome) == (False, "missing")


def test_verify_recomputes_the_checksum(store):
    stored = store.put_stream(io.BytesIO(b"fixity"))
    assert store.verify(stored.key, stored.sha256).ok
    wrong = store.verify(stored.key, "f" * 64)
    assert (wrong.ok, wrong.outcome, wrong.actual_sha256) == (False, "mismatch", stored.sha256)


def test_delete_removes_the_object(store):
    stored = store.put_stream(io.BytesIO(b"to be destroyed by order"))
    store.delete(stored.key)
    assert not store.exists(stored.key)
    with pytest.raises(ObjectMissing):
        store.delete(stored.key)


def test_large_object_streams_in_parts(store, tmp_path):
    # 40 MiB: above the S3 multipart threshold (16 MiB parts), many local chunks.
    path = tmp_path / "big.tif"
    with open(path, "wb") as f:
        for i in range(40):
            f.write(os.urandom(1024 * 1024) if i % 2 else bytes([i]) * (1024 * 1024))
    stored = store.put_file(path)
    assert stored.size == 40 * 1024 * 1024
    assert stored.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert store.verify(stored.key, stored.sha256).ok
    assert max(len(chunk) for chunk in store.open(stored.key)) <= 1024 * 1024


def test_local_store_leaves_no_partial_object_when_the_writer_dies(local_store):
    class Exploding(io.RawIOBase):
        def __init__(self):
            self.sent = 0

        def readable(self):
            return True

        def readinto(self, b):
            if self.sent > 3:
                raise OSError("scanner cable pulled")
            self.sent += 1
            b[: len(b)] = b"x" * len(b)
            return len(b)

    with pytest.raises(OSError):
        local_store.put_stream(io.BufferedReader(Exploding()))
    assert list(local_store.keys()) == []
    assert list((local_store.root / "tmp").iterdir()) == []


def test_local_objects_are_read_only_files(local_store):
    stored = local_store.put_stream(io.BytesIO(b"master image"))
    mode = (local_store.root / stored.key).stat().st_mode & 0o777
    assert mode == 0o444


def test_s3_bucket_is_versioned_and_links_expire(s3_store):
    stored = s3_store.put_stream(io.BytesIO(b"presigned"))
    assert s3_store.client.get_bucket_versioning(s3_store.bucket).status == "Enabled"
    url = s3_store.download_url(stored.key, expires_seconds=60)
    assert url and "X-Amz-Expires=60" in url
    assert httpx.get(url).content == b"presigned"


def test_s3_detects_corruption_on_the_server(s3_store):
    stored = s3_store.put_stream(io.BytesIO(b"original bytes"))
    # Someone with bucket access writes other bytes under the key (a new version on top).
    s3_store.client.put_object(s3_store.bucket, stored.key, io.BytesIO(b"0riginal bytes"), 14)
    result = s3_store.verify(stored.key, stored.sha256)
    assert result.outcome == "mismatch"


def test_local_detects_a_flipped_byte(local_store):
    stored = local_store.put_stream(io.BytesIO(b"\x00" * 4096))
    path: Path = local_store.root / stored.key
    path.chmod(0o644)
    with open(path, "r+b") as f:
        f.seek(2048)
        f.write(b"\x01")
    assert local_store.verify(stored.key, stored.sha256).outcome == "mismatch"


def test_s3_retention_refuses_an_ordinary_delete(s3_store):
    # SeaweedFS supports S3 Object Lock, so the bucket was created with it.
    assert s3_store.object_lock
    stored = s3_store.put_stream(io.BytesIO(b"master scan"))
    version = s3_store.client.stat_object(s3_store.bucket, stored.key).version_id
    from minio.error import S3Error

    with pytest.raises(S3Error):
        s3_store.client.remove_object(s3_store.bucket, stored.key, version_id=version)
    assert s3_store.verify(stored.key, stored.sha256).ok
