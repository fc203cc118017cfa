"""Issue 22, under load: the access benchmark stopped with "connection reset by peer". Part of it was
ApacheBench (its HTTP/1.0 keep-alive, which uvicorn closes after every answer); part was the server:
a page view holds two database connections (its request's, and the access log's own commit), and a full
reading room took every pooled connection with each thread waiting for a second — 500s after 30 s.
Thirty-two keep-alive clients reading pages, searching and checking health at once against a real
`archive serve`: every answer is a success, no connection is dropped, no worker restarted."""

import subprocess
import sys
import threading
import time
from collections import Counter

import httpx
import pytest

from archive_service.demo import DEMO_PASSWORD
from tests.archive_service.test_requests import approved
from tests.archive_service.test_server_crash import _kill, _serve
from tests.conftest import demo_codes

pytestmark = pytest.mark.served  # the service in a process of its own: `make test`, not `make check`


CLIENTS = 32
SECONDS = 8
ROUNDS = 6  # each client asks at least this often on its connection, however slow the machine is today


def _token(url: str, username: str) -> dict[str, str]:
    body = {"username": username, "password": DEMO_PASSWORD, "code": demo_codes(username)}  # both factors
    r = httpx.post(f"{url}/api/auth/login", json=body, timeout=30)
    assert r.status_code == 200, r.text
    return {"authorization": f"Bearer {r.json()['token']}"}


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_a_full_reading_room_gets_every_answer_on_kept_alive_connections(client, login, digitised, tmp_path):
    req = approved(client, login, digitised)
    pages = req["approved_pages"]
    log = tmp_path / "serve.log"
    proc, url = _serve(log)
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()
    try:
        reader = _token(url, "sibao")
        paths = [f"/api/requests/{req['id']}/pages/{p}" for p in pages] + ["/healthz", "/api/search?q=工资"]
        stop = time.monotonic() + SECONDS

        def reading(n: int) -> None:
            # One connection per client, kept alive as a browser keeps it.
            with httpx.Client(base_url=url, headers=reader, timeout=60) as c:
                i = n
                while time.monotonic() < stop or i - n < ROUNDS:
                    try:
                        r = c.get(paths[i % len(paths)])
                        outcome = str(r.status_code)
                    except httpx.TransportError as e:  # reset, closed mid-answer, refused
                        outcome = type(e).__name__
                    with lock:
                        outcomes[outcome] += 1
                    i += 1

        threads = [threading.Thread(target=reading, args=(n,)) for n in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        _kill(proc)
    assert set(outcomes) == {"200"}, outcomes
    assert outcomes["200"] >= CLIENTS * ROUNDS, outcomes  # the load was real
    server_log = log.read_text()
    assert "died" not in server_log and "Traceback" not in server_log, server_log[-2000:]


def test_pikepdfs_lazily_made_classes_are_made_at_start_not_by_racing_threads():
    # pikepdf makes its decompression-bomb classes on first use without a lock; two reading-room threads
    # decoding their first page at once answered 500 (KeyError 'warning'). Every process's start makes them.
    probe = (
        "from pikepdf.models.image import _bomb; assert not _bomb._bomb_classes, 'made before start';"
        "from archive_service.startup import start; start();"
        "assert set(_bomb._bomb_classes) == {'error', 'warning'}, _bomb._bomb_classes"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
