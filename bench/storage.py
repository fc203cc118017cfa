"""Object store throughput: put/get of 1,000 × 200 KB and 10 × 200 MB objects, and fixity rate,
on the local adapter and on MinIO's S3 API (a SeaweedFS `weed mini` on 127.0.0.1).

    .venv/bin/python bench/storage.py [--small N] [--large N] [--large-mb MB]
"""

import argparse
import hashlib
import io
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from storage import LocalObjectStore, ObjectStore, S3ObjectStore  # noqa: E402

KEY, SECRET = "bench", "bench-secret"


def start_weed(data: Path) -> subprocess.Popen:
    weed = Path(sys.executable).parent / "weed"
    env = dict(os.environ, AWS_ACCESS_KEY_ID=KEY, AWS_SECRET_ACCESS_KEY=SECRET)
    proc = subprocess.Popen(
        [str(weed), "mini", f"-dir={data}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.time() + 90
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", 8333)) == 0:
                try:
                    S3ObjectStore("127.0.0.1:8333", KEY, SECRET, "probe")
                    return proc
                except Exception:
                    pass
        time.sleep(0.5)
    raise SystemExit("weed mini did not start")


def run(store: ObjectStore, label: str, count: int, size: int, workdir: Path) -> list[tuple]:
    # Distinct random-ish content per object (content addressing would de-duplicate equal ones).
    seed = os.urandom(size)
    files = []
    if size > 8 * 1024 * 1024:
        for i in range(count):
            p = workdir / f"big{i}"
            with open(p, "wb") as f:
                f.write(i.to_bytes(8, "big"))
                f.write(seed)
            files.append(p)
    payloads = None if files else [i.to_bytes(8, "big") + seed for i in range(count)]
    total = count * (size + 8)

    t = time.perf_counter()
    stored = [store.put_file(p) for p in files] if files else [store.put_stream(io.BytesIO(b)) for b in payloads]  # type: ignore[union-attr]
    put_s = time.perf_counter() - t

    t = time.perf_counter()
    for s in stored:
        h = hashlib.sha256()
        for chunk in store.open(s.key):
            h.update(chunk)
    get_s = time.perf_counter() - t

    t = time.perf_counter()
    assert all(store.verify(s.key, s.sha256).ok for s in stored)
    fix_s = time.perf_counter() - t
    for p in files:
        p.unlink()
    mb = total / 1e6
    return [
        (
            label,
            f"{count} × {size // 1000} KB" if size < 1e6 else f"{count} × {size // 1_000_000} MB",
            f"{mb / put_s:.1f}",
            f"{count / put_s:.1f}",
            f"{mb / get_s:.1f}",
            f"{count / get_s:.1f}",
            f"{mb / fix_s:.1f}",
        )
    ]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--small", type=int, default=1000)
    ap.add_argument("--large", type=int, default=10)
    ap.add_argument("--large-mb", type=int, default=200)
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as tmp:
        work = Path(tmp)
        proc = start_weed(work / "weed")
        try:
            stores = {
                "local": LocalObjectStore(work / "objects"),
                "s3 (weed mini)": S3ObjectStore("127.0.0.1:8333", KEY, SECRET, "bench"),
            }
            for label, store in stores.items():
                rows += run(store, label, args.small, 200_000, work)
                rows += run(store, label, args.large, args.large_mb * 1_000_000, work)
        finally:
            os.killpg(proc.pid, 15)
            proc.wait(timeout=30)
        shutil.rmtree(work / "weed", ignore_errors=True)
    head = ("adapter", "objects", "put MB/s", "put obj/s", "get MB/s", "get obj/s", "fixity MB/s")
    print(
        f"machine: {platform.node()} {os.cpu_count()} cores, python {platform.python_version()}, "
        f"{time.strftime('%Y-%m-%d')}"
    )
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in rows:
        print("| " + " | ".join(r) + " |")


if __name__ == "__main__":
    main()
