"""The container is the same program as `make run` (issue 23.7): one list of Debian packages, read by
scripts/bootstrap.sh and by the Dockerfile; the fonts the PDFs embed are on it; the image sets the zone."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _packages(name: str) -> set[str]:
    text = (ROOT / "scripts" / name).read_text()
    return {word for line in text.splitlines() for word in line.split("#")[0].split()}


def test_bootstrap_and_the_image_read_the_same_list():
    assert "scripts/debian-packages.txt" in (ROOT / "scripts" / "bootstrap.sh").read_text()
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "COPY scripts/debian-packages.txt" in dockerfile
    # No package list of its own beside the shared one.
    installs = re.findall(r"apt-get install[^\n]*", dockerfile)
    assert installs and all("debian-packages.txt" in line for line in installs), installs


def test_the_list_has_what_the_service_uses_at_run_time():
    runtime = _packages("debian-packages.txt")
    # Labels and receipts embed WenQuanYi Micro Hei (shelving/labels.py); OCR needs Tesseract's Chinese model.
    assert {"fonts-wqy-microhei", "tesseract-ocr", "tesseract-ocr-chi-sim", "poppler-utils", "tzdata"} <= runtime
    # PP-OCR's OpenCV needs libGL and GLib, which a slim image lacks.
    assert {"libgl1", "libglib2.0-0"} <= runtime
    assert "chromium" not in runtime and "chromium" in _packages("debian-packages-test.txt")


def test_the_image_sets_the_bureaus_time_zone():
    assert re.search(r"^ENV .*\bTZ=Asia/Shanghai\b", (ROOT / "Dockerfile").read_text(), re.M)
