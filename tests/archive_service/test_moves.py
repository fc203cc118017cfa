"""A move does not send the file by itself (issue 37 item 4). 晋政办通〔2020〕18号 第二十二条: when the retiree's
长期居住地（或者户口所在地） changes, the retiree 向现居住地（或者户口所在地）…提出转入申请 and the file moves on it;
红政办规〔2020〕6号 第三条: 根据本人申请; 第四条 (002): 自愿. 西人社发〔2020〕14号 五: a 户籍 rule — a change of 常住地
alone moves nothing. Files received through a register the test uploads, on SQLite and PostgreSQL."""

from datetime import timedelta

from sqlalchemy import select

from archive_service import db
from archive_service.db import bureau_today
from archive_service.dossiers.models import CustodyEvent, Dossier, DossierStatus
from tests.archive_service.test_life_events import received, record
from tests.archive_service.test_paper_onward import paper_bureau, scan_png
from tests.archive_service.test_transfers import row

DONGCHENG = "110101"


def bureau_id(client, login, name: str) -> int:
    found = [o["id"] for o in client.get("/api/organisations", headers=login("admin")).json() if o["name"] == name]
    assert found, name
    return found[0]


def apply(client, login, dossier, **data):
    files = data.pop("files", None)
    return client.post(
        f"/api/dossiers/{dossier.id}/transfer-application", data=data, files=files, headers=login("archivist")
    )


def status(dossier_id: int) -> DossierStatus:
    with db.get_sessionmaker()() as s:
        return s.get(Dossier, dossier_id).status


def awaiting(client, login) -> dict[str, dict]:
    return {m["archival_code"]: m for m in client.get("/api/transfers/moves", headers=login("archivist")).json()}


def test_a_move_waits_for_the_retirees_application_to_the_new_place_which_starts_the_transfer(client, login):
    """晋政办通〔2020〕18号 第二十二条: recorded move → listed as awaiting an application, nothing sent; the
    application to another bureau than the new place's is refused naming the clause; the right one starts
    the 转递 with its scan kept; a second application for the same move is refused."""
    (d,) = received(client, login, row(81, 姓名="迁居甲"))
    today = bureau_today()
    moved = record(client, login, d, kind="moved", occurred_on=str(today - timedelta(days=3)),
                   source_document="户口迁移证 京迁 0081", region_code=DONGCHENG)  # fmt: skip
    assert moved.status_code == 201 and moved.json()["awaits_application"] is True
    assert status(d.id) is DossierStatus.in_custody
    listed = awaiting(client, login)[d.archival_code]
    assert (listed["name"], listed["belongs_to"], listed["region_code"]) == ("迁居甲", "北京市东城区档案馆", DONGCHENG)
    assert listed["enterprise"] and listed["move"] == "迁居（户籍、居住地迁往他处）"

    dongcheng, hexi = bureau_id(client, login, "北京市东城区档案馆"), paper_bureau(client, login)
    own = bureau_id(client, login, "北京市西城区档案馆")
    refusals = [
        ({"to_org_id": dongcheng}, "applied_on", "请填写转入申请日期"),
        ({"to_org_id": dongcheng, "applied_on": str(today - timedelta(days=5))}, "applied_on", "申请日期应在迁居日"),
        ({"to_org_id": own, "applied_on": str(today)}, "to_org_id", "请选择退休人员提出转入申请的档案馆"),
        ({"to_org_id": hexi, "applied_on": str(today)}, "to_org_id", "依据晋政办通〔2020〕18号 第二十二条"),
    ]
    for data, field, said in refusals:
        r = apply(client, login, d, **data)
        assert r.status_code in (409, 422) and r.json()["field"] == field, (data, r.text)
        assert said in r.json()["message"], r.text
    assert (
        "属北京市东城区档案馆，不属天津市河西区档案馆"
        in apply(client, login, d, to_org_id=hexi, applied_on=str(today)).json()["message"]
    )
    assert status(d.id) is DossierStatus.in_custody  # nothing half-done

    scan = {"application_scan": ("申请.png", scan_png(), "image/png")}
    r = apply(client, login, d, to_org_id=dongcheng, applied_on=str(today - timedelta(days=1)),
              document="转入申请表 东城 2026-0081", files=scan)  # fmt: skip
    assert r.status_code == 201, r.text
    done = r.json()
    assert (done["to_org"], done["has_scan"], done["document"]) == (
        "北京市东城区档案馆",
        True,
        "转入申请表 东城 2026-0081",
    )
    batch = client.get(f"/api/transfers/{done['onward_batch_id']}", headers=login("archivist")).json()
    assert batch["kind"] == "onward" and batch["to_org"] == "北京市东城区档案馆"
    assert [i["citizen_id"] for i in batch["items"]] == [row(81)["公民身份号码"]]
    assert status(d.id) is DossierStatus.in_transfer
    with db.get_sessionmaker()() as s:
        notes = s.scalars(select(CustodyEvent.note).where(CustodyEvent.dossier_id == d.id)).all()
    assert any("转入申请" in n and "第二十二条" in n for n in notes)
    assert d.archival_code not in awaiting(client, login)
    again = apply(client, login, d, to_org_id=dongcheng, applied_on=str(today))
    assert again.status_code == 409 and "已于" in again.json()["message"] and batch["number"] in again.json()["message"]


