"""The code stays as DESIGN.md §5 says: ruff and mypy clean, and laid out by one formatter. Run here so a
change that breaks any of them fails `make test`, not only `make lint`."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PACKAGES = ("archive_service", "digitise", "storage", "search")


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_ruff_finds_nothing():
    done = _run(str(BIN / "ruff"), "check", *PACKAGES, "tests", "bench")
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_code_is_laid_out_by_ruff_format():
    done = _run(str(BIN / "ruff"), "format", "--check", *PACKAGES, "tests", "bench")
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_finds_nothing():
    done = _run(sys.executable, "-m", "mypy", *PACKAGES)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Success: no issues found" in done.stdout
