"""The HTTP API as a user meets it: login, isolation between bureaus, validation errors."""

import errno

from sqlalchemy import select

from archive_service import adapters, db
from archive_service.auth.models import User
from archive_service.config import get_settings
from archive_service.demo import DEMO_PASSWORD
from archive_service.dossiers.models import Dossier
from archive_service.jobs.models import Job
from tests.archive_service.conftest import blank_scans
from tests.archive_service.test_forms_keep_values import _cookie_login

VALID_RETIREE = {
    "name": "张建国",
    "citizen_id": "11010519491231002X",
    "sex": "F",
    "birth_date": "1949-12-31",
    "work_start_date": "1968-09-01",
    "retirement_date": "1999-12-31",
    "hukou_region_code": "110102",
    "residence_region_code": "110102",
}


def _enterprise_id(client, headers) -> int:
    orgs = client.get("/api/organisations", headers=headers).json()
    return next(o["id"] for o in orgs if o["kind"] == "enterprise" and o["region_code"] == "110102")


def test_health(client):
    assert client.get("/healthz").json()["status"] == "ok"


def test_healthz_says_when_the_data_disk_runs_low(client, monkeypatch):
    """Issue 40 (Low): /healthz said ok on a full disk. It reports the data folder's free space and is not ok
    (503) under the bureau's threshold — here one above the machine's real free space."""
    shown = client.get("/healthz")
    assert shown.status_code == 200 and shown.json()["disk_free_mb"] > 0
    monkeypatch.setenv("ARCHIVE_MIN_FREE_DISK_MB", str(10**9))
    get_settings.cache_clear()
    low = client.get("/healthz")
    assert low.status_code == 503 and low.json()["status"] == "disk_low", low.text
    assert f"数据目录所在磁盘仅余 {low.json()['disk_free_mb']} MB，低于设定的 1000000000 MB" in low.json()["message"]


def test_a_full_disk_is_named_and_nothing_is_saved(client, login, monkeypatch):
    """Issue 40 (Low): a full disk gave a generic 500 on every write. The disk cannot be filled safely here, so the
    object store's write fails as the kernel makes it fail (ENOSPC); the clerk reads that the disk is full (507),
    on the API and on the page, and no job or object is left."""

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("storage.local.LocalObjectStore.put_stream", no_space)
    monkeypatch.setattr("storage.local.LocalObjectStore.put_file", no_space)
    archivist = login("archivist")
    with db.get_sessionmaker()() as session:
        own = select(User.organisation_id).where(User.username == "archivist").scalar_subquery()
        dossier_id = session.scalars(select(Dossier.id).where(Dossier.custodian_id == own).order_by(Dossier.id)).first()
    files = [("scans", (p.name, p.read_bytes(), "image/tiff")) for p in blank_scans(2)]
    r = client.post(f"/api/dossiers/{dossier_id}/digitisation", files=files, headers=archivist)
    assert r.status_code == 507, r.text
    assert r.json()["code"] == "disk.full" and "服务器磁盘已满" in r.json()["message"]
    _cookie_login(client, "archivist")
    page = client.post(f"/dossiers/{dossier_id}/digitise", files=files)
    assert page.status_code == 507 and "服务器磁盘已满" in page.text and "Internal" not in page.text, page.text[:500]
    with db.get_sessionmaker()() as session:
        assert session.scalars(select(Job)).all() == []
    assert list(adapters.open_store(get_settings()).keys()) == []


def test_login_with_wrong_password_is_refused_in_the_error_body(client):
    r = client.post("/api/auth/login", json={"username": "archivist", "password": "wrong"})
    assert r.status_code == 401
    assert r.json() == {"code": "login.invalid", "message": "用户名或密码错误", "field": "password"}


def test_failed_logins_are_rate_limited(client):
    for _ in range(5):
        assert client.post("/api/auth/login", json={"username": "clerk", "password": "x"}).status_code == 401
    # Even the right password is refused while the window lasts.
    r = client.post("/api/auth/login", json={"username": "clerk", "password": DEMO_PASSWORD})
    assert r.status_code == 429
    assert r.json()["code"] == "login.rate_limited"


def test_api_needs_a_token(client):
    r = client.get("/api/dossiers")
    assert r.status_code == 401 and r.json()["code"] == "unauthenticated"
    r = client.get("/api/dossiers", headers={"authorization": "Bearer not-a-token"})
    assert r.status_code == 401


