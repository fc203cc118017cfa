"""移交单位 registered at the desk (issue 36 item 2): the clerk registers a new enterprise on its page, every bad
particular refused by name and rule with what was typed kept, corrects it, and starts an intake batch for it
on the transfers page — which before needed `archive orgs create` on the server. The same through the API;
registrations and changes are on the access log."""

import pytest
from sqlalchemy import select

from archive_service import db
from archive_service.access.models import AccessLogEntry
from archive_service.demo import XICHENG
from archive_service.organisations.models import Organisation, OrganisationKind, OrganisationLevel
from archive_service.transfers.models import TransferBatch
from archive_service.values import credit_code_check_char
from tests.archive_service.test_forms_keep_values import _cookie_login, forms_of
from tests.archive_service.test_transfers import as_csv, row


def credit_code(first17: str) -> str:
    return first17 + credit_code_check_char(first17)


NEW = {
    "name": "北京燕京精密机械有限公司",
    "credit_code": credit_code("91110102MA01B2C3D"),
    "region_code": XICHENG,
    "level": "city",
    "contact_person": "王人事",
    "contact_phone": "010-66012345",
    "managing_unit": "",
}


def _enterprise(name: str) -> Organisation | None:
    with db.get_sessionmaker()() as session:
        return session.scalar(select(Organisation).where(Organisation.name == name))


def _logged(action: str) -> list[str]:
    with db.get_sessionmaker()() as session:
        return list(session.scalars(select(AccessLogEntry.detail).where(AccessLogEntry.action == action)))


