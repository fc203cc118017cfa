"""Failed logins make the next attempt wait — growing delays, never a lockout (issue 22, low) — and the
client's address comes from X-Forwarded-For only through a configured proxy."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from archive_service.auth.models import LoginAttempt
from archive_service.config import get_settings
from archive_service.db import get_sessionmaker
from archive_service.demo import DEMO_PASSWORD
from tests.conftest import demo_codes as _codes  # the right password comes with a fresh authenticator code


def _attempt(client, username, password, address=None):
    headers = {"x-forwarded-for": address} if address else {}
    before = dict(_codes.used)
    code = _codes(username) if password == DEMO_PASSWORD else ""
    answer = client.post(
        "/api/auth/login", json={"username": username, "password": password, "code": code}, headers=headers
    )
    if answer.status_code != 200:  # a refused login spent no code: the phone's next one is still this one
        _codes.used = before
    return answer


def _age_attempts(seconds: int) -> None:
    """Let time pass for the throttle: every recorded attempt moves `seconds` into the past."""
    with get_sessionmaker()() as session:
        for attempt in session.scalars(select(LoginAttempt)):
            attempt.at -= timedelta(seconds=seconds)
        session.commit()


@pytest.fixture
def behind_proxy(monkeypatch):
    # TestClient's requests come from "testclient": make it the bureau's reverse proxy.
    monkeypatch.setenv("ARCHIVE_TRUSTED_PROXIES", '["testclient"]')
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_guessing_one_account_waits_and_the_wait_grows_but_ends(client):
    for _ in range(5):
        assert _attempt(client, "clerk", "wrong").status_code == 401
    refused = _attempt(client, "clerk", DEMO_PASSWORD)
    assert refused.status_code == 429 and refused.json()["code"] == "login.rate_limited"
    assert "30 秒后再试" in refused.json()["message"] or "29 秒后再试" in refused.json()["message"]
    _age_attempts(31)  # the delay is over: the right password works, the account was never locked
    assert _attempt(client, "clerk", DEMO_PASSWORD).status_code == 200
    # A further failure doubles the wait (6 failures in the window: 60 s).
    assert _attempt(client, "clerk", "wrong").status_code == 401
    message = _attempt(client, "clerk", DEMO_PASSWORD).json()["message"]
    assert any(f"{s} 秒后再试" in message for s in (59, 60)), message


def test_forwarded_for_from_an_unknown_client_is_ignored(client):
    # Without a configured proxy, writing a new address in the header does not reset the delay.
    for n in range(5):
        assert _attempt(client, "clerk", "wrong", address=f"10.0.0.{n}").status_code == 401
    assert _attempt(client, "clerk", DEMO_PASSWORD, address="10.9.9.9").status_code == 429


@pytest.mark.usefixtures("behind_proxy")
def test_an_attacker_elsewhere_does_not_keep_a_colleague_out(client):
    for _ in range(5):
        assert _attempt(client, "clerk", "wrong", address="203.0.113.7").status_code == 401
    assert _attempt(client, "clerk", DEMO_PASSWORD, address="203.0.113.7").status_code == 429
    # The clerk at the bureau's own desk signs in at once.
    assert _attempt(client, "clerk", DEMO_PASSWORD, address="192.168.1.20").status_code == 200


@pytest.mark.usefixtures("behind_proxy")
def test_one_office_behind_one_gateway_is_not_shut_out_by_colleagues_typos(client):
    # Six colleagues each mistype once from the same gateway address.
    for name in ("clerk", "archivist", "approver", "auditor", "admin", "dongcheng"):
        assert _attempt(client, name, "wrong", address="192.168.1.1").status_code == 401
    assert _attempt(client, "sibao", DEMO_PASSWORD, address="192.168.1.1").status_code == 200


@pytest.mark.usefixtures("behind_proxy")
def test_the_rightmost_untrusted_hop_is_the_client(client):
    # A client may prepend anything; the proxy appends the address it saw, which is what counts.
    for n in range(5):
        assert _attempt(client, "clerk", "wrong", address=f"1.1.1.{n}, 198.51.100.4").status_code == 401
    assert _attempt(client, "clerk", DEMO_PASSWORD, address="8.8.8.8, 198.51.100.4").status_code == 429


@pytest.mark.usefixtures("behind_proxy")
def test_a_name_tried_from_many_addresses_waits_briefly(client):
    for n in range(15):
        assert _attempt(client, "clerk", "wrong", address=f"198.51.100.{n}").status_code == 401
    refused = _attempt(client, "clerk", DEMO_PASSWORD, address="192.168.1.20")
    assert refused.status_code == 429
    _age_attempts(6)  # five seconds for the first step of the account-wide delay
    assert _attempt(client, "clerk", DEMO_PASSWORD, address="192.168.1.20").status_code == 200


@pytest.mark.usefixtures("behind_proxy")
def test_a_stranger_trying_a_name_elsewhere_does_not_keep_its_owner_out_and_is_shown(client):
    """Issue 40 (medium): a stranger trying a name from many addresses made its owner wait half the time. The
    owner at an address the account signed in from lately signs in at once; a new address still waits; the
    security officer sees the name tried from many addresses."""
    from fastapi.testclient import TestClient

    from tests.conftest import cookie_login

    assert _attempt(client, "clerk", DEMO_PASSWORD, address="192.168.1.20").status_code == 200  # the clerk's desk
    for n in range(15):
        assert _attempt(client, "clerk", "wrong", address=f"198.51.100.{n}").status_code == 401
    assert _attempt(client, "clerk", DEMO_PASSWORD, address="198.51.100.99").status_code == 429  # a stranger's
    assert _attempt(client, "clerk", DEMO_PASSWORD, address="192.168.1.20").status_code == 200  # at once

    officer = TestClient(client.app)
    cookie_login(officer, "security")
    page = officer.get("/security").text
    row = page[page.index('<tr data-user="clerk"') :].split("</tr>")[0]
    assert "clerk（李接收）" in row and "<td>15</td><td>15</td>" in row, row
    assert "多地址尝试的账户" in page and "账户不会被锁定" in page
