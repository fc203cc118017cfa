"""Access log: logged page views through the HTTP API, and `verify_chain` over 1,000,000 entries.

Part 1 starts `archive serve` (uvicorn, one worker per core) on SQLite and on PostgreSQL, with a
digitised dossier and an approved online request, and has wrk (keep-alive, concurrent
clients) fetch a watermarked page through `GET /api/requests/{id}/pages/{n}` for a fixed time.
Every view is logged (its entry committed before the image is sent); afterwards the chain is
verified and every page counted as delivered must have its `view_page` entry.

Part 2 bulk-writes 1,000,000 chained entries and times `verify_chain` (what `archive audit
verify` runs) on both databases.

    .venv/bin/python bench/access.py [--seconds 20] [--clients 8] [--entries 1000000]
"""

import argparse
import os
import platform
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402
from scratch_pg import scratch_database  # noqa: E402
from sqlalchemy import func, insert, select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from archive_service.access.log import GENESIS, entry_hash, verify_chain  # noqa: E402
from archive_service.access.models import AccessLogEntry  # noqa: E402
from archive_service.db import bureau_today, make_engine  # noqa: E402
from archive_service.demo import DEMO_PASSWORD  # noqa: E402
from digitise.specimen import citizen_id_for, draw_page, person, save_scan  # noqa: E402

