"""Hashing helpers shared by the adapters."""

import hashlib
from collections.abc import Iterable
from pathlib import Path

from storage.port import CHUNK, FixityResult, ObjectMissing


def sha256_of_chunks(chunks: Iterable[bytes]) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    for chunk in chunks:
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def file_chunks(path: Path, chunk: int = CHUNK) -> Iterable[bytes]:
    with open(path, "rb") as f:
        while block := f.read(chunk):
            yield block


def sha256_of_file(path: Path) -> tuple[str, int]:
    return sha256_of_chunks(file_chunks(path))


def verify_chunks(key: str, expected_sha256: str, chunks: Iterable[bytes]) -> FixityResult:
    """Hash an object as it is read back; a missing object is a failed check, not an error."""
    try:
        actual, size = sha256_of_chunks(chunks)
    except ObjectMissing:
        return FixityResult(key, expected_sha256, None, 0)
    return FixityResult(key, expected_sha256, actual, size)
