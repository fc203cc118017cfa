"""A real server (uvicorn in its own process, demo data on SQLite) and Debian's Chromium."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM = "/usr/bin/chromium"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


DIGITISED = "J102-RS-000001"  # digitised by `archive demo --with-scans`


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> Iterator[str]:
    yield from serve(tmp_path_factory)


def serve(tmp_path_factory, with_scans: bool = True) -> Iterator[str]:
    """A server on a fresh installation with the demo's 120 files; with its scans digitised, as `make run`
    gives it, unless a test needs no digitised file."""
    var = tmp_path_factory.mktemp("e2e-var")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARCHIVE_")}
    env.update(ARCHIVE_VAR_DIR=str(var))
    archive = [sys.executable, "-m", "archive_service.cli"]
    subprocess.run([*archive, "db", "upgrade"], env=env, check=True, capture_output=True)
    # As `make run` does: the demo with one digitised dossier and two requests for it.
    demo = [*archive, "demo", "--retirees", "120", *(["--with-scans"] if with_scans else [])]
    subprocess.run(demo, env=env, check=True, capture_output=True)
    port = _free_port()
    log = open(var / "server.log", "w")
    proc = subprocess.Popen([*archive, "serve", "--port", str(port)], env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None:
                raise RuntimeError((var / "server.log").read_text())
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)  # a loaded machine takes its time to stop the workers
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: the bootstrap installs Debian's chromium package")
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            # Closed network: background services would only make refused connections.
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--lang=zh-CN",  # the browser's own controls (file picker, date fields) as bureau screens show them
            ],
            env={**os.environ, "LANGUAGE": "zh_CN"},  # only the language: the C.UTF-8 locale keeps file names intact
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    # The bureau's office screens: 1366×768.
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    page = context.new_page()
    yield page
    context.close()


def shot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
