"""Issue 22.3, reproduced against a real `archive serve` (two worker processes) on SQLite and PostgreSQL:
two clerks uploading registers at the same moment, and eight requests from one requester at once. Every
write succeeds, each request gets its own number, and the server keeps answering /healthz meanwhile
(routes that do blocking work used to run it on the event loop, and numbers were counted, not issued)."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service.db import get_engine
from archive_service.demo import DEMO_PASSWORD
from archive_service.dossiers.models import Dossier, DossierStatus
from tests.archive_service.test_requests import form
from tests.archive_service.test_server_crash import _kill, _serve
from tests.archive_service.test_transfers import as_xlsx, row
from tests.archive_service.test_transfers_api import enterprise_id


def _token(url: str, username: str) -> dict[str, str]:
    r = httpx.post(f"{url}/api/auth/login", json={"username": username, "password": DEMO_PASSWORD}, timeout=30)
    assert r.status_code == 200, r.text
    return {"authorization": f"Bearer {r.json()['token']}"}


def test_concurrent_uploads_and_requests_all_succeed_and_health_answers(client, login, demo):
    enterprise = enterprise_id(client, login("clerk"))
    proc, url = _serve()
    try:
        clerk, sibao = _token(url, "clerk"), _token(url, "sibao")
        health: list[float] = []
        done = threading.Event()

        def watch_health() -> None:
            while not done.is_set():
                t = time.perf_counter()
                assert httpx.get(f"{url}/healthz", timeout=30).status_code == 200
                health.append(time.perf_counter() - t)
                time.sleep(0.05)

        def upload(n: int) -> httpx.Response:
            sheet = as_xlsx([row(600 + 10 * n + k, 姓名=f"并发{n}{k}") for k in range(3)])
            return httpx.post(
                f"{url}/api/transfers", data={"enterprise_id": str(enterprise)},
                files={"file": ("名册.xlsx", sheet)}, headers=clerk, timeout=60,
            )  # fmt: skip

        with Session(get_engine()) as s:
            target = s.scalars(select(Dossier).where(Dossier.status == DossierStatus.in_custody)).first()
            ask = form(target, purpose_detail="并发测试")

        def request(_: int) -> httpx.Response:
            return httpx.post(f"{url}/api/requests", json=ask, headers=sibao, timeout=60)

        watcher = threading.Thread(target=watch_health)
        watcher.start()
        with ThreadPoolExecutor(10) as pool:
            uploads = [pool.submit(upload, n) for n in range(2)]
            requests = [pool.submit(request, n) for n in range(8)]
            uploaded = [f.result() for f in uploads]
            asked = [f.result() for f in requests]
        done.set()
        watcher.join()
    finally:
        _kill(proc)
    assert [r.status_code for r in uploaded] == [201, 201], [r.text[:200] for r in uploaded]
    assert len({r.json()["number"] for r in uploaded}) == 2
    assert [r.status_code for r in asked] == [201] * 8, [r.text[:200] for r in asked if r.status_code != 201]
    numbers = [r.json()["number"] for r in asked]
    assert len(set(numbers)) == 8, numbers  # issued, not counted: no two alike
    assert health and max(health) < 1.0, max(health)  # the server answered throughout
