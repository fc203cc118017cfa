"""Issue 40, High 5: requester accounts of an agency several bureaus serve are governed per bureau. The probe: 东城's
administrator re-enabled a requester 西城 had disabled (who then read a 西城 page), disabled 西城's `sibao`,
created requesters in that agency, and 西城's auditor saw none of it. Here the same moves, with accounts the
test makes: each bureau enables, disables and grants its own standing only, and its auditor reads every change."""

import re

import pyotp
from fastapi.testclient import TestClient
from sqlalchemy import select

from archive_service import db
from archive_service.access.models import AccessLogEntry
from archive_service.auth.models import Role, User
from archive_service.auth.service import create_user
from archive_service.demo import DEMO_PASSWORD
from archive_service.dossiers.models import Dossier
from archive_service.organisations.models import Organisation
from tests.archive_service.test_requests import form
from tests.conftest import cookie_login

AGENCY = "西城区社会保险事业管理中心"
DONGCHENG = "北京市东城区档案馆"


def _org(session, name: str) -> Organisation:
    return session.scalar(select(Organisation).where(Organisation.name == name))


def _dongcheng_officer() -> None:
    """东城's security officer (the demo has none): 东城's policy asks no second factor."""
    with db.transaction() as session:
        create_user(session, username="dc_security", display_name="郑东安", password=DEMO_PASSWORD,
                    role=Role.security_officer, organisation_id=_org(session, DONGCHENG).id)  # fmt: skip


def _ready(username: str) -> str:
    """A new requester signs in with a second factor (the agency follows the strictest bureau): the test enrols
    the account as the person would on the login page, and returns its authenticator's secret."""
    secret = pyotp.random_base32()
    with db.transaction() as session:
        user = session.scalar(select(User).where(User.username == username))
        user.totp_secret, user.totp_enrolled_at, user.must_change_password = secret, db.utcnow(), False
    return secret


def _token(client: TestClient, username: str, secret: str = "") -> dict[str, str]:
    body = {"username": username, "password": DEMO_PASSWORD, "code": pyotp.TOTP(secret).now() if secret else ""}
    r = client.post("/api/auth/login", json=body)
    assert r.status_code == 200, r.text
    return {"authorization": f"Bearer {r.json()['token']}"}


def _user_id(username: str) -> int:
    with db.get_sessionmaker()() as session:
        return session.scalar(select(User.id).where(User.username == username))


def _row(page: str, username: str) -> str:
    found = re.search(rf'<tr data-user="{username}".*?</tr>', page, re.S)
    assert found, username
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(0)))