def test_logout_revokes_the_token(client, login):
    headers = login("archivist")
    assert client.post("/api/auth/logout", headers=headers).status_code == 204
    assert client.get("/api/me", headers=headers).status_code == 401


def test_a_bureau_sees_only_its_own_dossiers(client, login, demo):
    xicheng, dongcheng = login("archivist"), login("dongcheng")
    ours = client.get("/api/dossiers", headers=xicheng).json()
    theirs = client.get("/api/dossiers", headers=dongcheng).json()
    assert ours["total"] + theirs["total"] == demo["dossiers"]
    assert ours["total"] > 0 and theirs["total"] > 0
    assert all(d["archival_code"].startswith("J102-") for d in ours["items"])
    assert all(d["archival_code"].startswith("J101-") for d in theirs["items"])
    # Another bureau's dossier answers exactly as a dossier that does not exist.
    other_id = theirs["items"][0]["id"]
    r = client.get(f"/api/dossiers/{other_id}", headers=xicheng)
    assert r.status_code == 404
    assert r.json() == client.get("/api/dossiers/999999", headers=xicheng).json()
    # Searching for it by name or code finds nothing either.
    name = theirs["items"][0]["retiree_name"]
    found = client.get("/api/dossiers", params={"q": name}, headers=xicheng).json()["items"]
    assert other_id not in [d["id"] for d in found]
    code = theirs["items"][0]["archival_code"]
    assert client.get("/api/dossiers", params={"q": code}, headers=xicheng).json()["total"] == 0


def test_requesters_cannot_browse_dossiers(client, login):
    r = client.get("/api/dossiers", headers=login("sibao"))
    assert r.status_code == 403 and r.json()["code"] == "forbidden"


def test_find_by_last_digits_of_the_citizen_id(client, login):
    headers = login("archivist")
    first = client.get("/api/dossiers", headers=headers).json()["items"][0]
    detail = client.get(f"/api/dossiers/{first['id']}", headers=headers).json()
    last6 = first["citizen_id_masked"][-4:]
    hits = client.get("/api/dossiers", params={"q": last6}, headers=headers).json()["items"]
    assert detail["id"] in [d["id"] for d in hits]


def test_register_existing_dossier(client, login):
    headers = login("archivist")
    retiree = dict(VALID_RETIREE, enterprise_id=_enterprise_id(client, headers))
    body = {
        "retiree": retiree,
        "materials": [
            {"class_code": "9", "title": "职工退休审批表", "date_formed": "19991130", "pages": 2},
            {"class_code": "1", "title": "职工履历表", "date_formed": "1970", "pages": 4},
            {"class_code": "9", "title": "招工登记表", "date_formed": "196809", "pages": 2},
        ],
    }
    r = client.post("/api/dossiers", json=body, headers=headers)
    assert r.status_code == 201, r.text
    d = r.json()
    assert d["archival_code"].startswith("J102-RS-") and d["status"] == "in_custody" and d["pages"] == 8
    # Catalogue: class order, then date formed within the class; 份号 follow that order.
    assert [(m["sequence"], m["title"]) for m in d["materials"]] == [
        ("1-1", "职工履历表"),
        ("9-1", "招工登记表"),
        ("9-2", "职工退休审批表"),
    ]
    assert [e["kind"] for e in d["custody"]] == ["received"]
    # The same person cannot be registered twice.
    again = client.post("/api/dossiers", json=body, headers=headers)
    assert again.status_code == 409 and again.json()["field"] == "retiree.citizen_id"


