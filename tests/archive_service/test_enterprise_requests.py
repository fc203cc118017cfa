"""晋宁 002 第九条（七）: when a retiree applies for a change of benefits, the enterprise 负责调取其人事档案…
调查核实申报事项后，以参保单位名义…申报. An enterprise's requester account (made by the bureau's security officer,
standing with that bureau as an agency's does) asks for its own retirees' files for 待遇变更 only; the approver
decides as usual, and the log and the auditor's register name the enterprise as the requesting organisation."""

import re

import pyotp
from fastapi.testclient import TestClient
from sqlalchemy import select

from archive_service import db
from archive_service.access.models import AccessLogEntry
from archive_service.demo import DEMO_PASSWORD
from archive_service.dossiers.models import Dossier, DossierStatus
from tests.archive_service.test_requests import form
from tests.archive_service.test_shared_agency_accounts import _org, _ready, _row, _token
from tests.conftest import cookie_login


def _enterprise_requester(client: TestClient, demo_code, username: str, enterprise_id: int) -> str:
    """西城's security officer makes the account on the 用户管理 page; returns its authenticator's secret."""
    officer = TestClient(client.app)
    cookie_login(officer, "security", demo_code)
    made = officer.post(
        "/users",
        data={"username": username, "display_name": "王企核", "password": DEMO_PASSWORD, "role": "requester",
              "organisation_id": enterprise_id},
    )  # fmt: skip
    assert made.status_code == 200 and f"已创建账户 {username}" in made.text, made.text
    assert "本馆已授权" in _row(made.text, username)
    # Only a requester: an enterprise's people do no custody work.
    clerk = officer.post(
        "/users",
        data={"username": f"{username}_clerk", "display_name": "王企员", "password": DEMO_PASSWORD,
              "role": "intake_clerk", "organisation_id": enterprise_id},
    )  # fmt: skip
    assert clerk.status_code == 403 and "不能为查阅单位、移交单位创建其他角色的账号" in clerk.text
    return _ready(username)


def test_an_enterprise_asks_for_its_own_retirees_file_for_benefit_change_only_002_9_7(
    client, login, digitised, demo_code
):
    """002 第九条（七）: own retiree + 待遇变更 is asked, approved and read; another purpose, another enterprise's
    retiree are refused naming the field and the clause; the log and the register name the enterprise."""
    with db.get_sessionmaker()() as session:
        own = session.get(Dossier, digitised.id)
        enterprise_id, enterprise = own.retiree.enterprise_id, own.retiree.enterprise.name
        others = [
            d
            for d in session.scalars(
                select(Dossier).where(
                    Dossier.custodian_id == own.custodian_id, Dossier.status == DossierStatus.in_custody
                )
            )
            if d.retiree.enterprise_id != enterprise_id
        ]
        assert others, "the demo bureau holds files of more than one enterprise"
        stranger = others[0].archival_code
    headers = _token(client, "qy_wang", _enterprise_requester(client, demo_code, "qy_wang", enterprise_id))

    # Another purpose, even for its own retiree: refused, naming the purpose and the clause.
    other_purpose = client.post("/api/requests", json=form(digitised, purpose="retirement"), headers=headers)
    body = other_purpose.json()
    assert other_purpose.status_code == 403 and body["code"] == "request.enterprise_purpose", body
    assert body["field"] == "purpose" and "第九条（七）" in body["message"] and "待遇变更" in body["message"]
    # Another enterprise's retiree: refused, naming the file and the clause.
    not_own = client.post("/api/requests", json=form(digitised, dossier=stranger, mode="on_site"), headers=headers)
    body = not_own.json()
    assert not_own.status_code == 403 and body["code"] == "request.enterprise_not_own", body
    assert body["field"] == "dossier" and f"不是{enterprise}的退休人员" in body["message"]
    assert "第九条（七）" in body["message"]

    # Its own retiree for 待遇变更: submitted, approved as usual, read online.
    asked = client.post("/api/requests", json=form(digitised), headers=headers)
    assert asked.status_code == 201, asked.text
    request_id = asked.json()["id"]
    # It sees its own request; the approver decides it like any other.
    assert [r["id"] for r in client.get("/api/requests", headers=headers).json()] == [request_id]
    decided = client.post(f"/api/requests/{request_id}/decision", json={"approve": True}, headers=login("approver"))
    assert decided.status_code == 200, decided.text
    page = decided.json()["approved_pages"][0]
    assert client.get(f"/api/requests/{request_id}/pages/{page}", headers=headers).status_code == 200

    # The log names the enterprise: its reading under its organisation, the approval naming it as 移交单位.
    with db.get_sessionmaker()() as session:
        entries = session.scalars(
            select(AccessLogEntry).where(AccessLogEntry.request_id == request_id).order_by(AccessLogEntry.seq)
        ).all()
    approval = next(e for e in entries if e.action == "approve")
    assert f"（移交单位：{enterprise}）" in approval.detail
    reading = next(e for e in entries if e.action == "view_page")
    assert reading.organisation_id == enterprise_id

    # The auditor's register: the reading's row names the enterprise, the statistics count it.
    register = client.get("/audit", params={"action": "view_page"}, headers=login("auditor"))
    rows = re.findall(r"<tr>\s*<td class=\"num\">.*?</tr>", register.text, re.S)
    texts = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", r)) for r in rows]
    assert any("王企核" in t and enterprise in t and "网上查阅" in t for t in texts), texts
    stats = register.text.split("按申请单位", 1)[1].split("</section>", 1)[0]
    assert enterprise in stats


