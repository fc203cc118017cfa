# ruff: noqa: E501 — the cases read best one per line
"""Life events after handover (000 二(五); 002 第三十四条: 居住流动、判刑、失踪、死亡等状态变动): recorded on a file
received through a register the test uploads, each with its date, document and clerk, in the custody
history; death closes online use except 丧葬、抚恤; a move out of the area waits for the retiree's 转入申请
(002 第二十二条) and sends nothing by itself."""

from datetime import timedelta

from sqlalchemy import select

from archive_service import db
from archive_service.access import delivery
from archive_service.access.models import RetrievalRequest
from archive_service.auth.models import User
from archive_service.db import bureau_today
from archive_service.dossiers.models import CustodyEvent, CustodyEventKind, Dossier, DossierStatus
from archive_service.errors import ArchiveError
from tests.archive_service.test_requests import form
from tests.archive_service.test_transfers import as_csv, row
from tests.archive_service.test_transfers_api import enterprise_id


def received(client, login, *rows) -> list[Dossier]:
    """Files taken in the way a clerk does it: a register uploaded, each volume received."""
    clerk = login("clerk")
    files = {"file": ("名册.csv", as_csv(list(rows)), "text/csv")}
    batch = client.post(
        "/api/transfers", data={"enterprise_id": enterprise_id(client, clerk)}, files=files, headers=clerk
    )
    assert batch.status_code == 201, batch.text
    out = []
    for item in batch.json()["items"]:
        r = client.post(f"/api/transfers/{batch.json()['id']}/receive", json={"key": item["citizen_id"]}, headers=clerk)
        assert r.status_code == 200, r.text
        with db.get_sessionmaker()() as s:
            out.append(s.get(Dossier, r.json()["dossier_id"]))
    return out


def record(client, login, dossier, who="archivist", **data):
    return client.post(f"/api/dossiers/{dossier.id}/life-events", json=data, headers=login(who))


def test_every_refusal_names_its_field(client, login):
    (d,) = received(client, login, row(71))
    today = bureau_today()
    cases = [
        ({"kind": "married", "occurred_on": str(today), "source_document": "x证明"}, "kind"),
        ({"kind": "death", "source_document": "死亡医学证明"}, "occurred_on"),
        ({"kind": "death", "occurred_on": str(today + timedelta(days=1)), "source_document": "死亡医学证明"}, "occurred_on"),
        ({"kind": "death", "occurred_on": "1900-01-01", "source_document": "死亡医学证明"}, "occurred_on"),
        ({"kind": "death", "occurred_on": str(today), "source_document": " "}, "source_document"),
        ({"kind": "death", "occurred_on": str(today), "source_document": "死亡医学证明", "region_code": "110101"}, "region_code"),
        ({"kind": "moved", "occurred_on": str(today), "source_document": "户口迁移证"}, "region_code"),
        ({"kind": "moved", "occurred_on": str(today), "source_document": "户口迁移证", "region_code": "110102"}, "region_code"),
    ]  # fmt: skip
    for data, field in cases:
        r = record(client, login, d, **data)
        assert r.status_code in (400, 409, 422) and r.json()["field"] == field, (data, r.text)
    assert (
        record(client, login, d, who="sibao", kind="death", occurred_on=str(today), source_document="证明").status_code
        == 403
    )
    assert client.get(f"/api/dossiers/{d.id}/life-events", headers=login("archivist")).json() == []


