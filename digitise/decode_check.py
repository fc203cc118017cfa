"""Decoding scans whole in a process of their own (issue 40, medium): the upload check decodes image pages to
refuse a truncated or damaged scan at the counter, and a 144-megapixel page decoded inside the web server grew
it by over a gigabyte that its allocator kept after the request. Here the decoded pages live and die with this
process; the server keeps only the answer.

    python -m digitise.decode_check SECONDS MAX_PIXELS PATH...

Decodes every frame of each file in order until SECONDS have passed (the frames after that are the job's to
decode), then prints one JSON line: {"decoded": frames} when nothing was wrong, or the first damaged file's
{"file": its index, "code": ..., "message": ...} with exit status 3 (DAMAGED)."""

import json
import sys
import time
from pathlib import Path

from digitise.sources import SourceError, frame_resolutions

DAMAGED = 3


def decode(paths: list[Path], max_pixels: int, seconds: float) -> dict[str, object]:
    until = time.monotonic() + seconds
    decoded = 0
    for n, path in enumerate(paths):
        try:
            for _frame, _dpi in frame_resolutions(path, max_pixels, until):
                if time.monotonic() >= until:
                    return {"decoded": decoded}
                decoded += 1
        except SourceError as exc:
            return {"file": n, "code": exc.code, "message": exc.message}
    return {"decoded": decoded}


def main(argv: list[str]) -> int:
    seconds, max_pixels, *paths = argv
    answer = decode([Path(p) for p in paths], int(max_pixels), float(seconds))
    print(json.dumps(answer))  # ASCII whatever the locale: the server reads it back
    return DAMAGED if "code" in answer else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