ARCHIVE = [sys.executable, "-m", "archive_service.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def installations(prefix: str, **settings: str) -> Iterator[tuple[str, str, dict[str, str], Path]]:
    """A fresh installation on SQLite, then one on a throwaway PostgreSQL database (dropped at the end):
    (label, database URL, the environment `archive` runs with, its var directory)."""
    with scratch_database(prefix) as pg_url:
        for label, db_url in (("SQLite (WAL)", ""), ("PostgreSQL 15", pg_url)):
            var = Path(tempfile.mkdtemp(prefix=f"{prefix}-"))
            env = {k: v for k, v in os.environ.items() if not k.startswith("ARCHIVE_")}
            env.update(ARCHIVE_VAR_DIR=str(var), ARCHIVE_DATABASE_URL=db_url, **settings)
            yield label, db_url, env, var


def prepare(env: dict[str, str], var: Path, retirees: int = 30) -> None:
    subprocess.run([*ARCHIVE, "db", "upgrade"], env=env, check=True, capture_output=True)
    subprocess.run([*ARCHIVE, "demo", "--retirees", str(retirees)], env=env, check=True, capture_output=True)
    total = int(
        subprocess.run(
            [
                sys.executable,
                "-c",
                "from archive_service import db; from archive_service.dossiers.models import Dossier;"
                "from archive_service.startup import start; start();"
                "from sqlalchemy import select; s = db.get_sessionmaker()();"
                "d = s.scalar(select(Dossier).where(Dossier.archival_code == 'J102-RS-000001'));"
                "print(sum(m.pages for m in d.materials))",
            ],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    rng = random.Random(1)
    who = person(rng)
    scans = [save_scan(draw_page(rng, who, blank=i >= 2, lines=8), var / f"s{i:03d}.tif") for i in range(total)]
    subprocess.run(
        [*ARCHIVE, "digitise", "J102-RS-000001", *map(str, scans), "--username", "archivist", "--lang", "chi_sim"],
        env=env,
        check=True,
        capture_output=True,
    )


def serve(env: dict[str, str], port: int, workers: int, log: Path | None = None) -> subprocess.Popen:
    proc = subprocess.Popen(
        [*ARCHIVE, "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("w") if log else subprocess.DEVNULL,
    )
    for _ in range(150):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("server did not start")


def token(url: str, username: str) -> dict[str, str]:
    import pyotp

    from archive_service.demo import TWO_FACTOR_DEMO_USERS, demo_totp_secret

    # Both factors, as the demo bureau requires: the password and the demo account's authenticator code.
    code = pyotp.TOTP(demo_totp_secret(username)).now() if username in TWO_FACTOR_DEMO_USERS else ""
    r = httpx.post(f"{url}/api/auth/login", json={"username": username, "password": DEMO_PASSWORD, "code": code})
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['token']}"}


@dataclass
class PageViews:
    delivered: int  # by wrk, within its time limit
    rate: float
    p50_ms: float
    p95_ms: float
    socket_errors: int  # connect / read / write / timeout: a reset connection counts here
    non_2xx: int
    warmed: int  # views before the timed run (each page's first render)


WRK_LUA = """
request = function() return wrk.format("GET", "%(path)s", {["Authorization"] = "%(auth)s"}) end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %%d %%d %%d %%d %%d %%d\\n", summary.requests,
    e.connect + e.read + e.write + e.timeout, e.status, summary.duration,
    latency:percentile(50), latency:percentile(95)))
end
"""


def request_form(why: str, days: int) -> dict[str, object]:
    """A 待遇变更 request for the demo's digitised file (classes 1 and 9), valid from today for `days` days."""
    today = bureau_today()
    return {
        "dossier": "J102-RS-000001",
        "purpose": "benefit_change",
        "purpose_detail": why,
        "material_classes": [1, 9],
        "mode": "online_view",
        "valid_from": today.isoformat(),
        "valid_until": (today + timedelta(days=days)).isoformat(),
        "reader_name": "测试",
        "relationship": "none",
        "reader_citizen_id": citizen_id_for("110105", date(1980, 1, 1), 3, "M"),
    }


def approved_request(url: str, requester: dict[str, str], approver: dict[str, str], why: str) -> tuple[int, list[int]]:
    """That request, approved: its id and pages."""
    rid = httpx.post(f"{url}/api/requests", json=request_form(why, days=1), headers=requester).json()["id"]
    decision = httpx.post(f"{url}/api/requests/{rid}/decision", json={"approve": True}, headers=approver)
    return rid, decision.json()["approved_pages"]


def page_views(url: str, seconds: float, clients: int) -> PageViews:
    """Watermarked page views from wrk (keep-alive connections).

    wrk is a C program: a Python client on the same two cores would take CPU from the server under test.
    """
    requester, approver = token(url, "sibao"), token(url, "approver")
    rid, pages = approved_request(url, requester, approver, "基准测试")
    # Warm the page cache the way a reading session would (each page's first view renders it).
    with httpx.Client(base_url=url, headers=requester, timeout=60) as c:
        for p in pages:
            c.get(f"/api/requests/{rid}/pages/{p}").raise_for_status()
    script = Path(tempfile.mkdtemp(prefix="bench-wrk-")) / "page.lua"
    script.write_text(WRK_LUA % {"path": f"/api/requests/{rid}/pages/{pages[0]}", "auth": requester["Authorization"]})
    # Socket errors and non-2xx answers are counted and reported, never a reason to stop: a reset is a finding.
    out = subprocess.run(
        ["wrk", "-t", "2", "-c", str(clients), "-d", f"{int(seconds)}s", "--timeout", "10s", "-s", str(script), url],
        capture_output=True,
        text=True,
    ).stdout
    found = re.search(r"RESULT (.*)", out)
    if not found:
        raise SystemExit(f"wrk gave no result:\n{out}")
    done, socket_errors, non_2xx, duration_us, p50_us, p95_us = map(int, found.group(1).split())
    return PageViews(done, done / (duration_us / 1e6), p50_us / 1000, p95_us / 1000, socket_errors, non_2xx, len(pages))


def fill(engine, n: int) -> float:
    """Append n chained entries in bulk (as years of use would have), return seconds taken."""
    start = time.perf_counter()
    with Session(engine) as session:
        last = session.execute(
            select(AccessLogEntry.seq, AccessLogEntry.entry_hash).order_by(AccessLogEntry.seq.desc()).limit(1)
        ).first()
        seq0, prev = (last.seq, last.entry_hash) if last else (0, GENESIS)
        at = datetime(2026, 1, 1, tzinfo=UTC)
        batch = []
        for seq in range(seq0 + 1, seq0 + n + 1):
            values = {
                "seq": seq,
                "at": at + timedelta(seconds=seq),
                "user_id": None,
                "role": "requester",
                "organisation_id": None,
                "client_address": "10.1.2.3",
                "action": "view_page",
                "dossier_id": None,
                "materials": [1, 9],
                "pages": [seq % 40 + 1],
                "request_id": None,
                "detail": "",
                "prev_hash": prev,
            }
            prev = entry_hash(values)
            batch.append({**values, "entry_hash": prev})
            if len(batch) == 20_000:
                session.execute(insert(AccessLogEntry), batch)
                batch = []
        if batch:
            session.execute(insert(AccessLogEntry), batch)
        session.commit()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--entries", type=int, default=1_000_000)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt install wrk (make bench installs it)")
    rows = []
    for label, db_url, env, var in installations("bench-access"):
        prepare(env, var)
        port = free_port()
        server_log = var / "serve.log"
        proc = serve(env, port, args.workers, server_log)
        try:
            run = page_views(f"http://127.0.0.1:{port}", args.seconds, args.clients)
        finally:
            proc.terminate()
            proc.wait(timeout=20)
        restarts = server_log.read_text().count(" died")  # uvicorn's supervisor replaced a worker
        engine = make_engine(db_url or f"sqlite:///{var}/archive.db")
        with Session(engine) as s:
            logged = s.scalar(
                select(func.count()).select_from(AccessLogEntry).where(AccessLogEntry.action == "view_page")
            )
            intact = verify_chain(s).ok
        # wrk stops counting at its time limit while up to `clients` requests are still being served
        # (and logged): every view answered 200 is logged, and at most `clients` more.
        views = run.delivered - run.non_2xx + run.warmed
        assert views <= logged <= views + args.clients + run.non_2xx and intact, (logged, views, intact)
        filled = fill(engine, args.entries)
        start = time.perf_counter()
        with Session(engine) as s:
            report = verify_chain(s)
        verify = time.perf_counter() - start
        assert report.ok
        rows.append((label, run, restarts, views, report.entries, verify, filled))
        engine.dispose()
    machine = f"{platform.node()} {os.cpu_count()} cores, Python {platform.python_version()}"
    print(
        f"\n{machine}, {time.strftime('%Y-%m-%d')}; {args.workers} uvicorn workers, {args.clients} clients, "
        f"{args.seconds:.0f} s\n"
    )
    print(
        "| database | logged page views/s | p50 ms | p95 ms | socket errors / non-2xx | worker restarts "
        "| views (= log entries, chain intact) | entries verified | verify s | bulk fill s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for label, run, restarts, views, entries, verify, filled in rows:
        print(
            f"| {label} | {run.rate:.0f} | {run.p50_ms:.1f} | {run.p95_ms:.1f} | {run.socket_errors} / "
            f"{run.non_2xx} | {restarts} | {views:,} | {entries:,} | {verify:.1f} | {filled:.1f} |"
        )


if __name__ == "__main__":
    main()