def test_under_a_hukou_rule_a_change_of_residence_alone_moves_nothing(client, login):
    """西人社发〔2020〕14号 五(二)(三): 户籍地在西城区的，负责接收其…档案关系 — a 市属/区属 retiree whose 常住地 moves
    to 东城 stays Xicheng's: not listed, and an application is refused naming the clause; a later 户籍 move
    does take the file out of the area and waits for an application."""
    (d,) = received(client, login, row(82, 姓名="迁居乙"))
    today = str(bureau_today())
    r = record(client, login, d, kind="moved_residence", occurred_on=today, source_document="居住证 东城 0082",
               region_code=DONGCHENG)  # fmt: skip
    assert r.status_code == 201, r.text
    assert r.json()["awaits_application"] is False and "西人社发〔2020〕14号 五" in r.json()["next_step"]
    assert "不办理转递" in r.json()["next_step"]
    with db.get_sessionmaker()() as s:
        retiree = s.get(Dossier, d.id).retiree
        assert (retiree.hukou_region_code, retiree.residence_region_code) == ("110102", DONGCHENG)
    assert d.archival_code not in awaiting(client, login)
    refused = apply(client, login, d, to_org_id=bureau_id(client, login, "北京市东城区档案馆"), applied_on=today)
    assert refused.status_code == 409 and "西人社发〔2020〕14号 五" in refused.json()["message"]
    again = record(client, login, d, kind="moved_residence", occurred_on=today, source_document="居住证",
                   region_code=DONGCHENG)  # fmt: skip
    assert again.status_code == 400 and again.json()["message"] == f"居住地已是 {DONGCHENG}"
    r = record(client, login, d, kind="moved_hukou", occurred_on=today, source_document="户口迁移证 京迁 0082",
               region_code=DONGCHENG)  # fmt: skip
    assert r.json()["awaits_application"] is True and d.archival_code in awaiting(client, login)
    assert status(d.id) is DossierStatus.in_custody


def test_a_new_place_whose_bureau_is_not_registered_is_said_so(client, login):
    """第二十二条: the application goes to the new place's bureau; where that bureau is not in the system, the
    archivist is told to register it first (then its 转递 may go on paper), not sent anywhere else."""
    (d,) = received(client, login, row(83))
    today = str(bureau_today())
    record(
        client, login, d, kind="moved", occurred_on=today, source_document="户口迁移证 沪迁 83", region_code="310101"
    )
    assert awaiting(client, login)[d.archival_code]["belongs_to"] == "区划 310101 所在地的档案馆"
    r = apply(client, login, d, to_org_id=bureau_id(client, login, "北京市东城区档案馆"), applied_on=today)
    assert r.status_code == 409 and r.json()["field"] == "to_org_id" and "尚未在本系统登记" in r.json()["message"]


def test_the_file_page_says_what_happens_after_a_move_and_takes_the_application(client, login):
    """What the archivist sees (第二十二条): after the move the file's page says the file waits for the retiree's
    转入申请 to 东城's bureau and offers the form; the list of moves names the file; the application recorded
    on the page shows its 转递 batch."""
    (d,) = received(client, login, row(84, 姓名="迁居丙"))
    archivist = login("archivist")
    today = str(bureau_today())
    page = client.post(
        f"/dossiers/{d.id}/life-events",
        data={
            "kind": "moved",
            "occurred_on": today,
            "source_document": "户口迁移证 京迁 0084",
            "region_code": DONGCHENG,
        },
        headers=archivist,
    )
    assert page.status_code == 200 and "已登记" in page.text
    notice = page.text.split('id="move-next"')[1].split("</div>")[0]
    assert "待退休人员向迁入地（北京市东城区档案馆）提出转入申请后" in notice and "第二十二条" in notice
    assert 'id="application-form"' in notice and notice.index("北京市东城区档案馆</option>") > 0
    listing = client.get("/transfers/moves", headers=archivist).text
    line = listing.split(f'data-archival-code="{d.archival_code}"')[1].split("</tr>")[0]
    assert "迁居丙" in line and "北京市东城区档案馆" in line and today in line
    refused = client.post(
        f"/dossiers/{d.id}/transfer-application", data={"to_org_id": "", "applied_on": today}, headers=archivist
    )
    assert refused.status_code == 422 and "请选择申请转入的档案馆" in refused.text
    dongcheng = str(bureau_id(client, login, "北京市东城区档案馆"))
    done = client.post(
        f"/dossiers/{d.id}/transfer-application",
        data={"to_org_id": dongcheng, "applied_on": today, "document": "转入申请表 0084"},
        headers=archivist,
    )
    assert done.status_code == 200
    notice = done.text.split('id="move-next"')[1].split("</div>")[0]
    assert "提出转入申请（转入申请表 0084），据此办理转递" in notice and "转递批次 ZD" in notice
    assert 'id="application-form"' not in notice
    assert d.archival_code not in client.get("/transfers/moves", headers=archivist).text
