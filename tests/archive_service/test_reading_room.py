"""到馆查阅 recorded (issue 37 item 6; 晋宁 第八条(七) 查阅利用, 004 第十八条 阅档室), on SQLite and PostgreSQL.

Each test registers its own file (with a 卷内目录) and shelves it, a requester asks to read it on site, the
approver approves; the archivist then opens the 阅档登记 (the reader's ID checked against the request, the
staff present), produces materials from the catalogue (the file leaves its slot), registers a copy, ends the
reading (the file back on its slot). What a person sees is asserted: the API's answers and refusals, the
pages, the custody history, the access log and the auditor's register."""

import io
from datetime import date, timedelta

from openpyxl import load_workbook
from sqlalchemy import select

from archive_service import db
from archive_service.access.models import AccessLogEntry, ReadingSession
from archive_service.auth.models import User
from archive_service.db import as_utc, bureau_today, show_time
from archive_service.demo import XICHENG, citizen_id
from archive_service.dossiers.models import CustodyEvent, CustodyEventKind, Dossier
from archive_service.organisations.models import Organisation, OrganisationKind
from digitise.specimen import citizen_id_for

READER = citizen_id_for("110105", date(1981, 3, 4), 37, "M")
OTHER = citizen_id_for("110105", date(1979, 8, 9), 41, "F")


def _enterprise() -> int:
    with db.get_sessionmaker()() as s:
        return s.scalar(
            select(Organisation.id).where(Organisation.kind == OrganisationKind.enterprise).order_by(Organisation.id)
        )


def new_file(client, login, serial: int = 731) -> dict:
    """A file the archivist registers (履历表, 退休审批表 and a 学历 paper) and shelves."""
    born = date(1958, 2, 3)
    body = {
        "retiree": {
            "name": "阅档甲",
            "citizen_id": citizen_id(XICHENG, born, serial, "M"),
            "sex": "M",
            "birth_date": born.isoformat(),
            "enterprise_id": _enterprise(),
            "hukou_region_code": XICHENG,
            "residence_region_code": XICHENG,
        },
        "materials": [
            {"class_code": "1", "title": "干部履历表", "pages": 3, "date_formed": "1980"},
            {"class_code": "4", "title": "毕业生登记表", "pages": 2, "date_formed": "1977"},
            {"class_code": "9", "title": "退休审批表", "pages": 2, "date_formed": "2018"},
        ],
    }
    made = client.post("/api/dossiers", json=body, headers=login("archivist"))
    assert made.status_code == 201, made.text
    placed = client.post("/api/shelving/assign", json={"dossier_ids": [made.json()["id"]]}, headers=login("archivist"))
    assert placed.status_code == 200 and len(placed.json()) == 1, placed.text
    return made.json()


def approved_request(client, login, file: dict, mode: str = "on_site", decide: bool = True, **changes) -> dict:
    today = bureau_today()
    form = {
        "dossier": file["archival_code"],
        "purpose": "benefit_change",
        "purpose_detail": "待遇变更，到馆核对参加工作时间",
        "material_classes": [1, 9],
        "mode": mode,
        "valid_from": today.isoformat(),
        "valid_until": (today + timedelta(days=6)).isoformat(),
        "reader_name": "钱查阅",
        "reader_citizen_id": READER,
        "relationship": "none",
        **changes,
    }
    r = client.post("/api/requests", json=form, headers=login("sibao"))
    assert r.status_code == 201, r.text
    if not decide:
        return r.json()
    d = client.post(f"/api/requests/{r.json()['id']}/decision", json={"approve": True}, headers=login("approver"))
    assert d.status_code == 200, d.text
    return d.json()


def material(file: dict, class_code: str) -> int:
    return next(m["id"] for m in file["materials"] if m["class_code"] == class_code)


def refusal(response, status: int) -> tuple[str, str, str]:
    assert response.status_code == status, response.text
    body = response.json()
    return body["code"], body["field"], body["message"]


def custody(dossier_id: int) -> list[CustodyEvent]:
    with db.get_sessionmaker()() as s:
        return list(
            s.scalars(select(CustodyEvent).where(CustodyEvent.dossier_id == dossier_id).order_by(CustodyEvent.id))
        )


def logged(request_id: int) -> list[AccessLogEntry]:
    with db.get_sessionmaker()() as s:
        query = select(AccessLogEntry).where(AccessLogEntry.request_id == request_id).order_by(AccessLogEntry.seq)
        return list(s.scalars(query))