def test_each_bureau_governs_its_own_standing_for_a_shared_agencys_requester(client, login, digitised, demo_code):
    _dongcheng_officer()
    xicheng = TestClient(client.app)
    dongcheng = TestClient(client.app)
    with db.get_sessionmaker()() as session:
        agency_id = _org(session, AGENCY).id
        fonds = _org(session, DONGCHENG).fonds_code  # its archival codes start with its 全宗号
        dc_dossier = session.scalars(
            select(Dossier.archival_code).where(Dossier.archival_code.startswith(f"{fonds}-"))
        ).first()
    assert dc_dossier

    # 西城's security officer makes a requester in the agency: it stands with 西城 (its home).
    cookie_login(xicheng, "security", demo_code)
    made = xicheng.post(
        "/users",
        data={"username": "xc_zhou", "display_name": "周西社", "password": DEMO_PASSWORD, "role": "requester",
              "organisation_id": agency_id},
    )  # fmt: skip
    assert made.status_code == 200 and "已创建账户 xc_zhou" in made.text, made.text
    assert "本馆已授权" in _row(made.text, "xc_zhou") and "由北京市西城区档案馆创建" in _row(made.text, "xc_zhou")
    requester = _token(client, "xc_zhou", _ready("xc_zhou"))

    # It asks 西城 for a file, 西城 approves, and it reads a page.
    asked = client.post("/api/requests", json=form(digitised), headers=requester)
    assert asked.status_code == 201, asked.text
    decision = f"/api/requests/{asked.json()['id']}/decision"
    decided = client.post(decision, json={"approve": True}, headers=login("approver"))
    assert decided.status_code == 200, decided.text
    page_url = f"/api/requests/{asked.json()['id']}/pages/{decided.json()['approved_pages'][0]}"
    assert client.get(page_url, headers=requester).status_code == 200

    # 西城 disables it: no 西城 page any more.
    xc_id = _user_id("xc_zhou")
    shown = xicheng.post(f"/users/{xc_id}", data={"active": "no"})
    assert "本馆已停用" in _row(shown.text, "xc_zhou")
    refused = client.get(page_url, headers=requester)
    assert refused.status_code == 403 and refused.json()["message"].startswith("北京市西城区档案馆已停用你的查阅账户")

    # 东城's officer "enables" it: that grants 东城's standing, and 西城's pages stay closed.
    cookie_login(dongcheng, "dc_security")
    enabled = dongcheng.post(f"/users/{xc_id}", data={"active": "yes"})
    assert "本馆已授权" in _row(enabled.text, "xc_zhou")
    assert client.get(page_url, headers=requester).status_code == 403
    assert client.post("/api/requests", json=form(digitised), headers=requester).status_code == 403
    assert client.post("/api/requests", json=form(digitised, dossier=dc_dossier), headers=requester).status_code == 201
    assert "本馆已停用" in _row(xicheng.get("/users").text, "xc_zhou")
    # Nor can 东城 take the account over by a new password, a new code or its sessions: 西城 made it.
    for attempt in (f"/users/{xc_id}/password", f"/users/{xc_id}/two-factor/reset", f"/users/{xc_id}/sessions/end"):
        taken = dongcheng.post(attempt, data={"password": "Xx-123456789"})
        assert taken.status_code == 403 and "不是本馆创建的" in taken.text, attempt
    assert client.get("/api/me", headers=requester).status_code == 200  # its session was not ended by 东城

    # 东城 disables 西城's sibao: sibao is refused at 东城 only and still asks 西城.
    sibao = login("sibao")
    dongcheng.post(f"/users/{_user_id('sibao')}", data={"active": "no"})
    assert client.post("/api/requests", json=form(digitised), headers=sibao).status_code == 201
    at_dongcheng = client.post("/api/requests", json=form(digitised, dossier=dc_dossier), headers=sibao)
    assert at_dongcheng.status_code == 403 and at_dongcheng.json()["message"].startswith("北京市东城区档案馆已停用")
    assert "本馆已授权" in _row(xicheng.get("/users").text, "sibao")

    # 东城 creates a requester in the agency: 东城's account; 西城 has not granted it.
    dongcheng.post(
        "/users",
        data={"username": "dc_li", "display_name": "李东社", "password": DEMO_PASSWORD, "role": "requester",
              "organisation_id": agency_id},
    )  # fmt: skip
    row = _row(xicheng.get("/users").text, "dc_li")
    assert "本馆未授权" in row and "由北京市东城区档案馆创建" in row and "授权查阅本馆档案" in row
    newcomer = _token(client, "dc_li", _ready("dc_li"))
    not_granted = client.post("/api/requests", json=form(digitised), headers=newcomer)
    assert not_granted.status_code == 403 and "尚未为你的查阅账户授权" in not_granted.json()["message"]

    # 西城's auditor reads 西城's own changes; 东城's are on 东城's log, not passed off as 西城's.
    audit = client.get("/audit?action=account_changed", headers=login("auditor")).text
    assert "本馆（北京市西城区档案馆）查阅授权 已授权 → 已停用" in audit
    assert "北京市东城区档案馆）查阅授权" not in audit
    with db.get_sessionmaker()() as session:
        dc_id = _org(session, DONGCHENG).id
        east = session.scalars(
            select(AccessLogEntry.detail).where(AccessLogEntry.organisation_id == dc_id).order_by(AccessLogEntry.seq)
        ).all()
    assert any("xc_zhou" in d and "未授权 → 已授权" in d for d in east)
    assert any("sibao" in d and "已授权 → 已停用" in d for d in east)
    assert any("dc_li" in d and "由本馆（北京市东城区档案馆）创建" in d for d in east)


def test_a_requester_no_bureau_serves_cannot_sign_in(client, login, demo_code):
    """西城 disables the last standing of an account it made: the account can no longer sign in anywhere."""
    browser = TestClient(client.app)
    cookie_login(browser, "security", demo_code)
    with db.get_sessionmaker()() as session:
        agency_id = _org(session, AGENCY).id
    browser.post(
        "/users",
        data={"username": "xc_wu", "display_name": "吴西社", "password": DEMO_PASSWORD, "role": "requester",
              "organisation_id": agency_id},
    )  # fmt: skip
    secret = _ready("xc_wu")
    _token(client, "xc_wu", secret)
    browser.post(f"/users/{_user_id('xc_wu')}", data={"active": "no"})
    refused = client.post(
        "/api/auth/login",
        json={"username": "xc_wu", "password": DEMO_PASSWORD, "code": pyotp.TOTP(secret).now()},
    )
    assert refused.status_code == 403 and "已停用" in refused.json()["message"]


