"""Issue 22.2: a bureau cannot take another bureau's 全宗号, numbering never crashes on odd codes, and a
retiree's file is held by one bureau at a time — each reproduced first as the probe found it, on SQLite
and PostgreSQL, and refused with a named error instead of a 500."""

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service.db import get_engine
from archive_service.dossiers.models import Dossier, Retiree
from archive_service.organisations.models import Organisation
from digitise.specimen import citizen_id_for
from tests.archive_service.test_transfers import XICHENG, as_xlsx, row


def _stock(client, headers, citizen_id: str, archival_code: str | None = None):
    enterprise = next(o for o in client.get("/api/organisations", headers=headers).json() if o["kind"] == "enterprise")
    body = {
        "retiree": {"name": "边界测试", "sex": "M" if int(citizen_id[16]) % 2 else "F", "citizen_id": citizen_id,
                    "birth_date": f"{citizen_id[6:10]}-{citizen_id[10:12]}-{citizen_id[12:14]}",
                    "enterprise_id": enterprise["id"], "hukou_region_code": XICHENG,
                    "residence_region_code": XICHENG},
    }  # fmt: skip
    if archival_code:
        body["archival_code"] = archival_code
    return client.post("/api/dossiers", json=body, headers=headers)


def test_a_bureau_cannot_take_another_bureaus_fonds_code(client, login):
    dongcheng = login("dongcheng")  # an archivist of 东城 (fonds J101)
    r = _stock(client, dongcheng, citizen_id_for("110101", date(1950, 2, 3), 11, "M"), "J102-RS-ZZZZZZ")
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "archival_code.fonds" and r.json()["field"] == "archival_code"
    assert "J101" in r.json()["message"]
    ok = _stock(client, dongcheng, citizen_id_for("110101", date(1950, 2, 3), 12, "M"), "J101-RS-A0001")
    assert ok.status_code == 201, ok.text


def test_numbering_skips_codes_that_do_not_end_in_a_number(client, login):
    """Odd codes already in the store (entered before this rule) do not break 西城's next 档号 nor its receiving."""
    archivist, clerk = login("archivist"), login("clerk")
    with Session(get_engine()) as s:
        highest = max(int(c.rsplit("-", 1)[1]) for c in s.scalars(select(Dossier.archival_code)) if "J102" in c)
    r = _stock(client, archivist, citizen_id_for("110102", date(1950, 2, 3), 13, "M"), "J102-RS-ZZZZZZ")
    assert r.status_code == 201, r.text  # its own fonds: allowed, however odd the rest
    r = _stock(client, archivist, citizen_id_for("110102", date(1950, 2, 3), 14, "M"))
    assert r.status_code == 201, r.text
    assert r.json()["archival_code"] == f"J102-RS-{highest + 1:06d}"
    # And a transfer batch received after it numbers on.
    people = [row(81, 姓名="编号甲")]
    batch = client.post(
        "/api/transfers", data={"enterprise_id": _enterprise_id()}, files={"file": ("名册.xlsx", as_xlsx(people))},
        headers=clerk,
    ).json()  # fmt: skip
    got = client.post(f"/api/transfers/{batch['id']}/receive", json={"key": people[0]["公民身份号码"]}, headers=clerk)
    assert got.status_code == 200, got.text
    with Session(get_engine()) as s:
        assert s.get(Dossier, got.json()["dossier_id"]).archival_code == f"J102-RS-{highest + 2:06d}"


def _enterprise_id() -> int:
    with Session(get_engine()) as s:
        return s.scalar(select(Organisation.id).where(Organisation.name == "北京红星电子仪器厂"))


def test_a_register_row_with_another_bureaus_fonds_is_refused_by_row_and_column(client, login):
    clerk = login("clerk")
    people = [row(82, 档号="J101-RS-000777"), row(83)]
    r = client.post(
        "/api/transfers", data={"enterprise_id": _enterprise_id()}, files={"file": ("名册.xlsx", as_xlsx(people))},
        headers=clerk,
    )  # fmt: skip
    assert r.status_code == 422, r.text
    assert [(p["row"], p["column"], p["code"]) for p in r.json()["problems"]] == [(2, "档号", "archival_code.fonds")]


def test_a_file_on_its_way_to_one_bureau_cannot_be_registered_by_another(client, login):
    """The probe: an ID in 西城's open batch was registered by 东城, and 西城's receiving then failed with 500."""
    clerk = login("clerk")
    people = [row(84, 姓名="在途甲")]
    batch = client.post(
        "/api/transfers", data={"enterprise_id": _enterprise_id()}, files={"file": ("名册.xlsx", as_xlsx(people))},
        headers=clerk,
    ).json()  # fmt: skip
    cid = str(people[0]["公民身份号码"])
    r = _stock(client, login("dongcheng"), cid)
    assert r.status_code == 409, r.text
    assert r.json()["code"] == "citizen_id.in_transfer" and batch["number"] in r.json()["message"]
    # Had it been entered anyway (before this rule, or straight into the database), receiving says so: no 500.
    with Session(get_engine()) as s, s.begin():
        s.add(Retiree(name="在途甲", sex="M", citizen_id=cid, birth_date=date(1958, 1, 1),
                      enterprise_id=_enterprise_id(), hukou_region_code=XICHENG,
                      residence_region_code=XICHENG))  # fmt: skip
    got = client.post(f"/api/transfers/{batch['id']}/receive", json={"key": cid}, headers=clerk)
    assert got.status_code == 409, got.text
    assert got.json()["code"] == "citizen_id.held" and "在途甲" in got.json()["message"]
    with Session(get_engine()) as s:  # nothing half-written: the item is still to receive, no dossier made
        assert s.scalar(select(Dossier).join(Retiree).where(Retiree.citizen_id == cid)) is None
    progress = client.get(f"/api/transfers/{batch['id']}", headers=clerk).json()
    assert [i["result"] for i in progress["items"]] == ["pending"]
