"""The server killed with SIGKILL in the middle of a transfer confirmation and of logged page views:
the database is consistent afterwards (all of a confirmation or none of it; every page delivered is on
the access log) and the access log's chain verifies."""

import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from archive_service import db
from archive_service.access.log import verify_chain
from archive_service.access.models import AccessLogEntry
from archive_service.demo import DEMO_PASSWORD
from archive_service.dossiers.models import CustodyEvent, Dossier
from archive_service.transfers.models import TransferBatch, TransferStatus
from archive_service.transfers.receipt import manifest, manifest_sha256
from tests.archive_service.test_requests import approved
from tests.archive_service.test_transfers import as_xlsx, row
from tests.archive_service.test_transfers_api import enterprise_id
from tests.conftest import demo_codes, require_marker

pytestmark = pytest.mark.served  # the service in a process of its own: `make test`, not `make check`


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(
    log: Path | None = None, workers: int = 2, settings: dict[str, str] | None = None
) -> tuple[subprocess.Popen, str]:
    """`archive serve` with two workers (or `workers`) on the test's database, with any further `settings`;
    its log to `log` when given."""
    require_marker("served", "starts `archive serve`")
    port = _free_port()
    env = {**os.environ, "ARCHIVE_JOB_WORKERS": "0", **(settings or {})}
    proc = subprocess.Popen(
        [sys.executable, "-m", "archive_service.cli", "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("w") if log else subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    pytest.fail("the server did not start")


def _kill(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGKILL)  # the whole server: uvicorn's supervisor and its workers
    proc.wait(timeout=30)


def _token(url: str, username: str) -> dict[str, str]:
    body = {"username": username, "password": DEMO_PASSWORD, "code": demo_codes(username)}  # both factors
    r = httpx.post(f"{url}/api/auth/login", json=body, timeout=30)
    return {"authorization": f"Bearer {r.json()['token']}"}


def _chain_ok() -> None:
    with db.get_sessionmaker()() as session:
        report = verify_chain(session)
    assert report.ok, report


def test_killed_during_transfer_confirmation_all_or_nothing(client, login):
    clerk = login("clerk")
    files = {"file": ("名册.xlsx", as_xlsx([row(n) for n in range(1, 41)]), "application/octet-stream")}
    batch = client.post("/api/transfers", data={"enterprise_id": enterprise_id(client, clerk)}, files=files,
                        headers=clerk).json()  # fmt: skip
    for item in batch["items"]:
        assert client.post(f"/api/transfers/{batch['id']}/receive", json={"key": item["citizen_id"]},
                           headers=clerk).status_code == 200  # fmt: skip
    sent = client.post(f"/api/transfers/{batch['id']}/confirm", json={"side": "sender", "sender_name": "刘移交"},
                       headers=clerk)  # fmt: skip
    assert sent.status_code == 200, sent.text
    with db.get_sessionmaker()() as session:
        events_before = session.scalar(select(func.count()).select_from(CustodyEvent))

    outcomes = []
    for attempt in range(3):  # kill at a different moment each time, until one confirmation gets through
        proc, url = _serve(workers=1)  # one request at a time: a second web process was only more to start
        headers = _token(url, "clerk")

        def confirm(url: str = url, headers: dict[str, str] = headers) -> None:
            try:
                paper = {"side": "receiver", "paper_reason": "企业无数字化条件，由本馆接收后数字化"}
                r = httpx.post(f"{url}/api/transfers/{batch['id']}/confirm", json=paper, headers=headers, timeout=30)
                outcomes.append(r.status_code)
            except httpx.HTTPError:
                outcomes.append("cut")

        caller = threading.Thread(target=confirm)
        caller.start()
        if attempt < 2:
            time.sleep(random.Random(attempt).uniform(0.0, 0.15))
        else:  # the last kill comes after the answer (a fixed 2 s cut all three on a busy machine)
            caller.join(timeout=60)
        _kill(proc)
        caller.join()
        with db.get_sessionmaker()() as session:
            found = session.get(TransferBatch, batch["id"])
            events = session.scalar(select(func.count()).select_from(CustodyEvent)) - events_before
            in_custody = session.scalar(
                select(func.count()).select_from(Dossier).where(Dossier.custodian_id == found.to_org_id)
            )
            assert events == 0 and in_custody >= 40  # receiving's work stands, untouched
            if found.status is TransferStatus.confirmed:  # all of it: both confirmations and the manifest's hash
                assert found.receiver_confirmed_at and found.sender_confirmed_at and found.paper_reason
                assert found.manifest_sha256 == manifest_sha256(manifest(session, found))
                break
            # none of it
            assert found.status is TransferStatus.received and found.receiver_confirmed_at is None
            assert found.manifest_sha256 is None
    assert found.status is TransferStatus.confirmed, outcomes
    _chain_ok()


def test_killed_during_logged_page_views_the_log_holds_every_delivered_page(client, login, digitised):
    request = approved(client, login, digitised)
    pages = request["approved_pages"]
    proc, url = _serve()
    headers = _token(url, "sibao")
    delivered: list[int] = []
    stop = threading.Event()

    def reader(n: int) -> None:
        with httpx.Client(base_url=url, headers=headers, timeout=30) as c:
            i = n
            while not stop.is_set():
                try:
                    r = c.get(f"/api/requests/{request['id']}/pages/{pages[i % len(pages)]}")
                except httpx.HTTPError:
                    return  # the server is gone
                if r.status_code == 200:
                    delivered.append(1)
                i += 1

    readers = [threading.Thread(target=reader, args=(n,)) for n in range(6)]
    for t in readers:
        t.start()
    deadline = time.monotonic() + 60
    while len(delivered) < 30 and time.monotonic() < deadline:
        time.sleep(0.05)
    _kill(proc)
    stop.set()
    for t in readers:
        t.join()
    assert len(delivered) >= 30
    with db.get_sessionmaker()() as session:
        logged = session.scalar(
            select(func.count()).select_from(AccessLogEntry).where(AccessLogEntry.action == "view_page")
        )
    assert logged >= len(delivered)  # a page is logged and committed before its bytes are sent
    _chain_ok()
    # The service starts again on the same database and the chain goes on from where it stopped.
    proc, url = _serve(workers=1)  # one page asked for
    try:  # sibao's session outlives the server: the token from before the kill still serves
        r = httpx.get(f"{url}/api/requests/{request['id']}/pages/{pages[0]}", headers=headers, timeout=30)
        assert r.status_code == 200
    finally:
        _kill(proc)
    _chain_ok()


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_sigterm_stops_the_server_its_search_thread_and_its_job_workers(engine, tmp_path):
    """`archive serve` with a local job worker and the search thread: SIGTERM ends all of it, cleanly
    (it failed with "'Event' object is not callable" and left the job worker running)."""
    port = _free_port()
    env = {**os.environ, "ARCHIVE_JOB_WORKERS": "1", "ARCHIVE_SEARCH_SYNC_SECONDS": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "archive_service.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(150):
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            pytest.fail("the server did not start")
        children = subprocess.run(["pgrep", "-g", str(proc.pid)], capture_output=True, text=True).stdout.split()
        assert len(children) >= 2  # the server and its job worker
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=30)
    except BaseException:
        os.killpg(proc.pid, signal.SIGKILL)
        raise
    assert proc.returncode == 0, output
    assert "Traceback" not in output and "TypeError" not in output, output
    # What the operator reads is Chinese, in the bureau's time; uvicorn's English start and stop lines are not
    assert f"网页服务：http://127.0.0.1:{port}" in output and "网页服务已停止" in output, output
    assert "后台任务进程" in output and "Uvicorn" not in output and "INFO" not in output, output
    started = re.search(r"^(\d{4}-\d\d-\d\d \d\d:\d\d):\d\d 信息 .*后台任务进程", output, re.M)
    assert started, output  # logged in the bureau's time, not the server's UTC
    now = datetime.now(UTC)
    assert started[1] in {db.show_time(now - timedelta(minutes=m)) for m in range(4)}, output
    for _ in range(50):  # multiprocessing's resource tracker leaves once it sees its parent gone
        left = subprocess.run(["pgrep", "-g", str(proc.pid)], capture_output=True, text=True).stdout.split()
        if not left:
            break
        time.sleep(0.1)
    described = subprocess.run(["ps", "-o", "pid,cmd", "-p", ",".join(left)], capture_output=True, text=True).stdout
    assert left == [], f"processes left running: {described}"
