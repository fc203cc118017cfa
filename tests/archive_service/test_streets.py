"""Streets, communities and entrusted custodians (issue 37 items 11 and 3), on SQLite and PostgreSQL, with units and
files the test makes: 西人社发〔2020〕14号 七(二) "现存的退休人员人事档案暂由各街道管理" — a file a street keeps is the
bureau's, counted, found and taken in later by a custody event; 大政办发〔2017〕49号 第十六条 "委托具有档案管理资质
的单位管理" — a custodian whose 资质 is not valid today is given no files; 晋政办通〔2020〕18号 第十一条 — service staff
counted street by street and community by community on the planning page."""

import csv
import io
from datetime import date, timedelta

from sqlalchemy import select

from archive_service import db
from archive_service.access.models import AccessLogEntry
from archive_service.db import bureau_today
from archive_service.demo import XICHENG, citizen_id
from archive_service.dossiers.models import CustodyEvent, CustodyEventKind, Dossier, DossierStatus
from archive_service.holdings import checking, saving, service
from archive_service.holdings.models import HoldingsProblem
from archive_service.organisations import units
from tests.archive_service.test_transfers import error_of, user

TODAY = bureau_today()  # the bureau's date, as validity is judged


def _unit(session, who: str = "admin", **typed: str):
    return units.register_unit(session, user(session, who), units.Particulars(**typed), "127.0.0.1")


def _retiree(client, headers, name: str, serial: int) -> dict:
    enterprise = next(o for o in client.get("/api/organisations", headers=headers).json() if o["kind"] == "enterprise")
    born = date(1952, 2, 29)
    return {
        "name": name, "sex": "F", "citizen_id": citizen_id(XICHENG, born, serial, "F"), "birth_date": str(born),
        "enterprise_id": enterprise["id"], "hukou_region_code": XICHENG, "residence_region_code": XICHENG,
    }  # fmt: skip


def test_units_are_registered_and_refused_by_field_and_clause(engine, demo):
    """A street, its community and a custodian; a custodian without its 档案管理资质 or with dates the wrong way round
    is refused naming the field and 第十六条; a bad retiree count names the field and 第十一条; changes are logged."""
    with db.transaction() as session:
        street = _unit(session, kind="street", name="测试甲街道", retirees="1200")
        community = _unit(session, kind="community", name="测试一社区", parent_id=str(street.id), retirees="300")
        assert (community.parent_id, community.retirees) == (street.id, 300)
        bare = error_of(lambda: _unit(session, kind="custodian", name="某档案服务公司"))
        assert bare.field == "qualification" and "第十六条" in bare.message and "档案管理资质" in bare.message
        backwards = error_of(
            lambda: _unit(
                session,
                kind="custodian",
                name="某档案服务公司",
                qualification="档案服务资质 A-001",
                valid_from="2026-01-01",
                valid_until="2025-12-31",
            )  # fmt: skip
        )
        assert backwards.field == "valid_until" and "早于" in backwards.message
        count = error_of(lambda: _unit(session, kind="township", name="测试镇", retirees="很多"))
        assert count.field == "retirees" and "第十一条" in count.message
        again = error_of(lambda: _unit(session, kind="street", name="测试甲街道"))
        assert (again.field, again.status) == ("name", 409)
        assert error_of(lambda: _unit(session, "archivist", kind="street", name="测试乙街道")).status == 403
        units.change_unit(
            session, user(session, "admin"), street.id,
            units.Particulars(kind="street", name="测试甲街道", retirees="1600"), "127.0.0.1",
        )  # fmt: skip
        logged = session.scalars(select(AccessLogEntry.detail).where(AccessLogEntry.action == "unit_changed")).all()
        assert any("直接接收退休人数 1200 → " in d and "直接接收退休人数 1600" in d for d in logged)