def _numbers(page: str) -> set[str]:
    return set(re.findall(r'<a href="/requests/\d+">([^<]+)</a>', page))


def test_a_bureau_that_disabled_a_requester_shows_it_none_of_its_requests(client, login, digitised, demo_code):
    """The probe's next step (issue 40, High 5, per-bureau standing): 西城 and 东城 both serve the agency; the
    requester has asked each for a file; 西城 disables it. Its requests list — the page and the API — no longer
    shows 西城's request and says 西城 disabled it; opening that request, its viewer or its download is refused
    naming the rule, while 东城's request still lists and opens. Enabled again, 西城's request is back."""
    _dongcheng_officer()
    xicheng, dongcheng = TestClient(client.app), TestClient(client.app)
    cookie_login(xicheng, "security", demo_code)
    cookie_login(dongcheng, "dc_security")
    with db.get_sessionmaker()() as session:
        agency_id = _org(session, AGENCY).id
        fonds = _org(session, DONGCHENG).fonds_code
        dc_dossier = session.scalars(
            select(Dossier.archival_code).where(Dossier.archival_code.startswith(f"{fonds}-"))
        ).first()
    xicheng.post(
        "/users",
        data={"username": "xc_qian", "display_name": "钱西社", "password": DEMO_PASSWORD, "role": "requester",
              "organisation_id": agency_id},
    )  # fmt: skip
    requester_id = _user_id("xc_qian")
    assert "本馆已授权" in _row(dongcheng.post(f"/users/{requester_id}", data={"active": "yes"}).text, "xc_qian")
    requester = _token(client, "xc_qian", _ready("xc_qian"))

    at_xicheng = client.post("/api/requests", json=form(digitised), headers=requester)
    at_dongcheng = client.post("/api/requests", json=form(digitised, dossier=dc_dossier), headers=requester)
    assert at_xicheng.status_code == 201 and at_dongcheng.status_code == 201, (at_xicheng.text, at_dongcheng.text)
    xc, dc = at_xicheng.json(), at_dongcheng.json()
    decided = client.post(
        f"/api/requests/{xc['id']}/decision", json={"approve": True, "allow_download": True}, headers=login("approver")
    )
    assert decided.status_code == 200, decided.text
    assert _numbers(client.get("/requests", headers=requester).text) >= {xc["number"], dc["number"]}
    assert client.get(f"/requests/{xc['id']}/view", headers=requester).status_code == 200

    # 西城 disables it.
    assert "本馆已停用" in _row(xicheng.post(f"/users/{requester_id}", data={"active": "no"}).text, "xc_qian")
    listed = client.get("/requests", headers=requester)
    assert listed.status_code == 200
    assert dc["number"] in _numbers(listed.text) and xc["number"] not in _numbers(listed.text)
    assert "北京市西城区档案馆已停用你的查阅账户：向该馆提交的申请不再列出" in listed.text
    assert "北京市东城区档案馆已停用" not in listed.text
    api_ids = {r["id"] for r in client.get("/api/requests", headers=requester).json()}
    assert dc["id"] in api_ids and xc["id"] not in api_ids

    opened = client.get(f"/api/requests/{xc['id']}", headers=requester)
    assert opened.status_code == 403 and opened.json()["code"] == "requester.not_served"
    said = opened.json()["message"]
    assert said.startswith("北京市西城区档案馆已停用你的查阅账户") and "共用机构的查阅账户由各档案馆分别授权" in said
    for page in (f"/requests/{xc['id']}", f"/requests/{xc['id']}/view", f"/requests/{xc['id']}/facts.xlsx"):
        refused = client.get(page, headers=requester)
        assert refused.status_code == 403 and said in refused.text, page
    assert client.get(f"/api/requests/{xc['id']}/download", headers=requester).status_code == 403
    assert client.get(f"/requests/{dc['id']}", headers=requester).status_code == 200
    assert client.get(f"/api/requests/{dc['id']}", headers=requester).json()["number"] == dc["number"]
    # 西城's staff still see the request made to them.
    assert xc["number"] in _numbers(client.get("/requests", headers=login("approver")).text)

    # Enabled again by 西城: listed and open as before.
    xicheng.post(f"/users/{requester_id}", data={"active": "yes"})
    listed = client.get("/requests", headers=requester).text
    assert {xc["number"], dc["number"]} <= _numbers(listed) and "已停用你的查阅账户" not in listed
    assert client.get(f"/requests/{xc['id']}/view", headers=requester).status_code == 200
