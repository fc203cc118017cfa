"""Issue 22.7 and the low findings: writes with the session cookie only from our own pages, headers on
pages that carry personal data, non-numbers refused as numbers, and `%`/`_` taken literally in name search."""

import re
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import archive_service
from archive_service.access.models import RequestStatus, RetrievalRequest
from archive_service.db import get_engine
from archive_service.dossiers.models import Dossier, DossierStatus
from tests.archive_service.test_forms_keep_values import _cookie_login
from tests.archive_service.test_requests import form
from tests.archive_service.test_transfers_api import enterprise_id

OWN = "http://testserver"


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
    script_src = next(d for d in policy.split(";") if d.strip().startswith("script-src"))
    assert script_src.split() == ["script-src", "'self'"]  # no inline script runs, an injected one included


def test_no_page_holds_an_inline_script_the_policy_would_block():
    """Issue 40 (low): the page policy allowed inline scripts. Every script is a file under /static now; a
    template with a script body or an event attribute would silently stop working in the browser."""
    templates = Path(archive_service.__file__).parent / "web" / "templates"
    for template in templates.glob("*.html"):
        text = template.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), f"{template.name}: a script without src"
        assert not re.search(r"\son[a-z]+\s*=", text), f"{template.name}: an event attribute (onclick=…)"
        assert "javascript:" not in text, template.name
    static = Path(archive_service.__file__).parent / "web" / "static"
    for src in re.findall(r'<script src="/static/([^"]+)"', "".join(t.read_text() for t in templates.glob("*.html"))):
        assert (static / src).is_file(), src


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


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_a_large_body_is_refused_before_it_is_read_unless_signed_in_and_within_the_limit(client, login, monkeypatch):
    from archive_service.config import get_settings

    big = {"file": ("名册.xlsx", b"x" * (2 * 1024 * 1024))}
    anonymous = client.post("/api/transfers", data={"enterprise_id": "1"}, files=big)
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "unauthenticated", anonymous.text
    forged = client.post(
        "/api/transfers", data={"enterprise_id": "1"}, files=big, headers={"authorization": "Bearer x"}
    )
    assert forged.status_code == 401
    clerk = login("clerk")
    signed_in = client.post("/api/transfers", data={"enterprise_id": "1"}, files=big, headers=clerk)
    assert signed_in.status_code in (404, 422), signed_in.text  # read and checked by the route
    monkeypatch.setenv("ARCHIVE_MAX_UPLOAD_MB", "1")
    get_settings.cache_clear()
    try:
        over = client.post("/api/transfers", data={"enterprise_id": "1"}, files=big, headers=clerk)
        assert over.status_code == 413 and over.json()["code"] == "body.too_large", over.text
    finally:
        monkeypatch.delenv("ARCHIVE_MAX_UPLOAD_MB")
        get_settings.cache_clear()


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_a_workbook_that_unpacks_to_gigabytes_is_refused_unopened(client, login):
    import io
    import resource
    import zipfile

    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        with z.open("xl/sharedStrings.xml", "w", force_zip64=True) as part:
            chunk = b"<si><t>" + b"A" * (1 << 20) + b"</t></si>"
            for _ in range(240):  # 240 MB of text (the limit is 200 MB), about a megabyte packed
                part.write(chunk)
    assert len(bomb.getvalue()) < 3 * 1024 * 1024
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    r = client.post(
        "/api/transfers", data={"enterprise_id": enterprise_id(client, login("clerk"))},
        files={"file": ("名册.xlsx", bomb.getvalue())}, headers=login("clerk"),
    )  # fmt: skip
    assert r.status_code == 413 and r.json()["field"] == "file" and "解压后过大" in r.json()["message"], r.text
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200 * 1024  # KB: nothing inflated


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_a_workbook_with_a_dtd_is_refused(client, login):
    import io

    from openpyxl import Workbook

    book, out = Workbook(), io.BytesIO()
    book.active.append(["序号", "姓名"])
    book.save(out)
    packed = io.BytesIO()
    import zipfile

    with zipfile.ZipFile(io.BytesIO(out.getvalue())) as src, zipfile.ZipFile(packed, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                dtd = b'<!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
                assert data.startswith(b"<worksheet")
                data = dtd + data
            dst.writestr(item, data)
    r = client.post(
        "/api/transfers", data={"enterprise_id": enterprise_id(client, login("clerk"))},
        files={"file": ("名册.xlsx", packed.getvalue())}, headers=login("clerk"),
    )  # fmt: skip
    assert r.status_code == 422 and r.json()["code"] == "file.type", r.text  # refused unparsed, by name


def test_the_data_directory_is_its_owners_only(tmp_path, monkeypatch):
    import stat

    from archive_service import db
    from tests.conftest import _clear_caches

    var = tmp_path / "var"
    var.mkdir(mode=0o755)
    var.chmod(0o755)  # as a default umask leaves it: readable by every local user
    monkeypatch.setenv("ARCHIVE_VAR_DIR", str(var))
    monkeypatch.delenv("ARCHIVE_DATABASE_URL", raising=False)
    _clear_caches()
    try:
        db.get_engine()
        mode = stat.S_IMODE(var.stat().st_mode)
        assert mode & 0o077 == 0, oct(mode)  # no group or other access to the database, objects or index
    finally:
        db.get_engine().dispose()
        _clear_caches()


def test_a_basic_authorization_header_neither_skips_the_cross_site_check_nor_rides_on_the_cookie(client, login):
    """Issue 40 (Medium): any Authorization header skipped the cross-site check, and `Basic …` with the session
    cookie was signed in by the cookie. Only a bearer token is exempt, and a non-bearer header signs in nothing."""
    _cookie_login(client, "approver")
    basic = {"authorization": "Basic YXBwcm92ZXI6eA=="}
    assert client.get("/api/me").status_code == 200  # the cookie alone signs in
    assert client.get("/api/me", headers=basic).status_code == 401
    evil = {**basic, "origin": "http://testserver:8081"}
    r = client.post("/requests/1/decide", data={"approve": "yes"}, headers=evil, follow_redirects=False)
    assert r.status_code == 403 and "request.cross_site" in r.text, r.text[:300]
    assert client.get("/api/me", headers=login("approver")).status_code == 200  # bearer clients as before


@pytest.mark.served
@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)  # the web server's behaviour, not a database rule
def test_the_server_does_not_take_a_forwarded_address_from_a_proxy_nobody_configured(client, tmp_path):
    """Issue 40 (Medium): uvicorn believed X-Forwarded-For from any loopback peer although ARCHIVE_TRUSTED_PROXIES
    was empty, so anyone on the host could write any address into the access log."""
    import httpx

    from archive_service.access.models import AccessLogEntry
    from archive_service.demo import DEMO_PASSWORD
    from tests.archive_service.test_server_crash import _kill, _serve
    from tests.conftest import demo_codes

    proc, url = _serve(tmp_path / "serve.log", workers=1)
    try:
        body = {"username": "archivist", "password": DEMO_PASSWORD, "code": demo_codes("archivist")}
        forged = {"x-forwarded-for": "203.0.113.9"}
        assert httpx.post(f"{url}/api/auth/login", json=body, headers=forged, timeout=60).status_code == 200
    finally:
        _kill(proc)
    with Session(get_engine()) as s:
        last = s.scalars(select(AccessLogEntry).order_by(AccessLogEntry.seq.desc())).first()
    assert last is not None and last.action == "login" and last.client_address == "127.0.0.1"


def test_the_api_description_is_for_signed_in_people_only(client, login):
    """Issue 40 (Low): /openapi.json and /docs were served to anyone who could reach the server."""
    for path in ("/openapi.json", "/docs", "/redoc"):
        r = client.get(path, follow_redirects=False)
        assert r.status_code in (303, 404), (path, r.status_code)
        assert r.status_code == 404 or r.headers["location"].startswith("/login"), (path, r.headers)
    described = client.get("/openapi.json", headers=login("archivist"))
    assert described.status_code == 200 and "/api/dossiers" in described.json()["paths"]
    page = client.get("/docs", headers=login("archivist"))
    assert page.status_code == 200 and "/openapi.json" in page.text
