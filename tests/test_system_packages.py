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


def _pins(lock: str) -> dict[str, str]:
    text = (ROOT / lock).read_text()
    return {m[1].lower().replace("_", "-"): m[2] for m in re.finditer(r"^([A-Za-z0-9_.-]+)==(\S+) \\$", text, re.M)}


def _names(requirements: list[str]) -> set[str]:
    return {re.split(r"[\[<>=!~ ;]", r, maxsplit=1)[0].lower().replace("_", "-") for r in requirements}


def test_bootstrap_ci_and_the_image_install_the_locked_versions_with_hashes():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime, test = _pins("requirements.lock"), _pins("requirements-test.lock")
    # Every direct dependency is pinned; the test lock holds the runtime pins unchanged.
    assert _names(project["dependencies"]) <= set(runtime)
    assert _names(project["optional-dependencies"]["test"]) <= set(test)
    assert all(test[name] == version for name, version in runtime.items())
    for lock in ("requirements.lock", "requirements-test.lock"):
        text = (ROOT / lock).read_text()
        blocks = re.split(r"\n(?=[A-Za-z0-9_.-]+==)", text)[1:]  # one per pinned package
        unhashed = [b.split()[0] for b in blocks if "--hash=sha256:" not in b]
        assert blocks and not unhashed, unhashed
        assert "file://" not in text and "--find-links" not in text  # nothing from one machine's disk
    assert "--require-hashes -r requirements-test.lock" in (ROOT / "scripts" / "bootstrap.sh").read_text()
    assert "--require-hashes -r requirements.lock" in (ROOT / "Dockerfile").read_text()