def test_an_on_site_reading_is_registered_step_by_step_per_seed_002_article_8_7(client, login):
    """晋宁 第八条(七) 查阅利用 / 004 第十八条 阅档室: ID checked, materials from the catalogue, the file off its slot
    and back, a copy registered as certified copies are, every step on the access log and in the register."""
    file = new_file(client, login)
    req = approved_request(client, login, file)
    archivist = login("archivist")
    slot = custody(file["id"])[-1].to_slot_id
    assert slot is not None  # shelved

    # The reader shows another ID: refused naming the field, the attempt kept on the log, nothing opened.
    code, field, message = refusal(
        client.post(f"/api/requests/{req['id']}/readings", json={"reader_citizen_id": OTHER}, headers=archivist), 403
    )
    assert (code, field) == ("reading.reader_id", "reader_citizen_id")
    assert "钱查阅" in message and "不符" in message and "第八条(七)" in message and OTHER not in message
    with db.get_sessionmaker()() as s:
        assert s.scalars(select(ReadingSession)).all() == []

    opened = client.post(f"/api/requests/{req['id']}/readings", json={"reader_citizen_id": READER}, headers=archivist)
    assert opened.status_code == 201, opened.text
    reading = opened.json()
    assert reading["staff"] == ["王档案"] and reading["out_at"] is None and reading["ended_at"] is None
    rid = reading["id"]

    # Only the approved classes: the 第四类 paper is not produced.
    code, field, _ = refusal(
        client.post(f"/api/readings/{rid}/materials", json={"materials": [material(file, "4")]}, headers=archivist),
        403,
    )
    assert (code, field) == ("reading.materials_not_approved", "materials")
    produced = client.post(
        f"/api/readings/{rid}/materials",
        json={"materials": [material(file, "1"), material(file, "9")]},
        headers=archivist,
    )
    assert produced.status_code == 200, produced.text
    assert produced.json()["slot_id"] == slot and produced.json()["out_at"]
    out = custody(file["id"])[-1]
    assert (out.kind, out.from_slot_id, out.to_slot_id) == (CustodyEventKind.reading_out, slot, None)
    assert req["number"] in out.note and "阅档室" in out.note

    # A certified copy of a produced material, registered on the request as copies are.
    not_produced = client.post(
        f"/api/readings/{rid}/copies",
        json={"materials": [material(file, "4")], "annotation": "经核对，与档案原件一致"},
        headers=archivist,
    )
    assert refusal(not_produced, 400)[:2] == ("reading.copy_materials", "materials")
    copy = client.post(
        f"/api/readings/{rid}/copies",
        json={"materials": [material(file, "9")], "annotation": "经核对，与档案原件一致"},
        headers=archivist,
    )
    assert copy.status_code == 200 and copy.json()["copies_made"] == 1, copy.text

    # The request cannot be concluded while its reading is open.
    code, _, _ = refusal(client.post(f"/api/requests/{req['id']}/close", json={}, headers=archivist), 409)
    assert code == "request.reading_open"

    ended = client.post(f"/api/readings/{rid}/end", json={"complete": True}, headers=archivist)
    assert ended.status_code == 200 and ended.json()["return_check"] == "按目录核对无误", ended.text
    back = custody(file["id"])[-1]
    assert (back.kind, back.from_slot_id, back.to_slot_id) == (CustodyEventKind.reading_back, None, slot)
    with db.get_sessionmaker()() as s:
        assert s.get(Dossier, file["id"]).shelf_slot_id == slot
    # Ending twice is refused.
    code, field, _ = refusal(client.post(f"/api/readings/{rid}/end", json={"complete": True}, headers=archivist), 409)
    assert (code, field) == ("reading.ended", "ended_at")

    entries = logged(req["id"])
    assert [e.action for e in entries] == [
        "approve",
        "reading_id_refused",
        "reading_opened",
        "reading_produced",
        "export",
        "reading_ended",
    ]
    refused, opened_entry, produced_entry, copy_entry, ended_entry = entries[1:]
    assert OTHER not in refused.detail and OTHER[-4:] in refused.detail
    assert "证件核对一致" in opened_entry.detail and "王档案" in opened_entry.detail
    assert produced_entry.materials == [material(file, "1"), material(file, "9")]
    assert copy_entry.materials == [material(file, "9")] and "复制件第 1 份" in copy_entry.detail
    assert ended_entry.materials == [material(file, "1"), material(file, "9")]
    assert client.post(f"/api/requests/{req['id']}/close", json={}, headers=archivist).status_code == 200

    # The auditor's register: on-site readings beside online views, the steps in words with the materials.
    auditor = login("auditor")
    page = client.get("/audit", headers=auditor).text
    modes = page.split('id="uses-by-mode"')[1].split("</section>")[0]
    assert "网上查阅" in modes and "查看页面" in modes
    assert '到馆查阅</td><td class="num">1</td><td>阅档登记 1 次（已结束 1 次）' in modes
    assert "出具复制件共 1 份" in modes
    x = client.get(f"/api/audit/log.xlsx?archival_code={file['archival_code']}", headers=auditor)
    book = load_workbook(io.BytesIO(x.content))
    rows = list(book["利用登记"].iter_rows(min_row=2, values_only=True))
    said = {r[6]: r[8] for r in rows}
    assert said["到馆查阅提供材料"] == "1-1 干部履历表；9-1 退休审批表"
    assert {"到馆查阅开始", "到馆查阅证件不符", "到馆查阅结束", "导出/复制"} <= said.keys()
    by_mode = {r[0]: r[1:] for r in book["按利用方式"].iter_rows(min_row=2, values_only=True)}
    assert by_mode["到馆查阅"] == (1, "阅档登记 1 次（已结束 1 次）")