def test_death_is_recorded_and_closes_online_use_except_for_funeral_and_survivor_claims(client, login):
    (d,) = received(client, login, row(72))
    sibao, approver = login("sibao"), login("approver")
    before = client.post("/api/requests", json=form(d), headers=sibao)
    assert before.status_code == 201, before.text
    assert (
        client.post(
            f"/api/requests/{before.json()['id']}/decision", json={"approve": True}, headers=approver
        ).status_code
        == 200
    )
    died = bureau_today() - timedelta(days=3)
    r = record(
        client, login, d, kind="death", occurred_on=str(died), source_document="死亡医学证明 No.110102-2026-0815"
    )
    assert r.status_code == 201, r.text
    event = r.json()["event"]
    assert (event["label"], event["occurred_on"], event["entered_by"]) == ("死亡", str(died), "王档案")
    again = record(client, login, d, kind="emigration", occurred_on=str(died), source_document="出境证明")
    assert again.status_code == 409 and again.json()["code"] == "retiree.deceased"

    refused = client.post("/api/requests", json=form(d), headers=sibao)
    assert refused.status_code == 403 and refused.json()["code"] == "request.deceased_online"
    assert "丧葬" in refused.json()["message"] and "抚恤" in refused.json()["message"]
    funeral = client.post(
        "/api/requests", json=form(d, purpose="funeral", purpose_detail="申领丧葬补助金"), headers=sibao
    )
    assert funeral.status_code == 201, funeral.text
    assert (
        client.post(
            f"/api/requests/{funeral.json()['id']}/decision", json={"approve": True}, headers=approver
        ).status_code
        == 200
    )
    on_site = client.post("/api/requests", json=form(d, mode="on_site"), headers=sibao)
    assert on_site.status_code == 201  # reading at the bureau stays open

    with db.get_sessionmaker()() as s:
        user = s.scalar(select(User).where(User.username == "sibao"))
        earlier, later = (s.get(RetrievalRequest, x.json()["id"]) for x in (before, funeral))
        try:
            delivery.check_online_use(earlier, user)
            raise AssertionError("an approved benefit request still opened the file after the retiree's death")
        except ArchiveError as e:
            assert e.code == "request.deceased_online"
        delivery.check_online_use(later, user)
        assert set(delivery.online_grants(s, user)) >= {d.id} and delivery.online_grants(s, user)[d.id].id == later.id
        dossier = s.get(Dossier, d.id)
        assert dossier.retiree.deceased_date == died
        history = s.scalars(select(CustodyEvent).where(CustodyEvent.dossier_id == d.id)).all()
        assert history[-1].kind is CustodyEventKind.life_event and "死亡医学证明" in history[-1].note


def test_a_move_out_of_the_area_waits_for_the_retirees_application_and_sends_nothing(client, login):
    """西城 takes its own 户籍 (003 五): a move to 东城 or to Shanghai is recorded and the file stays on its
    shelf — 晋政办通〔2020〕18号 第二十二条: it moves on the retiree's 转入申请 (transfers/moves.py, tested in
    test_moves.py), never on the move itself; the answer names where it now belongs."""
    to_dongcheng, to_shanghai = received(client, login, row(73), row(74))
    today = str(bureau_today())
    r = record(
        client,
        login,
        to_dongcheng,
        kind="moved",
        occurred_on=today,
        source_document="户口迁移证 京迁 0012",
        region_code="110101",
    )
    assert r.status_code == 201, r.text
    assert (r.json()["awaits_application"], r.json()["belongs_to"]) == (True, "北京市东城区档案馆")
    assert "第二十二条" in r.json()["next_step"] and "转入申请" in r.json()["next_step"]
    r = record(
        client,
        login,
        to_shanghai,
        kind="moved",
        occurred_on=today,
        source_document="户口迁移证 沪迁 77",
        region_code="310101",
    )
    assert r.status_code == 201 and r.json()["awaits_application"] is True
    assert r.json()["belongs_to"] == "区划 310101 所在地的档案馆"
    with db.get_sessionmaker()() as s:
        assert s.get(Dossier, to_dongcheng.id).status is DossierStatus.in_custody  # nothing sent by the move
        moved = s.get(Dossier, to_shanghai.id)
        assert moved.status is DossierStatus.in_custody
        assert (moved.retiree.hukou_region_code, moved.retiree.residence_region_code) == ("310101", "310101")
    events = client.get(f"/api/dossiers/{to_shanghai.id}/life-events", headers=login("archivist")).json()
    assert [(e["label"], e["region_code"]) for e in events] == [("迁居（户籍、居住地迁往他处）", "310101")]
