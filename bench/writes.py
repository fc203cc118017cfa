"""Concurrent writes (issue 22.3): sixteen people writing at once — clerks uploading one-retiree
registers, a requester filing requests, a clerk checking volumes in at the receiving desk — against
`archive serve` (two worker processes) on SQLite and on PostgreSQL, while a watcher asks /healthz
every 50 ms. Targets: every write succeeds, p95 < 1 s, /healthz < 100 ms throughout.

Beside it a second watcher asks a bare asyncio server (no application, no database) the same way: its
slowest answer is what the machine's scheduling alone costs (three servers, sixteen writers and the
database on two cores), so a /healthz maximum can be read against it.

    .venv/bin/python bench/writes.py [--clients 16] [--rounds 12]
"""

import argparse
import csv
import io
import multiprocessing
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx  # noqa: E402
from access import ARCHIVE, free_port, installations, request_form, serve, token  # noqa: E402

from archive_service.demo import citizen_id  # noqa: E402
from archive_service.transfers import register  # noqa: E402

XICHENG = "110102"


def register_csv(serials: range) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(register.HEADERS)
    for n, serial in enumerate(serials, start=1):
        born = date(1950, 1, 1) + timedelta(days=serial % 5000)
        writer.writerow(
            [
                n,
                f"并发{serial}",
                "男",
                citizen_id(XICHENG, born, 2 * (serial // 5000) + 101, "M"),
                born.isoformat(),
                "",
                XICHENG,
                XICHENG,
                "",
                1,
                80,
                30,
                "",
                "否",
                "否",
                "否",
                "",
            ]
        )
    return out.getvalue().encode()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def watch_health(url: str, stop, answers) -> None:  # type: ignore[no-untyped-def]
    times = []
    try:
        os.nice(-10)  # the instrument's own turn on the CPU is not the server's answer time
    except PermissionError:
        pass
    with httpx.Client(timeout=30) as c:
        c.get(f"{url}/healthz").raise_for_status()
        answers.put("ready")
        while not stop.is_set():
            t = time.perf_counter()
            c.get(f"{url}/healthz").raise_for_status()
            times.append(time.perf_counter() - t)
            time.sleep(0.05)
    answers.put(times)


def bare_server(port: int) -> None:
    """The control: answers every request at once, on its own event loop."""
    import asyncio

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await reader.readline():
            while (await reader.readline()) not in (b"\r\n", b""):
                pass
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
            await writer.drain()

    async def main() -> None:
        server = await asyncio.start_server(answer, "127.0.0.1", port)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def run(url: str, clients: int, rounds: int) -> dict[str, object]:
    clerk, requester = token(url, "clerk"), token(url, "sibao")
    organisations = httpx.get(f"{url}/api/organisations", headers=clerk).json()
    enterprise = [o for o in organisations if o["kind"] == "enterprise"][4]["id"]
    # The receiving desk's batch: one row per check-in to come.
    check_ins = clients * rounds
    desk = httpx.post(
        f"{url}/api/transfers",
        data={"enterprise_id": str(enterprise)},
        files={"file": ("名册.csv", register_csv(range(1, check_ins + 1)), "text/csv")},
        headers=clerk,
        timeout=60,
    )
    desk.raise_for_status()
    batch = desk.json()["id"]
    ask = request_form("并发写入基准", days=3)
    serials = iter(range(100_000, 200_000))
    rows = iter(range(1, check_ins + 1))  # the register's 序号
    lock = threading.Lock()

    def write(kind: str) -> tuple[str, float, int]:
        with lock:
            serial, row = next(serials), next(rows) if kind == "receive" else 0
        start = time.perf_counter()
        if kind == "upload":
            r = httpx.post(
                f"{url}/api/transfers",
                data={"enterprise_id": str(enterprise)},
                files={"file": ("名册.csv", register_csv(range(serial, serial + 1)), "text/csv")},
                headers=clerk,
                timeout=60,
            )
        elif kind == "request":
            r = httpx.post(f"{url}/api/requests", json=ask, headers=requester, timeout=60)
        else:
            r = httpx.post(f"{url}/api/transfers/{batch}/receive", json={"key": f"#{row}"}, headers=clerk, timeout=60)
        return kind, time.perf_counter() - start, r.status_code

    # The watcher is a process of its own: a thread beside sixteen writer threads would measure this
    # client's GIL, not the server.
    stop = multiprocessing.Event()
    answers: multiprocessing.Queue = multiprocessing.Queue()
    watcher = multiprocessing.Process(target=watch_health, args=(url, stop, answers))
    watcher.start()
    control_port = free_port()
    control = multiprocessing.Process(target=bare_server, args=(control_port,), daemon=True)
    control.start()
    control_answers: multiprocessing.Queue = multiprocessing.Queue()
    control_watcher = multiprocessing.Process(
        target=watch_health, args=(f"http://127.0.0.1:{control_port}", stop, control_answers)
    )
    control_watcher.start()
    answers.get(timeout=30)  # the watchers' first answers: they are watching
    control_answers.get(timeout=30)
    kinds = ["upload", "request", "receive"]
    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(write, [kinds[i % 3] for i in range(clients * rounds)]))
    elapsed = time.perf_counter() - started
    stop.set()
    health = answers.get(timeout=60)
    bare = control_answers.get(timeout=60)
    watcher.join()
    control_watcher.join()
    control.terminate()
    by_kind: dict[str, list[float]] = defaultdict(list)
    failures = defaultdict(int)
    for kind, seconds, status in results:
        by_kind[kind].append(seconds)
        if status not in (200, 201):
            failures[kind] += 1
    return {
        "by_kind": by_kind,
        "failures": failures,
        "health": health,
        "bare": bare,
        "elapsed": elapsed,
        "total": len(results),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    table = []
    for label, _, env, var in installations("bench-writes", ARCHIVE_JOB_WORKERS="0"):
        subprocess.run([*ARCHIVE, "db", "upgrade"], env=env, check=True, capture_output=True)
        subprocess.run([*ARCHIVE, "demo", "--retirees", "30"], env=env, check=True, capture_output=True)
        port = free_port()
        log = var / "serve.log"
        proc = serve(env, port, args.workers, log)
        try:
            table.append((label, run(f"http://127.0.0.1:{port}", args.clients, args.rounds)))
        finally:
            proc.terminate()
            proc.wait(timeout=20)
        if "Traceback" in log.read_text():
            print(f"{label}: the server logged an exception, see {log}")
    machine = f"{platform.node()} {os.cpu_count()} cores, Python {platform.python_version()}"
    print(
        f"\n{machine}, {time.strftime('%Y-%m-%d')}; {args.workers} uvicorn workers, {args.clients} writers at once, "
        f"{args.clients * args.rounds} writes (uploads, requests, check-ins in turn)\n"
    )
    print(
        "| database | write | n | failed | p50 ms | p95 ms | max ms | /healthz p95 ms | /healthz max ms "
        "| bare server max ms | writes/s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for label, r in table:
        health = r["health"]
        for kind, times in r["by_kind"].items():
            print(
                f"| {label} | {kind} | {len(times)} | {r['failures'][kind]} | "
                f"{statistics.median(times) * 1000:.0f} | {percentile(times, 0.95) * 1000:.0f} | "
                f"{max(times) * 1000:.0f} | {percentile(health, 0.95) * 1000:.1f} | {max(health) * 1000:.1f} | "
                f"{max(r['bare']) * 1000:.1f} | "
                f"{r['total'] / r['elapsed']:.1f} |"
            )
        every = [t for times in r["by_kind"].values() for t in times]
        print(
            f"| {label} | **all** | {len(every)} | {sum(r['failures'].values())} | "
            f"{statistics.median(every) * 1000:.0f} | {percentile(every, 0.95) * 1000:.0f} | {max(every) * 1000:.0f} "
            f"| {percentile(health, 0.95) * 1000:.1f} | {max(health) * 1000:.1f} | {max(r['bare']) * 1000:.1f} "
            f"| {r['total'] / r['elapsed']:.1f} |"
        )


if __name__ == "__main__":
    main()
