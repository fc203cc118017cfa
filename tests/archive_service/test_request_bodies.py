"""Issue 40, High 2 and 3, as the probe did them against `archive serve` on loopback: bodies sent chunked
(no declared length) were read whole before the login and size checks — a 300 MB chunked JSON body to
/api/auth/login took the server from 196 MB to 1,295 MB, a 300 MB chunked upload was written to disk before
the 401, the upload limit was passed the same way — and fourteen unauthenticated senders trickling a byte
every 2 s held the request turns until every signed-in request timed out. Bodies are now counted as they
arrive (middleware.BodiesOnlyFromUsers) and take a turn only once complete (middleware.RequestsInFlight).
The full figures (300 MB, memory before and after) are in bench/hostile_bodies.py."""

import threading
import time

import httpx
import orjson
import pytest

from archive_service import db
from archive_service.demo import DEMO_PASSWORD
from tests.archive_service.test_jobs import _first_dossier
from tests.archive_service.test_server_crash import _kill, _serve, _token
from tests.attacks import Trickle, chunked_post, memory_mb
from tests.conftest import demo_codes

pytestmark = pytest.mark.served  # the service in a process of its own: `make test`, not `make check`


MB = 1024 * 1024
# What loopback's socket buffers hold besides what the server read (net.ipv4.tcp_rmem/tcp_wmem maxima).
IN_FLIGHT = 16 * MB
MULTIPART = {"Content-Type": "multipart/form-data; boundary=B"}
SCAN_PART = (
    b'--B\r\nContent-Disposition: form-data; name="scans"; filename="scan.tif"\r\nContent-Type: image/tiff\r\n\r\n'
)


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_chunked_bodies_are_counted_as_they_arrive(demo, tmp_path):
    with db.get_sessionmaker()() as session:
        dossier = _first_dossier(session).id
    proc, url = _serve(tmp_path / "serve.log", workers=1, settings={"ARCHIVE_MAX_UPLOAD_MB": "8"})
    try:
        archivist = _token(url, "archivist")  # a login first: what the first one loads is not counted below
        before = memory_mb(proc.pid)
        # 300 MB of JSON to the login, chunked, without a token: refused once the first MB is in.
        login = chunked_post(url, "/api/auth/login", 300 * MB, {"Content-Type": "application/json"}, b'{"username": "')
        assert login.status == 401 and login.sent < IN_FLIGHT, (login.status, login.sent)
        assert orjson.loads(login.body)["code"] == "unauthenticated"
        # A 300 MB chunked upload of scans without a token: the same, nothing written anywhere.
        path = f"/api/dossiers/{dossier}/digitisation"
        upload = chunked_post(url, path, 300 * MB, MULTIPART, SCAN_PART)
        assert upload.status == 401 and upload.sent < IN_FLIGHT, (upload.status, upload.sent)
        after = memory_mb(proc.pid)
        assert after["VmHWM"] - before["VmHWM"] < 40, (before, after)  # it was +1,099 MB
        # Signed in, the upload limit (8 MB here) holds for a chunked body too: cut off with 413 past it.
        over = chunked_post(url, path, 300 * MB, {**MULTIPART, **archivist}, SCAN_PART)
        assert over.status == 413 and 8 * MB < over.sent < 8 * MB + IN_FLIGHT, (over.status, over.sent)
        assert orjson.loads(over.body) == {
            "code": "body.too_large",
            "message": "上传内容超过 8 MB 的上限",
            "field": None,
        }
        # A JSON body is read into memory: signed in, still no more than the limit (8 MB here, at most 20 MB).
        json_over = chunked_post(
            url, "/api/requests", 300 * MB, {"Content-Type": "application/json", **archivist}, b'{"a": "'
        )
        assert json_over.status == 413 and json_over.sent < 8 * MB + IN_FLIGHT, (json_over.status, json_over.sent)
        # An honest chunked body is served as before.
        honest = orjson.dumps({"username": "archivist", "password": DEMO_PASSWORD, "code": demo_codes("archivist")})
        signed = chunked_post(url, "/api/auth/login", len(honest), {"Content-Type": "application/json"}, honest)
        assert signed.status == 200 and orjson.loads(signed.body)["token"], signed
        assert httpx.get(f"{url}/healthz", timeout=10).status_code == 200
    finally:
        _kill(proc)
    assert "Traceback" not in (tmp_path / "serve.log").read_text()


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_slow_senders_hold_no_turn_and_are_let_go(demo, tmp_path):
    """Fourteen slow senders from fourteen addresses (127.0.0.2–15: the per-address limit plays no part), two
    more than the twelve request turns: signed-in requests are answered while they trickle; after
    ARCHIVE_BODY_SECONDS each is answered 408 and let go; a ninth body at once from one address gets 429."""
    seconds = 20
    proc, url = _serve(tmp_path / "serve.log", workers=1, settings={"ARCHIVE_BODY_SECONDS": str(seconds)})
    stop = threading.Event()
    try:
        reader = _token(url, "archivist")
        started = time.monotonic()
        slow = [Trickle(url, "/api/auth/login", f"127.0.0.{n}", stop) for n in range(2, 16)]
        slow.append(Trickle(url, "/api/auth/login", "127.0.0.16", stop, declared=None))  # chunked, no length
        for t in slow:
            t.start()
        for t in slow:
            assert t.started.wait(10)
        time.sleep(2.5)  # each has sent at least two bytes and waits for the next
        for _ in range(5):
            r = httpx.get(f"{url}/api/dossiers", headers=reader, timeout=seconds / 2)
            assert r.status_code == 200, r.text
        assert all(t.status is None for t in slow), [t.status for t in slow]  # still trickling meanwhile
        assert time.monotonic() - started < seconds
        # One address, eight bodies arriving at once: the ninth is refused at the door.
        crowd = [Trickle(url, "/api/auth/login", "127.0.0.20", stop) for _ in range(8)]
        for t in crowd:
            t.start()
            assert t.started.wait(10)
        ninth = Trickle(url, "/api/auth/login", "127.0.0.20", stop)
        ninth.start()
        ninth.join(timeout=10)
        assert ninth.status == 429, ninth.status
        for t in slow:
            t.join(timeout=seconds + 30)
        assert [t.status for t in slow] == [408] * len(slow)
        assert all(seconds - 1 < (t.answered_after or 0) < seconds + 15 for t in slow), [t.answered_after for t in slow]
    finally:
        stop.set()
        _kill(proc)
    assert "Traceback" not in (tmp_path / "serve.log").read_text()