def test_a_file_a_street_keeps_is_counted_found_and_taken_in_003_7_2(client, login):
    """七(二) 现存的…档案暂由各街道管理: registered as kept by the street, the file is the bureau's (馆外保管 on the
    dashboard, in the list and its search), its page says who keeps it; 收回入馆 brings it in by a custody event."""
    admin, archivist = login("admin"), login("archivist")
    page = client.post("/units", data={"kind": "street", "name": "测试西街道", "retirees": "800"}, headers=admin)
    assert page.status_code == 200 and "已登记街道 测试西街道" in page.text
    street = next(u for u in client.get("/api/organisations/units", headers=admin).json() if u["name"] == "测试西街道")
    before = client.get("/", headers=archivist).text
    held_before = int(before.split('data-status="held_elsewhere"><b>')[1].split("<")[0])
    body = {"retiree": _retiree(client, archivist, "街道保管甲", 451), "held_by_unit_id": street["id"]}
    made = client.post("/api/dossiers", json=body, headers=archivist)
    assert made.status_code == 201, made.text
    dossier = made.json()
    assert (dossier["status"], dossier["held_by"]) == ("held_elsewhere", "测试西街道")
    assert [e["label"] for e in dossier["custody"]][-1] == "馆外保管" and "七(二)" in dossier["custody"][-1]["note"]
    after = client.get("/", headers=archivist).text
    this_month = f"{TODAY:%Y-%m}"  # 统计报表 of the current month: its holdings by status are now's
    report = client.get("/reports", params={"period": this_month}, headers=archivist).text
    assert int(report.split('<td>馆外保管</td><td class="num">')[1].split("<")[0]) == held_before + 1
    assert int(after.split('data-status="held_elsewhere"><b>')[1].split("<")[0]) == held_before + 1
    found = client.get("/api/dossiers", params={"q": "街道保管甲"}, headers=archivist).json()
    assert [d["held_by"] for d in found["items"]] == ["测试西街道"]
    listed = client.get("/dossiers", params={"status": "held_elsewhere"}, headers=archivist).text
    assert "街道保管甲" in listed and '<span class="small">测试西街道</span>' in listed
    shown = client.get(f"/dossiers/{dossier['id']}", headers=archivist).text
    assert "由街道 <b>测试西街道</b> 保管" in shown and 'id="take-in-form"' in shown
    units_page = client.get("/units", headers=admin).text
    row = units_page.split('data-unit="测试西街道"')[1].split("</tr>")[0]
    assert "800" in row and '<a href="/dossiers?status=held_elsewhere">1</a>' in row
    taken = client.post(f"/dossiers/{dossier['id']}/take-in", headers=archivist)
    assert taken.status_code == 200 and "在馆" in taken.text and 'id="take-in-form"' not in taken.text
    assert "收回入馆" in taken.text and "待上架" in taken.text  # shelved next, like any file received
    detail = client.get(f"/api/dossiers/{dossier['id']}", headers=archivist).json()
    assert (detail["status"], detail["held_by"], detail["custody"][-1]["label"]) == ("in_custody", None, "收回入馆")
    again = client.post(f"/api/dossiers/{dossier['id']}/take-in", headers=archivist)
    assert again.status_code == 409 and again.json()["field"] == "dossier_id"


def test_an_entrusted_custodian_out_of_date_is_given_no_files_004_16(client, login):
    """第十六条 委托具有档案管理资质的单位管理: a custodian whose qualification has lapsed is refused, naming the field
    and the clause, on the API and on the dossier page; renewed by the administrator, it is given the file."""
    admin, archivist = login("admin"), login("archivist")
    lapsed = {
        "kind": "custodian", "name": "测试档案寄存公司", "qualification": "档案寄存服务资质 第 2019-07 号",
        "valid_from": "2019-01-01", "valid_until": str(TODAY - timedelta(days=1)),
    }  # fmt: skip
    made = client.post("/api/organisations/units", json=lapsed, headers=admin)
    assert made.status_code == 201 and made.json()["valid_today"] is False
    custodian = made.json()
    stock = client.post(
        "/api/dossiers", json={"retiree": _retiree(client, archivist, "委托保管乙", 452)}, headers=archivist
    )
    dossier_id = stock.json()["id"]
    refused = client.post(f"/api/dossiers/{dossier_id}/held-by", json={"unit_id": custodian["id"]}, headers=archivist)
    assert refused.status_code == 409 and refused.json()["field"] == "unit_id"
    assert "第十六条" in refused.json()["message"] and "不在有效期内" in refused.json()["message"]
    on_page = client.post(f"/dossiers/{dossier_id}/held-by", data={"unit_id": str(custodian["id"])}, headers=archivist)
    assert on_page.status_code == 409 and "不能委托其保管档案" in on_page.text and 'id="held-by-form"' in on_page.text
    assert (
        client.get(f"/api/dossiers/{dossier_id}", headers=archivist).json()["status"] == "in_custody"
    )  # nothing half-done
    listed = client.get("/units", headers=admin).text.split('data-unit="测试档案寄存公司"')[1].split("</tr>")[0]
    assert "不在有效期内" in listed
    renewed = {**lapsed, "valid_until": str(TODAY + timedelta(days=365))}
    page = client.post(f"/units/{custodian['id']}", data=renewed, headers=admin)
    assert page.status_code == 200 and "已保存受托保管单位 测试档案寄存公司" in page.text
    given = client.post(f"/dossiers/{dossier_id}/held-by", data={"unit_id": str(custodian["id"])}, headers=archivist)
    assert given.status_code == 200 and "由受托保管单位 <b>测试档案寄存公司</b> 保管" in given.text
    detail = client.get(f"/api/dossiers/{dossier_id}", headers=archivist).json()
    assert detail["status"] == "held_elsewhere" and "第十六条" in detail["custody"][-1]["note"]
    assert (
        client.post(f"/api/dossiers/{dossier_id}/held-by", json={"unit_id": custodian["id"]}, headers=admin).status_code
        == 403
    )


