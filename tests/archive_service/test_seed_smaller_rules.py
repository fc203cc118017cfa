"""Issue 37 item 14, the smaller rules: the 金融企业 flag (001 第四条, 002 第三十六条), a staff certificate that has
expired since the role was given (004 第十七条), and archivists needed against those the bureau has (002 第十二条,
004 第十七条) on the planning page."""

import re
import time
from datetime import date, timedelta

import pyotp
from fastapi.testclient import TestClient
from sqlalchemy import select

from archive_service import db
from archive_service.auth import qualifications
from archive_service.auth.models import User
from archive_service.db import bureau_today
from archive_service.organisations.models import Organisation
from archive_service.transfers.models import TransferBatch
from digitise.specimen import citizen_id_for
from tests.archive_service.test_enterprises import NEW, _logged
from tests.archive_service.test_forms_keep_values import _cookie_login, forms_of
from tests.archive_service.test_staff_qualifications import new_account
from tests.archive_service.test_transfers import XICHENG, as_csv, row
from tests.conftest import cookie_login


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_a_financial_enterprise_is_marked_and_shown_where_its_files_come_in_001_4_002_36(client, login):
    """001 第四条 / 002 第三十六条: 金融企业退休人员管理工作，另有规定的依其规定执行. The seeds change nothing else,
    so the desk records the flag, the change is logged, and the enterprise list and its batch page show it with
    the clause."""
    _cookie_login(client, "clerk")
    made = client.post("/enterprises", data=NEW | {"financial": "yes"}, follow_redirects=True)
    assert made.status_code == 200 and f"已登记移交单位 {NEW['name']}" in made.text
    with db.get_sessionmaker()() as session:
        enterprise = session.scalar(select(Organisation).where(Organisation.name == NEW["name"]))
        assert enterprise.financial is True
        enterprise_id = enterprise.id
    line = made.text[made.text.find(f'id="enterprise-{enterprise_id}"') :].split("</tr>")[0]
    assert "金融企业" in line and "第三十六条" in line
    assert "金融企业 是" in _logged("enterprise_registered")[0]
    # The correcting form shows it ticked.
    assert forms_of(client.get(f"/enterprises/{enterprise_id}").text)[f"/enterprises/{enterprise_id}"]["financial"] == [
        "yes"
    ]

    # Its batch page says so, with the clause, for the desk to check the other rules before receiving.
    files = {"file": ("名册.csv", as_csv([row(71)]), "text/csv")}
    started = client.post("/transfers", data={"enterprise_id": enterprise_id}, files=files, follow_redirects=False)
    assert started.status_code == 303, started.text[:500]
    batch_page = _text(client.get(started.headers["location"]).text)
    assert "金融企业" in batch_page and "001 第四条、002 第三十六条" in batch_page
    assert "另有规定的依其规定执行" in batch_page

    # Unticked: saved, logged before → after, no longer shown.
    saved = client.post(f"/enterprises/{enterprise_id}", data=NEW, follow_redirects=True)
    assert saved.status_code == 200
    assert "金融企业 是 → 否" in _logged("enterprise_changed")[0]
    line = saved.text[saved.text.find(f'id="enterprise-{enterprise_id}"') :].split("</tr>")[0]
    assert "金融企业" not in line
    with db.get_sessionmaker()() as session:
        batch = session.scalar(select(TransferBatch).where(TransferBatch.from_org_id == enterprise_id))
    assert 'id="financial-enterprise"' not in client.get(f"/transfers/{batch.id}").text

    # The API carries it both ways.
    archivist = login("archivist")
    url = f"/api/organisations/enterprises/{enterprise_id}"
    api = client.put(url, json=NEW | {"financial": True}, headers=archivist)
    assert api.status_code == 200 and api.json()["financial"] is True


