"""Issue 40, High 2 and 3, at full size: what a chunked 300 MB body and fourteen slow senders do to
`archive serve` (one worker, SQLite, demo data) on loopback. Prints, for each attack, what the server
took and answered and its memory (VmRSS now, VmHWM peak) before and after; and for the slow senders, how
long signed-in requests waited while they trickled.

    .venv/bin/python bench/hostile_bodies.py [--code DIR]

`--code DIR` serves another checkout of this repository (e.g. `git archive main | tar -x -C /tmp/old`),
to measure the same attacks before a change. The tests (tests/archive_service/test_request_bodies.py) make
the same attacks with assertions; this script prints the figures for bench/RESULTS.md.
"""

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx  # noqa: E402
from access import free_port, token  # noqa: E402

from tests.attacks import Trickle, chunked_post, memory_mb  # noqa: E402

MB = 1024 * 1024
SCAN_PART = (
    b'--B\r\nContent-Disposition: form-data; name="scans"; filename="scan.tif"\r\nContent-Type: image/tiff\r\n\r\n'
)


def serve(env: dict[str, str], code: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "archive_service.cli", "serve", "--port", str(port)],
        env={**env, "PYTHONPATH": str(code)},
        cwd=code,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("server did not start")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--code", type=Path, default=Path(__file__).resolve().parent.parent)
    parser.add_argument("--megabytes", type=int, default=300)
    parser.add_argument("--senders", type=int, default=14)
    parser.add_argument("--seconds", type=float, default=40, help="how long the slow senders trickle")
    args = parser.parse_args()
    var = Path(tempfile.mkdtemp(prefix="hostile-bodies-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARCHIVE_")}
    env.update(ARCHIVE_VAR_DIR=str(var), ARCHIVE_JOB_WORKERS="0", PYTHONPATH=str(args.code))
    for step in (["db", "upgrade"], ["demo", "--retirees", "30"]):
        subprocess.run([sys.executable, "-m", "archive_service.cli", *step], env=env, cwd=args.code, check=True,
                       capture_output=True)  # fmt: skip
    proc, url = serve(env, args.code)
    rows = []
    try:
        archivist = token(url, "archivist")
        dossier = httpx.get(f"{url}/api/dossiers", headers=archivist).json()["items"][0]["id"]
        size = args.megabytes * MB
        attacks = [
            ("chunked JSON to /api/auth/login, no token", "/api/auth/login", {"Content-Type": "application/json"},
             b'{"username": "'),
            ("chunked upload of scans, no token", f"/api/dossiers/{dossier}/digitisation",
             {"Content-Type": "multipart/form-data; boundary=B"}, SCAN_PART),
        ]  # fmt: skip
        for label, path, headers, first in attacks:
            before = memory_mb(proc.pid)
            answer = chunked_post(url, path, size, headers, first)
            time.sleep(1)
            after = memory_mb(proc.pid)
            rows.append(
                f"| {label} | {args.megabytes} MB | {answer.status} | {answer.sent / MB:.1f} MB "
                f"| {answer.seconds:.1f} s "
                f"| {before['VmRSS']:.0f} → {after['VmRSS']:.0f} MB | {after['VmHWM'] - before['VmHWM']:+.0f} MB |"
            )
        # Slow senders, one address each, while a signed-in reader asks for the dossier list.
        stop = threading.Event()
        senders = [Trickle(url, "/api/auth/login", f"127.0.0.{n + 2}", stop) for n in range(args.senders)]
        for t in senders:
            t.start()
        for t in senders:
            t.started.wait(10)
        waits, failures, start = [], 0, time.monotonic()
        while time.monotonic() - start < args.seconds:
            asked = time.monotonic()
            try:
                httpx.get(f"{url}/api/dossiers", headers=archivist, timeout=30).raise_for_status()
            except httpx.HTTPError:
                failures += 1
            waits.append(time.monotonic() - asked)
            time.sleep(0.5)
        stop.set()
        statuses = sorted({str(t.status) for t in senders})
        rows.append(
            f"| {args.senders} slow senders (1 byte / 2 s), {args.seconds:g} s | — | {', '.join(statuses)} | — | — "
            f"| signed-in reads: {len(waits)}, failed {failures}, p50 {statistics.median(waits) * 1000:.0f} ms, "
            f"max {max(waits) * 1000:.0f} ms | — |"
        )
    finally:
        os.killpg(proc.pid, 9)
    print("| attack | offered | answer | taken before the answer | time | server memory (VmRSS) | peak growth |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    machine = f"{platform.node()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    print(f"\n{machine}, {time.strftime('%Y-%m-%d')}; code from {args.code}")


if __name__ == "__main__":
    main()