def test_the_planning_page_counts_staff_per_street_and_community_002_article_11(client, login):
    """第十一条 under the Jinning preset: the office's 2, each street's at least 2, a community under 500 part-time,
    from the retiree counts the administrator typed; the same figures from /api/shelving/staffing."""
    admin = login("admin")
    assert client.post("/planning/policy", data={"preset": "jinning"}, headers=admin).status_code == 200
    for typed in (
        {"kind": "street", "name": "测试晋城街道", "retirees": "100"},
        {"kind": "township", "name": "测试二街镇", "retirees": "3100"},
        {"kind": "community", "name": "测试东社区", "retirees": "450"},
    ):
        assert client.post("/api/organisations/units", json=typed, headers=admin).status_code == 201
    page = client.get("/planning", headers=admin).text
    table = page.split('id="staffing-table"')[1].split("</table>")[0]

    def cells(name: str) -> list[str]:
        row = table.split(f'data-unit="{name}"')[1].split("</tr>")[0]
        return [c.split(">", 1)[1].split("</td>")[0] for c in row.split("<td")[1:]]

    assert cells("区社会化管理服务办公室")[3] == "2"
    assert cells("测试晋城街道")[2:5] == ["100", "2", "—"] and "不少于 2 人" in cells("测试晋城街道")[5]
    assert cells("测试二街镇")[2:4] == ["3100", "3"]
    assert cells("测试东社区")[3:5] == ["0", "1 人兼任"]
    total = table.split('id="staffing-total"')[1].split("</tr>")[0]
    assert '<th class="num">7</th>' in total and "1 人兼任" in total
    staffing = client.get("/api/shelving/staffing", headers=admin).json()
    assert (staffing["full_time"], staffing["part_time"], staffing["by_unit"]) == (7, 1, True)
    assert "第十一条" in staffing["basis"]