def _refusal(client, action: str, typed: dict, field: str, said: str) -> None:
    r = client.post(action, data=typed, follow_redirects=False)
    assert r.status_code in (409, 422), (field, r.status_code)
    assert f'data-field="{field}"' in r.text and said in r.text, (field, said, r.text[r.text.find("alert") :][:300])
    assert forms_of(r.text)[action]["name"] == [typed["name"]]  # what was typed is kept


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"], indirect=True)
def test_the_clerk_registers_an_enterprise_and_starts_its_first_batch(client):
    for who in ("sibao", "approver", "auditor"):
        _cookie_login(client, who)
        assert client.get("/enterprises").status_code == 403
        assert 'href="/enterprises"' not in client.get("/").text
    _cookie_login(client, "clerk")
    page = client.get("/enterprises")
    assert page.status_code == 200 and 'href="/enterprises"' in page.text and 'id="new-enterprise"' in page.text

    wrong_check = NEW["credit_code"][:17] + ("1" if NEW["credit_code"][17] != "1" else "2")
    refusals = [
        ({"name": ""}, "name", "请填写单位名称"),
        ({"credit_code": wrong_check}, "credit_code", "统一社会信用代码校验码错误"),
        ({"credit_code": "91110102"}, "credit_code", "统一社会信用代码应为18位"),
        ({"region_code": "1101"}, "region_code", "注册地行政区划代码应为6位数字"),
        ({"region_code": "990102"}, "region_code", "不是有效的省级代码"),
        ({"level": ""}, "level", "请填写隶属层级"),
        ({"level": "county"}, "level", "隶属层级应为以下之一：央属、省属、市属、区属、其他"),
        ({"contact_person": ""}, "contact_person", "请填写联系人"),
        ({"contact_phone": "6601"}, "contact_phone", "联系电话：电话号码应为 11 位手机号码"),
        ({"managing_unit": "集" * 201}, "managing_unit", "现管理单位不能超过 200 个字"),
    ]
    for change, field, said in refusals:
        _refusal(client, "/enterprises", NEW | change, field, said)
    assert _enterprise(NEW["name"]) is None  # nothing half-written

    made = client.post("/enterprises", data=NEW | {"credit_code": NEW["credit_code"].lower()}, follow_redirects=True)
    assert made.status_code == 200 and f"已登记移交单位 {NEW['name']}" in made.text
    enterprise = _enterprise(NEW["name"])
    assert enterprise.kind is OrganisationKind.enterprise and enterprise.level is OrganisationLevel.city
    assert enterprise.credit_code == NEW["credit_code"] and enterprise.contact_phone == "010-66012345"
    assert f'href="/transfers?enterprise_id={enterprise.id}"' in made.text
    # The same code a second time, under another name: refused, naming who holds it.
    _refusal(client, "/enterprises", NEW | {"name": "另一家公司"}, "credit_code", f"已登记为“{NEW['name']}”")

    # The transfers page offers it (already chosen when the clerk comes from its line) and takes its register.
    offered = client.get(f"/transfers?enterprise_id={enterprise.id}").text
    assert f'<option value="{enterprise.id}" selected>{NEW["name"]}</option>' in offered
    rows = [row(n + 60) for n in range(2)]
    files = {"file": ("名册.csv", as_csv(rows), "text/csv")}
    started = client.post("/transfers", data={"enterprise_id": enterprise.id}, files=files, follow_redirects=False)
    assert started.status_code == 303, started.text[:500]
    with db.get_sessionmaker()() as session:
        batch = session.scalar(select(TransferBatch).where(TransferBatch.from_org_id == enterprise.id))
        assert batch is not None and len(batch.items) == 2
        number = batch.number
    listing = client.get("/enterprises").text
    line = listing[listing.find(f'id="enterprise-{enterprise.id}"') :].split("</tr>")[0]
    assert number in line and f'href="/transfers/{batch.id}"' in line and "王人事" in line

    # The enterprise closes; its files now come through the group company, with a new contact.
    edit = client.get(f"/enterprises/{enterprise.id}")
    assert forms_of(edit.text)[f"/enterprises/{enterprise.id}"]["contact_person"] == ["王人事"]
    assert number in edit.text
    closed = NEW | {"managing_unit": "北京燕京集团有限公司", "contact_person": "李集团", "contact_phone": "13812345678"}
    _refusal(client, f"/enterprises/{enterprise.id}", closed | {"contact_phone": "138123"}, "contact_phone", "手机")
    saved = client.post(f"/enterprises/{enterprise.id}", data=closed, follow_redirects=True)
    assert saved.status_code == 200 and "已保存移交单位" in saved.text and "已不存在" in saved.text
    assert _enterprise(NEW["name"]).managing_unit == "北京燕京集团有限公司"

    registered, changed = _logged("enterprise_registered"), _logged("enterprise_changed")
    assert len(registered) == 1 and NEW["credit_code"] in registered[0] and "市属" in registered[0]
    assert len(changed) == 1
    assert "联系人 王人事 → 李集团" in changed[0] and "现管理单位 （空） → 北京燕京集团有限公司" in changed[0]
    assert "单位名称" not in changed[0]  # only what changed

    # The auditor reads both on the log, in words.
    _cookie_login(client, "auditor")
    audit = client.get("/audit").text
    assert "登记移交单位" in audit and "变更移交单位" in audit


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"], indirect=True)
def test_enterprises_through_the_api(client, login):
    archivist, requester = login("archivist"), login("sibao")
    assert client.post("/api/organisations/enterprises", json=NEW, headers=requester).status_code == 403
    bad = client.post("/api/organisations/enterprises", json=NEW | {"contact_phone": "x"}, headers=archivist)
    assert bad.status_code == 422 and bad.json()["field"] == "contact_phone"
    made = client.post("/api/organisations/enterprises", json=NEW | {"level": "other"}, headers=archivist)
    assert made.status_code == 201 and made.json()["level"] == "other", made.text
    new_id = made.json()["id"]
    changed = client.put(f"/api/organisations/enterprises/{new_id}", json=NEW | {"level": "central"}, headers=archivist)
    assert changed.status_code == 200 and changed.json()["level"] == "central"
    listed = {e["id"]: e for e in client.get("/api/organisations/enterprises", headers=archivist).json()}
    assert listed[new_id]["batches"] == [] and listed[new_id]["contact_person"] == "王人事"
    bureau = client.get("/api/me", headers=archivist).json()["organisation_id"]
    # A bureau is not a 移交单位: its particulars are not changed here.
    assert client.put(f"/api/organisations/enterprises/{bureau}", json=NEW, headers=archivist).status_code == 404