def test_a_file_out_in_the_reading_room_is_neither_produced_twice_nor_lent(client, login):
    """晋宁 第八条(七) 确保档案完整与安全: the paper file is in one place — out for one reading until it is back."""
    file = new_file(client, login, serial=732)
    first = approved_request(client, login, file)
    second = approved_request(client, login, file)
    loan = approved_request(
        client, login, file, mode="paper_loan", purpose="judicial", material_classes=[1], purpose_detail="案件调查"
    )
    archivist = login("archivist")
    a = client.post(f"/api/requests/{first['id']}/readings", json={"reader_citizen_id": READER}, headers=archivist)
    b = client.post(f"/api/requests/{second['id']}/readings", json={"reader_citizen_id": READER}, headers=archivist)
    assert a.status_code == 201 and b.status_code == 201
    # A second reading of the same request is not opened while the first is under way.
    again = client.post(f"/api/requests/{first['id']}/readings", json={"reader_citizen_id": READER}, headers=archivist)
    assert refusal(again, 409)[0] == "reading.already_open"
    one = [material(file, "1")]
    a_id, b_id = a.json()["id"], b.json()["id"]
    assert client.post(f"/api/readings/{a_id}/materials", json={"materials": one}, headers=archivist).is_success
    code, field, message = refusal(
        client.post(f"/api/readings/{b.json()['id']}/materials", json={"materials": one}, headers=archivist), 409
    )
    assert (code, field) == ("reading.file_out", "dossier")
    assert first["number"] in message and "已出库" in message
    code, _, _ = refusal(client.post(f"/api/requests/{loan['id']}/loan", headers=archivist), 409)
    assert code == "loan.in_reading"
    # Nor sent on (转递) while it is out.
    with db.get_sessionmaker()() as s:
        dongcheng = s.scalar(select(User.organisation_id).where(User.username == "dongcheng"))
    onward = {"to_org_id": dongcheng, "archival_codes": [file["archival_code"]], "note": "户籍迁至东城区"}
    sent = client.post("/api/transfers/onward", json=onward, headers=archivist)
    assert refusal(sent, 422)[1] == "archival_codes"
    assert [p["code"] for p in sent.json()["problems"]] == ["dossier.in_reading"]
    assert [e.kind for e in custody(file["id"])].count(CustodyEventKind.reading_out) == 1
    # Back on its slot, the other reading has it.
    assert client.post(f"/api/readings/{a.json()['id']}/end", json={"complete": True}, headers=archivist).is_success
    assert client.post(f"/api/readings/{b_id}/materials", json={"materials": one}, headers=archivist).is_success
    # Materials missing at the end must be described.
    short = client.post(f"/api/readings/{b.json()['id']}/end", json={"complete": False}, headers=archivist)
    assert refusal(short, 400)[:2] == ("reading.return_check", "note")
    done = client.post(
        f"/api/readings/{b.json()['id']}/end", json={"complete": False, "note": "履历表第2页折角"}, headers=archivist
    )
    assert done.json()["return_check"] == "与目录不符：履历表第2页折角"
    assert [e.kind for e in custody(file["id"])][-4:] == [
        CustodyEventKind.reading_out,
        CustodyEventKind.reading_back,
        CustodyEventKind.reading_out,
        CustodyEventKind.reading_back,
    ]