def _authenticator(secret: str):
    """The person's phone: each sign-in gets a code of a later time step than the last (a code is good once)."""
    used: list[int] = []

    def code(_username: str = "") -> str:
        step = max(int(time.time()) // 30, used[-1] + 1 if used else 0)
        used.append(step)
        return pyotp.TOTP(secret).at(step * 30)

    return code


def _require_certificates(client: TestClient, admin: dict):
    return client.put("/api/organisations/staff-qualification", json={"required": True}, headers=admin)


def _archivist_with_certificate(client: TestClient, admin: dict, username: str) -> tuple[int, str]:
    """The security officer makes an intake clerk, records a certificate valid for one more day, and gives the
    archivist role; the account's authenticator is enrolled as the person would. Returns (id, secret)."""
    clerk = new_account(client, admin, username, "intake_clerk").json()
    today = bureau_today()
    cert = {"title": "档案管理岗位培训合格证书", "number": "DL-2024-0101",
            "issued_on": str(today - timedelta(days=700)), "expires_on": str(today + timedelta(days=1))}  # fmt: skip
    assert client.post(f"/api/users/{clerk['id']}/certificates", json=cert, headers=admin).status_code == 201
    promoted = client.patch(f"/api/users/{clerk['id']}", json={"role": "archivist"}, headers=admin)
    assert promoted.status_code == 200, promoted.text
    secret = pyotp.random_base32()
    with db.transaction() as session:
        user = session.get(User, clerk["id"])
        user.totp_secret, user.totp_enrolled_at, user.must_change_password = secret, db.utcnow(), False
    return clerk["id"], secret


def test_an_archivist_whose_certificate_expired_is_refused_when_next_acting_004_17(client, login, monkeypatch):
    """004 第十七条 (持证上岗): where the bureau requires it, an archivist whose certificate has expired since the
    role was given is refused at the next action — through the API and on a page, naming the role and the clause —
    until a valid one is recorded; his own account stays open to him."""
    admin = login("security")
    assert _require_certificates(client, admin).status_code == 200
    user_id, secret = _archivist_with_certificate(client, admin, "sun_cert")
    phone = _authenticator(secret)
    body = {"username": "sun_cert", "password": "correct horse battery 9", "code": phone()}
    token = client.post("/api/auth/login", json=body)
    assert token.status_code == 200, token.text
    headers = {"authorization": f"Bearer {token.json()['token']}"}
    browser = TestClient(client.app)
    cookie_login(browser, "sun_cert", phone, password="correct horse battery 9")
    assert client.get("/api/dossiers", headers=headers).status_code == 200  # valid today
    assert browser.get("/dossiers").status_code == 200

    # Two days on, the certificate has expired.
    later = bureau_today() + timedelta(days=2)
    monkeypatch.setattr(qualifications, "bureau_today", lambda: later)
    refused = client.get("/api/dossiers", headers=headers)
    body = refused.json()
    assert refused.status_code == 403 and body["code"] == "role.certificate_expired" and body["field"] == "role"
    assert "第十七条" in body["message"] and f"已于 {bureau_today() + timedelta(days=1)} 到期" in body["message"]
    page = browser.get("/dossiers")
    assert page.status_code == 403 and "持证上岗" in page.text and "第十七条" in page.text
    assert client.get("/api/me", headers=headers).status_code == 200  # his own account stays open

    # A new certificate is recorded: he acts again.
    renewed = {"title": "档案管理岗位培训合格证书", "number": "DL-2026-0202",
               "issued_on": str(bureau_today()), "expires_on": str(later + timedelta(days=1000))}  # fmt: skip
    assert client.post(f"/api/users/{user_id}/certificates", json=renewed, headers=admin).status_code == 201
    assert client.get("/api/dossiers", headers=headers).status_code == 200
    assert browser.get("/dossiers").status_code == 200


def _stock_files(client, archivist: dict, count: int, volumes: int) -> None:
    """Files the bureau already held, entered by the archivist (each with many volumes)."""
    organisations = client.get("/api/organisations", headers=archivist).json()
    enterprise = next(o for o in organisations if o["kind"] == "enterprise")
    for n in range(count):
        cid = citizen_id_for(XICHENG, date(1950, 3, 1 + n), 40 + n, "M")
        body = {
            "retiree": {"name": f"存量{n}", "sex": "M", "citizen_id": cid, "birth_date": f"1950-03-{1 + n:02d}",
                        "enterprise_id": enterprise["id"], "hukou_region_code": XICHENG,
                        "residence_region_code": XICHENG},
            "volumes": volumes,
        }  # fmt: skip
        made = client.post("/api/dossiers", json=body, headers=archivist)
        assert made.status_code == 201, made.text


def _on_hand(client) -> str:
    return _text(client.get("/planning").text.split('id="archivists-on-hand"', 1)[1].split("</p>", 1)[0])


def test_the_planning_page_shows_archivists_needed_against_those_the_bureau_has_002_12_004_17(client, login):
    """002 第十二条 (每 1 万卷不少于 1 人) / 004 第十七条 (每 3 万卷不少于 1 人，持证上岗): the planning page shows the
    archivists the bureau's policy needs for its volumes beside the archivists it has, counting only certificate
    holders where the bureau requires certificates."""
    admin = login("security")
    _archivist_with_certificate(client, admin, "qian_cert")
    _stock_files(client, login("archivist"), 6, 50)  # 300 volumes more
    with db.get_sessionmaker()() as session:
        bureau_id = client.get("/api/me", headers=admin).json()["organisation_id"]
        archivists = session.scalars(
            select(User).where(User.organisation_id == bureau_id, User.role == "archivist", User.active.is_(True))
        ).all()
    on_staff = len(archivists)
    assert on_staff >= 2  # the demo's archivist and the one this test made

    _cookie_login(client, "admin")
    # The bureau's own figure, 1 archivist per 100 volumes: its volumes need more archivists than it has.
    figures = forms_of(client.get("/planning").text)["/planning/policy/custom"]
    own = {k: v[0] for k, v in figures.items()} | {"volumes_per_archivist": "100"}
    assert client.post("/planning/policy/custom", data=own, follow_redirects=False).status_code == 303
    shown = _on_hand(client)
    volumes = int(re.search(r"现有馆藏 (\d+) 卷", shown).group(1))
    assert volumes >= 300
    needed = -(-volumes // 100)
    assert needed > on_staff
    assert f"需 {needed} 人" in shown and "本馆自定：每 100 卷 1 人" in shown
    assert f"本馆现有档案管理员 {on_staff} 人" in shown and f"尚缺 {needed - on_staff} 人" in shown
    assert "持有效培训证书" not in shown  # not required: every archivist counts

    # The bureau requires certificates: only the holder of a valid one counts (the demo's archivist has none).
    assert _require_certificates(client, admin).status_code == 200
    shown = _on_hand(client)
    assert "其中持有效培训证书 1 人" in shown and f"尚缺 {needed - 1} 人" in shown

    # The 晋宁 preset: 每万卷不少于 1 人 (002 第十二条), naming the clause; its one certified archivist suffices.
    assert client.post("/planning/policy", data={"preset": "jinning"}, follow_redirects=False).status_code == 303
    shown = _on_hand(client)
    assert "第十二条" in shown and "需 1 人" in shown and "人数足够" in shown