def test_invalid_values_are_refused_naming_field_and_rule(client, login):
    headers = login("archivist")
    enterprise_id = _enterprise_id(client, headers)

    def post(**changes):
        retiree = dict(VALID_RETIREE, enterprise_id=enterprise_id, **changes)
        return client.post("/api/dossiers", json={"retiree": retiree}, headers=headers)

    r = post(citizen_id="110105194912310021")
    assert r.status_code == 422
    assert r.json()["code"] == "citizen_id.check_digit" and r.json()["field"] == "retiree.citizen_id"
    assert "MOD 11-2" in r.json()["message"]

    r = post(birth_date="1949-12-30")
    assert (r.json()["code"], r.json()["field"]) == ("citizen_id.birth_date_mismatch", "retiree.birth_date")

    r = post(sex="M")
    assert (r.json()["code"], r.json()["field"]) == ("citizen_id.sex_mismatch", "retiree.sex")

    r = post(hukou_region_code="990102")
    assert (r.json()["code"], r.json()["field"]) == ("region_code.province", "retiree.hukou_region_code")

    r = post(retirement_date="1960-01-01")
    assert r.json()["code"] == "retirement_date.order"

    r = post(leader_cadre=True)
    assert r.status_code == 422 and r.json()["code"] == "retiree.leader_cadre"

    r = client.post(
        "/api/dossiers",
        json={"retiree": dict(VALID_RETIREE, enterprise_id=enterprise_id), "archival_code": "J102-人事-1"},
        headers=headers,
    )
    assert (r.json()["code"], r.json()["field"]) == ("archival_code.format", "archival_code")

    r = client.post(
        "/api/dossiers",
        headers=headers,
        json={
            "retiree": dict(VALID_RETIREE, enterprise_id=enterprise_id),
            "materials": [{"class_code": "4-1", "title": "学历证明", "pages": 1}],
        },
    )
    assert (r.json()["code"], r.json()["field"]) == ("material.class_code", "materials.0.class_code")
    # Nothing of the refused registrations was written.
    assert client.get("/api/dossiers", params={"q": "张建国"}, headers=headers).json()["total"] == 0


def test_only_administrators_create_organisations(client, login):
    body = {
        "name": "北京市西城区某某公司",
        "kind": "enterprise",
        "credit_code": "914403001922038216",
        "region_code": "110102",
    }
    assert client.post("/api/organisations", json=body, headers=login("archivist")).status_code == 403
    admin = login("admin")
    assert client.post("/api/organisations", json=body, headers=admin).status_code == 201
    r = client.post("/api/organisations", json=dict(body, credit_code="914403001922038217"), headers=admin)
    assert (r.status_code, r.json()["code"], r.json()["field"]) == (
        422,
        "credit_code.check_digit",
        "credit_code",
    )


def test_unknown_api_path_uses_the_error_body(client):
    r = client.get("/api/nothing-here")
    assert r.status_code == 404 and set(r.json()) == {"code", "message", "field"}


def test_the_registers_page_and_its_xlsx_filter_alike_however_long_the_value(client, login):
    """A filter value longer than any stored 档号 or name is cut to that length in one place, the filter
    itself, for the page and the .xlsx alike (only the page used to cut it)."""
    from archive_service.access.register import LogFilter

    f = LogFilter("档" * 100, "u" * 100, "a" * 100, page=-3)
    assert (len(f.archival_code), len(f.username), len(f.action), f.page) == (64, 64, 30, 1)
    auditor = login("auditor")
    code = "X" * 10_000
    page = client.get("/audit", params={"archival_code": code}, headers=auditor)
    exported = client.get("/api/audit/log.xlsx", params={"archival_code": code}, headers=auditor)
    assert page.status_code == 200 and exported.status_code == 200, exported.text
    assert exported.headers["content-type"].startswith("application/vnd.openxmlformats")


def test_empty_filter_fields_mean_no_filter_and_no_english_reaches_a_person(client, login):
    """The auditor's register form sends both dates, filled or not: empty means no filter (it failed with
    "字段 since 应为日期…Input should be a valid date…")."""
    auditor = login("auditor")
    page = client.get("/audit?archival_code=&username=&action=&since=&until=", headers=auditor)
    assert page.status_code == 200, page.text
    one_date = client.get("/audit?since=2026-01-01&until=", headers=auditor)
    assert one_date.status_code == 200
    assert client.get("/api/audit/log.xlsx?since=&until=", headers=auditor).status_code == 200
    bad = client.get("/api/audit/log.xlsx?since=2026-13-01", headers=auditor)
    assert bad.status_code == 422 and bad.json()["field"] == "since"
    assert bad.json()["message"] == "起始日期应为日期（YYYY-MM-DD）"  # no library's English in it, nor the key
    assert not any(
        c.isascii() and c.isalpha() for c in bad.json()["message"].replace("since", "").replace("YYYY-MM-DD", "")
    )
