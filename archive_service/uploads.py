"""Reading uploaded files: the text of a CSV as the bureaus' offices save it (Excel writes GBK on
Chinese Windows, UTF-8 with a BOM elsewhere), and scans (size, type, page count). One rule for each."""

import json
import logging
import math
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from archive_service.errors import ArchiveError
from digitise import decode_check
from digitise.findings import Severity
from digitise.options import DigitiseOptions
from digitise.qc import resolution_finding, too_many_pages
from digitise.sources import SourceError, SourcePage, frame_resolutions, pages_of, pdf_scans_readable

if TYPE_CHECKING:
    from fastapi import UploadFile

log = logging.getLogger(__name__)


def cell_text(value: Any) -> str:
    """A workbook or CSV cell as text: empty for none, a whole number without ".0" (Excel stores 1 as 1.0),
    a date cell as files write dates (1978.09.01)."""
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.strftime("%Y.%m.%d")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def csv_text(data: bytes) -> str:
    """UTF-8 (with or without BOM) or GB18030 (a superset of GBK); binary content is refused."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ArchiveError("file.encoding", "CSV 编码无法识别，请以 UTF-8 或 GBK 保存", "file", 422)
    if "\x00" in text:
        raise ArchiveError("file.type", "文件不是文本格式的 CSV", "file", 422)
    return text


# ---- reading an upload ----------------------------------------------------------------------------
# Upload routes are plain `def`s: FastAPI runs them in the threadpool, so reading a file, parsing a
# workbook or decoding scans never blocks the event loop (and with it every other request).

MAX_WORKBOOK_BYTES = 20 * 1024 * 1024


def uploaded_bytes(file: "UploadFile", what: str = "文件", limit: int = MAX_WORKBOOK_BYTES) -> bytes:
    """A workbook or CSV upload, whole; refused by name when larger than the limit."""
    data = file.file.read(limit + 1)
    if len(data) > limit:
        raise ArchiveError("file.too_large", f"{what}超过 {limit // (1024 * 1024)} MB", "file", 413)
    return data


# ---- scans ---------------------------------------------------------------------------------------

MAX_SCAN_BYTES = 200 * 1024 * 1024
# How long a request decodes scans whole (issue 40, High 4): the pages after that are checked by their headers
# only (count, resolution) and decoded by the digitisation job, which names a damaged page — so an upload holds
# its request thread for seconds, not the minutes 3,000 large frames take.
DECODE_SECONDS = 10.0
# The decoding runs in a process of its own (digitise/decode_check.py), one at a time for each server process:
# decoded in the server, one 144-megapixel scan grew it by 1.1 GB that it kept (issue 40, medium). Waiting for
# the turn counts against DECODE_SECONDS; the process's start is allowed this much more.
_DECODING = threading.BoundedSemaphore(1)
_START_SECONDS = 10.0


def saved_scans(files: "list[UploadFile]", folder: Path) -> list[Path]:
    """Uploaded scans written to a folder, streamed, each under its own file name (directories and
    odd characters removed) so that an error names the file the clerk chose."""
    paths = []
    for n, upload in enumerate(files, start=1):
        name = re.sub(r"[^\w.()（）-]+", "_", Path(upload.filename or "").name)[-100:].lstrip(".") or "scan"
        path = folder / f"{n:03d}" / name
        path.parent.mkdir()
        with path.open("wb") as out:
            while chunk := upload.file.read(1 << 20):
                out.write(chunk)
                if out.tell() > MAX_SCAN_BYTES:
                    raise ArchiveError("scans.too_large", f"{upload.filename} 超过 200 MB", "scans", 413)
        paths.append(path)
    return paths


def scan_frames(scans: Sequence[Path]) -> int:
    """The number of pages in the scans, each file opened as what it claims to be (a TIFF that is a
    TIFF, a PDF that parses, no decompression bomb), no more pages than one digitisation takes (counted before
    anything is decoded), every page's resolution from its header, and image pages decoded whole — in a process of
    their own, for up to `DECODE_SECONDS` (a truncated scan is refused at the counter, not by a failed job later;
    the job decodes the rest); the first bad file is named."""
    options = DigitiseOptions()
    max_pixels = options.max_image_pixels
    counted: list[tuple[Path, list[SourcePage]]] = []
    for scan in scans:
        if scan.stat().st_size > MAX_SCAN_BYTES:
            raise ArchiveError("scans.too_large", f"{scan.name} 超过 200 MB", "scans", 413)
        try:
            counted.append((scan, pages_of(scan, max_pixels)))
        except SourceError as exc:
            raise ArchiveError(exc.code, f"{scan.name}：{exc.message}", "scans", 422) from None
    frames = sum(len(pages) for _, pages in counted)
    if frames > options.max_pages:
        refused = too_many_pages(frames, options.max_pages)
        raise ArchiveError(refused.code, refused.message, "scans", 422)
    try:
        images = []
        for scan, pages in counted:
            if pages[0].media_type == "application/pdf":
                pdf_scans_readable(scan, max_pixels)
                continue
            images.append(scan)
            for frame, dpi in frame_resolutions(scan, max_pixels, decode_until=-math.inf):  # headers only
                # A 150 dpi scan is refused here, by its header, not by the job.
                low = resolution_finding(dpi, options) if dpi else None
                if low is not None and low.severity is Severity.error:
                    where = f"第 {frame + 1} 页" if len(pages) > 1 else ""
                    raise ArchiveError(low.code, f"{scan.name}{where}：{low.message}（DA/T 31 9.4）", "scans", 422)
        _decode_elsewhere(images, max_pixels)
    except SourceError as exc:
        raise ArchiveError(exc.code, f"{exc.path.name}：{exc.message}", "scans", 422) from None
    return frames


def _decode_elsewhere(images: list[Path], max_pixels: int) -> None:
    """Decode the image scans whole in a child process (digitise/decode_check.py) for what is left of
    `DECODE_SECONDS`; a damaged one raises its SourceError here. A child that does not answer in time, or dies,
    leaves the pages to the job, which decodes every one and names a damaged page."""
    until = time.monotonic() + DECODE_SECONDS
    if not images or not _DECODING.acquire(timeout=DECODE_SECONDS):
        return
    try:
        left = max(0.0, until - time.monotonic())
        root = str(Path(decode_check.__file__).resolve().parent.parent)  # where `digitise` is, however served
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
        command = [sys.executable, "-m", "digitise.decode_check", f"{left:.3f}", str(max_pixels), *map(str, images)]
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=left + _START_SECONDS)
    except subprocess.TimeoutExpired:
        log.warning("上传扫描件解码检查超时，留待数字化任务解码：%s", ", ".join(p.name for p in images))
        return
    finally:
        _DECODING.release()
    if done.returncode == decode_check.DAMAGED:
        answer = json.loads(done.stdout.strip().splitlines()[-1])
        raise SourceError(images[answer["file"]], answer["code"], answer["message"])
    if done.returncode != 0:
        log.warning(
            "上传扫描件解码检查进程异常退出（%s），留待数字化任务解码：%s", done.returncode, done.stderr[-2000:]
        )