def test_only_an_approved_on_site_request_is_read_at_the_bureau(client, login):
    """晋宁 第八条(七): a request still waiting, or one to be read online, opens no 阅档登记."""
    file = new_file(client, login, serial=733)
    archivist = login("archivist")
    waiting = approved_request(client, login, file, decide=False)
    online = approved_request(client, login, file, mode="online_view")
    for req, expected in ((waiting, ("reading.not_approved", "status")), (online, ("reading.not_on_site", "mode"))):
        r = client.post(f"/api/requests/{req['id']}/readings", json={"reader_citizen_id": READER}, headers=archivist)
        code, field, message = refusal(r, 409)
        assert (code, field) == expected and "004 第十八条" in message
    # The requester does not serve himself.
    body = {"reader_citizen_id": READER}
    r = client.post(f"/api/requests/{waiting['id']}/readings", json=body, headers=login("sibao"))
    assert r.status_code == 403
    with db.get_sessionmaker()() as s:
        assert s.scalars(select(ReadingSession)).all() == []


def test_the_reading_pages_with_two_staff_where_the_bureau_sets_it(client, login):
    """004 第十八条 阅档室: from the request's page the archivist opens the reading; the bureau may require two
    staff present (preset 1: the seeds give no number). Times in Beijing time."""
    file = new_file(client, login, serial=734)
    req = approved_request(client, login, file)
    archivist, admin = login("archivist"), login("admin")
    assert 'id="staff-required">1<' in client.get("/reading", headers=archivist).text
    assert client.post("/reading/staff", data={"staff": "2"}, headers=archivist).status_code == 403
    assert client.post("/reading/staff", data={"staff": "2"}, headers=admin).status_code == 200
    assert 'id="staff-required">2<' in client.get("/reading", headers=archivist).text

    page = client.get(f"/requests/{req['id']}", headers=archivist).text
    form = page.split('id="open-reading"')[1].split("</form>")[0]
    assert "本馆规定 2 人" in form and "李接收" in form
    alone = client.post(f"/requests/{req['id']}/reading", data={"reader_citizen_id": READER}, headers=archivist)
    assert alone.status_code == 422 and "须有 2 名工作人员在场，现登记 1 名" in alone.text
    with db.get_sessionmaker()() as s:
        clerk = s.scalar(select(User.id).where(User.username == "clerk"))
    opened = client.post(
        f"/requests/{req['id']}/reading",
        data={"reader_citizen_id": READER, "staff": str(clerk)},
        headers=archivist,
        follow_redirects=False,
    )
    assert opened.status_code == 303, opened.text
    at = opened.headers["location"]
    with db.get_sessionmaker()() as s:
        x = s.scalar(select(ReadingSession))
        started = show_time(x.started_at)
        started_utc = as_utc(x.started_at).strftime("%Y-%m-%d %H:%M")
    shown = client.get(at, headers=archivist).text
    assert "王档案、李接收" in shown.split('id="staff"')[1].split("</dd>")[0]
    started_shown = shown.split('id="started"')[1].split("</dd>")[0]
    assert started in started_shown and started_utc not in started_shown  # Beijing time, not UTC
    assert "干部履历表" in shown and "未批准" in shown  # the catalogue, the 第四类 paper not offered
    produced = client.post(f"{at}/materials", data={"materials": str(material(file, "1"))}, headers=archivist)
    assert produced.status_code == 200 and "阅档中，档案已出库" in produced.text
    assert "干部履历表" in produced.text.split('id="produced"')[1].split("</ul>")[0]
    ended = client.post(f"{at}/end", data={"complete": "yes", "note": ""}, headers=archivist)
    assert ended.status_code == 200 and "按目录核对无误" in ended.text.split('id="ended"')[1].split("</dd>")[0]
    twice = client.post(f"{at}/end", data={"complete": "yes"}, headers=archivist)
    assert twice.status_code == 409 and "已结束" in twice.text
    desk = client.get("/reading", headers=archivist).text
    assert req["number"] in desk.split('id="readings"')[1] and "按目录核对无误" in desk
    # The request's page lists the reading, and the loan desk leads to the reading room.
    assert f'href="{at}"' in client.get(f"/requests/{req['id']}", headers=archivist).text
    assert 'href="/reading"' in client.get("/loans", headers=archivist).text
    with db.get_sessionmaker()() as s:
        bureau = s.scalar(select(User.organisation_id).where(User.username == "admin"))
        assert s.get(Organisation, bureau).reading_staff == 2