def test_the_request_page_offers_an_enterprise_only_benefit_change_and_says_why_002_9_7(client, digitised, demo_code):
    """On the 查阅申请 page an enterprise's requester is offered 待遇变更 only, told the clause, and a purpose typed
    in anyway is refused on the page naming the clause."""
    with db.get_sessionmaker()() as session:
        enterprise_id = session.get(Dossier, digitised.id).retiree.enterprise_id
    secret = _enterprise_requester(client, demo_code, "qy_li", enterprise_id)
    browser = TestClient(client.app)
    cookie_login(browser, "qy_li", lambda _: pyotp.TOTP(secret).now())
    shown = browser.get("/requests")
    assert shown.status_code == 200
    offered = re.findall(r'<option value="([a-z_]+)" data-days', shown.text)
    assert offered == ["benefit_change"]
    assert "第九条（七）" in shown.text.split('id="enterprise-scope"', 1)[1].split("</p>", 1)[0]

    data = {k: v for k, v in form(digitised, purpose="notarisation", mode="on_site").items() if k != "material_classes"}
    refused = browser.post("/requests", data={**data, "material_classes": ["1", "9"]})
    assert refused.status_code == 403
    alert = re.search(r'<p class="error" role="alert" data-field="purpose">(.*?)</p>', refused.text)
    assert alert and "第九条（七）" in alert.group(1), refused.text[:2000]

    made = browser.post("/requests", data={**form(digitised), "material_classes": ["1", "9"]}, follow_redirects=False)
    assert made.status_code == 303
    detail = browser.get(made.headers["location"]).text
    assert "王企核" in detail and "待审批" in detail


def test_an_enterprise_account_stands_with_each_bureau_on_its_own(client, digitised, demo_code):
    """Issue 40 item 5's per-bureau standing holds for an enterprise as for an agency: 东城 has not granted 西城's
    enterprise account, so the account asks 东城 for nothing."""
    with db.get_sessionmaker()() as session:
        enterprise_id = session.get(Dossier, digitised.id).retiree.enterprise_id
        fonds = _org(session, "北京市东城区档案馆").fonds_code
        dc_file = session.scalars(
            select(Dossier)
            .where(Dossier.archival_code.startswith(f"{fonds}-"), Dossier.status == DossierStatus.in_custody)
            .order_by(Dossier.id)
        ).first()
        assert dc_file is not None
    headers = _token(client, "qy_zhao", _enterprise_requester(client, demo_code, "qy_zhao", enterprise_id))
    refused = client.post("/api/requests", json=form(dc_file, mode="on_site"), headers=headers)
    assert refused.status_code == 403 and "尚未为你的查阅账户授权" in refused.json()["message"]
