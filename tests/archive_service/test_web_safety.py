"""Issue 22.7 and the low findings: writes with the session cookie only from our own pages, headers on
pages that carry personal data, non-numbers refused as numbers, and `%`/`_` taken literally in name search."""

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service.access.models import RequestStatus, RetrievalRequest
from archive_service.db import get_engine
from archive_service.demo import DEMO_PASSWORD
from archive_service.dossiers.models import Dossier, DossierStatus
from tests.archive_service.test_requests import form

OWN = "http://testserver"


def _cookie_login(client, username: str) -> None:
    r = client.post("/login", data={"username": username, "password": DEMO_PASSWORD}, follow_redirects=False)
    assert r.status_code == 303, r.text


def test_a_form_posted_from_another_origin_with_the_approvers_cookie_is_refused(client, login):
    """A page on another port of the same host is the same site (SameSite=Strict lets the cookie through) but
    another origin: its auto-submitting form must not approve anything."""
    with Session(get_engine()) as s:
        target = s.scalars(
            select(Dossier)
            .where(Dossier.status == DossierStatus.in_custody, Dossier.archival_code.startswith("J102-"))
            .order_by(Dossier.id)
        ).first()  # one of 西城's, where the approver works
    made = client.post("/api/requests", json=form(target), headers=login("sibao"))
    assert made.status_code == 201, made.text
    request_id = made.json()["id"]
    _cookie_login(client, "approver")
    decide = {"approve": "yes", "material_classes": ["1", "9"], "reason": ""}
    for evil in ({"origin": "http://testserver:8081"}, {"referer": "http://127.0.0.1:8081/evil.html"},
                 {"origin": "null"}):  # fmt: skip
        r = client.post(f"/requests/{request_id}/decide", data=decide, headers=evil, follow_redirects=False)
        assert r.status_code == 403 and "request.cross_site" in r.text and "请求来自其他网站" in r.text, r.text
    with Session(get_engine()) as s:
        assert s.get(RetrievalRequest, request_id).status is RequestStatus.submitted  # nothing decided
    ok = client.post(f"/requests/{request_id}/decide", data=decide, headers={"origin": OWN}, follow_redirects=False)
    assert ok.status_code == 303, ok.text
    with Session(get_engine()) as s:
        assert s.get(RetrievalRequest, request_id).status is RequestStatus.approved


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_pages_are_not_cached_framed_or_sniffed(client):
    _cookie_login(client, "archivist")
    page = client.get("/dossiers")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["x-frame-options"] == "SAMEORIGIN" and page.headers["x-content-type-options"] == "nosniff"
    policy = page.headers["content-security-policy"]
    assert "frame-ancestors 'self'" in policy and "default-src 'self'" in policy and "form-action 'self'" in policy


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_nan_and_infinity_are_not_numbers(client, login):
    archivist = login("archivist")
    for value in ("nan", "inf", "-Infinity"):
        r = client.get("/api/shelving/forecast", params={"supplement_growth_pct": value}, headers=archivist)
        assert r.status_code == 422 and r.json()["field"] == "supplement_growth_pct", (value, r.text)
    _cookie_login(client, "archivist")
    r = client.post("/shelving/rooms", data={"name": "无穷库房", "kind": "store", "usable_area_m2": "NaN"})
    assert r.status_code == 422 and "不是数字" in r.text


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_percent_and_underscore_in_a_name_search_are_letters(client, login):
    archivist = login("archivist")
    everyone = client.get("/api/dossiers", params={"q": ""}, headers=archivist).json()
    for wildcard in ("%", "_", "%%"):
        found = client.get("/api/dossiers", params={"q": wildcard}, headers=archivist)
        assert found.status_code == 200
        assert found.json()["total"] == 0 < everyone["total"], wildcard