def test_a_ledgers_holder_column_enters_files_a_street_keeps(engine, demo):
    """存量档案导入 with a 保管单位 column: a registered street's files come in as 馆外保管 with a custody event;
    an unknown unit and a lapsed custodian are problems of their row naming the column (and 第十六条)."""
    people = [("台账街道甲", 453), ("台账街道乙", 454), ("台账寄存丙", 455)]
    ids = {name: citizen_id(XICHENG, date(1956, 2, 29), serial, "F") for name, serial in people}
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["姓名", "性别", "出生日期", "身份证号", "所属企业", "保管单位"])
    writer.writerow(["台账街道甲", "女", "1956.2.29", ids["台账街道甲"], "北京红星电子仪器厂", "测试台账街道"])
    writer.writerow(["台账街道乙", "女", "1956.2.29", ids["台账街道乙"], "北京红星电子仪器厂", "不存在的街道"])
    writer.writerow(["台账寄存丙", "女", "1956.2.29", ids["台账寄存丙"], "北京红星电子仪器厂", "测试过期公司"])
    maker = db.get_sessionmaker()
    with maker() as s:
        street = _unit(s, kind="street", name="测试台账街道", retirees="10")
        _unit(
            s, kind="custodian", name="测试过期公司", qualification="资质 X-1",
            valid_from="2018-01-01", valid_until="2020-12-31",
        )  # fmt: skip
        s.commit()
        archivist = user(s, "archivist")
        imported = service.start_import(s, archivist, out.getvalue().encode("utf-8"), "街道台账.csv")
        assert imported.sheets[0]["mapping"]["holder"] == 5
        checking.check_import(s, imported.id)
        s.commit()
        problems = s.scalars(select(HoldingsProblem).where(HoldingsProblem.import_id == imported.id)).all()
        said = {(p.row, p.column, p.code): p.message for p in problems if p.blocking}
        assert "不是本馆登记的街道" in said[(3, "保管单位", "holder.unknown")]
        assert "第十六条" in said[(4, "保管单位", "holder.qualification_invalid")]
        service.request_save(s, archivist, imported.id, good_rows_only=True)
        result = saving.save_import(s, archivist, imported.id, good_rows_only=True)
        s.commit()
        assert result["saved"] == 1, said
        (kept,) = s.scalars(select(Dossier).join(Dossier.retiree).where(Dossier.held_by_id == street.id)).all()
        assert kept.retiree.name == "台账街道甲" and kept.status is DossierStatus.held_elsewhere
        assert kept.shelf_slot_id is None
        kinds = s.scalars(
            select(CustodyEvent.kind).where(CustodyEvent.dossier_id == kept.id).order_by(CustodyEvent.id)
        ).all()
        assert kinds == [CustodyEventKind.holdings_entry, CustodyEventKind.held_elsewhere]
        assert units.held_counts(s, street.bureau_id)[street.id] == 1


def test_a_file_a_street_keeps_is_asked_for_and_read_once_taken_in_003_7_2(client, login):
    """七(二): the file a street keeps is the bureau's, so a requester asks for it like any other (it was refused as
    not held); its paper is produced for an on-site reading only once the bureau takes it in, the refusal naming
    the street and the way in; then the reading goes on as usual."""
    from tests.archive_service.test_reading_room import READER, approved_request, material, refusal

    admin, archivist = login("admin"), login("archivist")
    client.post("/units", data={"kind": "street", "name": "测试北街道", "retirees": "500"}, headers=admin)
    street = next(u for u in client.get("/api/organisations/units", headers=admin).json() if u["name"] == "测试北街道")
    body = {
        "retiree": _retiree(client, archivist, "街道保管乙", 453),
        "held_by_unit_id": street["id"],
        "materials": [
            {"class_code": "1", "title": "干部履历表", "pages": 3, "date_formed": "1980"},
            {"class_code": "9", "title": "退休审批表", "pages": 2, "date_formed": "2018"},
        ],
    }
    made = client.post("/api/dossiers", json=body, headers=archivist)
    assert made.status_code == 201, made.text
    file = made.json()
    assert file["status"] == "held_elsewhere"

    req = approved_request(client, login, file)  # submitted by the agency, approved: no longer "not found"
    assert req["status"] == "approved"
    opened = client.post(f"/api/requests/{req['id']}/readings", json={"reader_citizen_id": READER}, headers=archivist)
    assert opened.status_code == 201, opened.text
    produce = {"materials": [material(file, "1")]}
    code, field, message = refusal(
        client.post(f"/api/readings/{opened.json()['id']}/materials", json=produce, headers=archivist), 409
    )
    assert (code, field) == ("reading.file_out", "dossier")
    assert "由测试北街道保管" in message and "收回入馆" in message
    assert client.get(f"/api/dossiers/{file['id']}", headers=archivist).json()["status"] == "held_elsewhere"

    assert client.post(f"/api/dossiers/{file['id']}/take-in", headers=archivist).status_code == 200
    produced = client.post(f"/api/readings/{opened.json()['id']}/materials", json=produce, headers=archivist)
    assert produced.status_code == 200, produced.text
    kinds = [e["label"] for e in client.get(f"/api/dossiers/{file['id']}", headers=archivist).json()["custody"]]
    assert kinds[-2:] == ["收回入馆", "出库阅档"], kinds
