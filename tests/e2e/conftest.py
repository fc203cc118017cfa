"""A real server (uvicorn in its own process, demo data on SQLite) and Debian's Chromium, and the one way every
browser test signs in: `sign_in` (the password, then the authenticator's code where the bureau requires two
factors — 西城 does for every role)."""

import os
import shutil
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


# The demo's accounts are hashed at argon2id's lightest cost, as the other tests' (tests/conftest.py): the server
# verifies a password at the cost its stored hash names, so each browser or API login costs it ~0.001 s of CPU
# instead of 0.38 s. Passwords the tests set through the server are hashed as in service.
LIGHT_DEMO = (
    "from argon2 import PasswordHasher; from archive_service.auth import passwords; "
    "passwords._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1); "
    "from archive_service.cli import app; app(['demo', '--retirees', '120'])"
)


def _install(archive: list[str], env: dict[str, str]) -> None:
    """A fresh installation in env's ARCHIVE_VAR_DIR: migrated, with the demo's 120 files."""
    subprocess.run([*archive, "db", "upgrade"], env=env, check=True, capture_output=True)
    subprocess.run([sys.executable, "-c", LIGHT_DEMO], env=env, check=True, capture_output=True)


# `archive demo --with-scans` digitises only after loading the demo (`add_demo_scans`): the server with scans
# starts from a copy of the same fresh installation as the servers without and only digitises, instead of
# migrating and loading the demo again (~22 s of CPU).
ADD_SCANS = "from archive_service.startup import start; start(); from archive_service.cli.installation import add_demo_scans; add_demo_scans()"  # noqa: E501
_without_scans: list[Path] = []  # the installation every server copies (its var directory): made once


def serve(tmp_path_factory, with_scans: bool = True) -> Iterator[str]:
    """A server on a fresh installation with the demo's 120 files; with its scans digitised, as `make run`
    gives it, unless a test needs no digitised file."""
    var = tmp_path_factory.mktemp("e2e-var")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARCHIVE_")}
    env.update(ARCHIVE_VAR_DIR=str(var))
    archive = [sys.executable, "-m", "archive_service.cli"]
    if not _without_scans:
        _install(archive, {**env, "ARCHIVE_VAR_DIR": str(template := tmp_path_factory.mktemp("e2e-template"))})
        _without_scans.append(template)
    shutil.copytree(_without_scans[0], var, dirs_exist_ok=True)
    if with_scans:  # as `archive demo --with-scans` does: one digitised dossier and two requests for it, a batch
        subprocess.run([sys.executable, "-c", ADD_SCANS], env=env, check=True, capture_output=True)
    port = _free_port()
    log = open(var / "server.log", "w")
    proc = subprocess.Popen([*archive, "serve", "--port", str(port)], env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        # Up by a deadline, not a count of tries: on a busy machine the start can take minutes, and a server not
        # up must fail here with its log, not later as a refused connection in some test's first click.
        deadline = time.monotonic() + 300
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None:
                raise RuntimeError((var / "server.log").read_text())
            if time.monotonic() > deadline:
                raise RuntimeError(f"test server not up after 300 s:\n{(var / 'server.log').read_text()}")
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
    from playwright.sync_api import expect

    # The bureau's office screens: 1366×768.
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    page = context.new_page()
    # Waits (actions, locators and expect's assertions) get 90 s rather than Playwright's 30: CI's machine may
    # be loaded, and a wait ends as soon as its condition holds, so a passing run is no slower.
    page.set_default_timeout(90_000)
    expect.set_options(timeout=90_000)  # expect() keeps its own default (5 s) otherwise
    yield page
    context.close()


def shot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def type_login(page, server: str, username: str, password: str | None = None) -> None:
    """On the login page: the password, then — where it is asked — the code of the demo account's authenticator."""
    from archive_service.demo import DEMO_PASSWORD
    from tests.conftest import demo_codes

    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password or DEMO_PASSWORD)
    # Each 登录 is a form post: the page read next is the one it answers with, not the one being left.
    with page.expect_navigation():
        page.get_by_role("button", name="登录").click()
    if "/login/code" in page.url:
        page.get_by_label("动态验证码").fill(demo_codes(username, where=server))
        with page.expect_navigation():
            page.get_by_role("button", name="登录").click()


_signed_in: dict[tuple[str, str], list[dict]] = {}  # (server, username) -> the session cookie of its last login


def sign_in(page, server: str, username: str, password: str | None = None) -> None:
    """Sign in as a demo user, as a person does: both factors. A user signed in earlier in the run whose session is
    still open continues it (as the browser would keep its cookie) — a code is good once, and a new login of the
    same user within half a minute would wait for the authenticator's next code."""
    page.context.clear_cookies()
    kept = _signed_in.get((server, username))
    if kept and password is None:
        page.context.add_cookies(kept)
        if page.request.get(f"{server}/api/me").status == 200:
            page.goto(f"{server}/")
            page.wait_for_load_state()
            return
        page.context.clear_cookies()
    page.goto(f"{server}/login")
    type_login(page, server, username, password)
    assert "/login" not in page.url, f"{username} 未能登录：{page.url}"
    _signed_in[(server, username)] = [c for c in page.context.cookies() if c["name"] == "archive_session"]


def bearer(page, server: str, username: str) -> dict[str, str]:
    """An API token of a demo user, for a browser test's direct calls (password and code in one request)."""
    from archive_service.demo import DEMO_PASSWORD
    from tests.conftest import demo_codes

    body = {"username": username, "password": DEMO_PASSWORD, "code": demo_codes(username, where=server)}
    r = page.request.post(f"{server}/api/auth/login", data=body)
    assert r.status == 200, r.text()
    return {"authorization": f"Bearer {r.json()['token']}"}
