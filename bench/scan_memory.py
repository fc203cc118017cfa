"""Issue 40 (medium): what uploading one 144-megapixel scan (under the 150-megapixel limit) does to the memory of
`archive serve` (one worker, SQLite, demo data, no job workers: only the upload check runs) on loopback. For each
scan — a colour TIFF (LZW) and a colour JPEG, 12,000 × 12,000 pixels, drawn like a page — prints the answer, the
time, the server's memory (VmRSS) before and after and the growth of its peak (VmHWM), and the peak of any
process the server started meanwhile (sampled every 20 ms).

    .venv/bin/python bench/scan_memory.py [--code DIR]

`--code DIR` serves another checkout of this repository (e.g. `git archive main | tar -x -C /tmp/old`), to
measure the same uploads before a change. The mechanism has its test (tests/digitise/test_inputs.py:
test_the_upload_check_decodes_scans_in_a_process_of_its_own); this script prints the figures for
bench/RESULTS.md.
"""

import argparse
import os
import platform
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx  # noqa: E402
from access import token  # noqa: E402
from hostile_bodies import serve  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

from tests.attacks import memory_mb  # noqa: E402

SIDE = 12_000  # 144 Mpx


def scan(folder: Path) -> list[Path]:
    """A page-like colour scan: cream paper, ruled cells and dark strokes where the writing is."""
    Image.MAX_IMAGE_PIXELS = None
    page = Image.new("RGB", (SIDE, SIDE), (244, 240, 228))
    draw = ImageDraw.Draw(page)
    rng = random.Random(1)
    for y in range(600, SIDE - 600, 300):
        draw.line([(600, y), (SIDE - 600, y)], fill=(60, 60, 60), width=6)
        for _ in range(40):
            x = rng.randrange(700, SIDE - 900)
            draw.rectangle([x, y + 60, x + rng.randrange(40, 200), y + 220], fill=(30, 30, 40))
    tiff, jpeg = folder / "scan-144mpx.tif", folder / "scan-144mpx.jpg"
    page.save(tiff, "TIFF", compression="tiff_lzw", dpi=(600, 600))
    page.save(jpeg, "JPEG", quality=85, dpi=(600, 600))
    return [tiff, jpeg]


def children_peak(pid: int, stop: threading.Event, peak: list[float]) -> None:
    """The largest VmHWM of any child of `pid` seen until `stop`."""
    while not stop.is_set():
        for task in Path(f"/proc/{pid}/task").glob("*"):
            try:
                kids = (task / "children").read_text().split()
            except OSError:
                continue
            for kid in kids:
                try:
                    peak[0] = max(peak[0], memory_mb(int(kid))["VmHWM"])
                except (OSError, KeyError):
                    pass
        time.sleep(0.02)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--code", type=Path, default=Path(__file__).resolve().parent.parent)
    args = parser.parse_args()
    var = Path(tempfile.mkdtemp(prefix="scan-memory-"))
    scans = scan(var)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARCHIVE_")}
    env.update(ARCHIVE_VAR_DIR=str(var), ARCHIVE_JOB_WORKERS="0", PYTHONPATH=str(args.code))
    for step in (["db", "upgrade"], ["demo", "--retirees", "30"]):
        subprocess.run([sys.executable, "-m", "archive_service.cli", *step], env=env, cwd=args.code, check=True,
                       capture_output=True)  # fmt: skip
    rows = []
    for n, path in enumerate(scans):  # a fresh server for each scan: each peak is its own
        if n:
            time.sleep(31)  # the authenticator's next code: a code is good once
        proc, url = serve(env, args.code)
        try:
            archivist = token(url, "archivist")
            dossier = httpx.get(f"{url}/api/dossiers", headers=archivist).json()["items"][n]
            before = memory_mb(proc.pid)
            stop, peak = threading.Event(), [0.0]
            watcher = threading.Thread(target=children_peak, args=(proc.pid, stop, peak))
            watcher.start()
            started = time.monotonic()
            with path.open("rb") as f:
                answer = httpx.post(
                    f"{url}/api/dossiers/{dossier['id']}/digitisation",
                    files=[("scans", (path.name, f, "application/octet-stream"))],
                    headers=archivist,
                    timeout=600,
                )
            taken = time.monotonic() - started
            stop.set()
            watcher.join()
            time.sleep(1)
            after = memory_mb(proc.pid)
        finally:
            os.killpg(proc.pid, 9)
        rows.append(
            f"| {path.name} ({path.stat().st_size / 2**20:.1f} MB) | {answer.status_code} | {taken:.1f} s "
            f"| {before['VmRSS']:.0f} → {after['VmRSS']:.0f} MB | {after['VmHWM'] - before['VmHWM']:+.0f} MB "
            f"| {f'{peak[0]:.0f} MB' if peak[0] else '—'} |"
        )
    print("| scan, 12,000 × 12,000 colour | answer | time | server memory (VmRSS) | server peak growth "
          "| peak of a process it started |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    print("\n".join(rows))
    machine = f"{platform.node()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    print(f"\n{machine}, {time.strftime('%Y-%m-%d %H:%M %Z')}; code from {args.code}")


if __name__ == "__main__":
    main()
