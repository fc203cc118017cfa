"""The handover campaign (000 §四, 001 第五–七条, 003 一, 001 第十五条(二)): the bureau's window is a setting
from its notice; each enterprise's 核准移交人数 is typed or imported from the social-insurance agency's
list (all rows or none); progress counts what was really received, and who is late; the monthly list
for the agency (001 第十六条(四)) holds the month's newly received retirees and the deaths recorded."""

import io
from datetime import timedelta

from openpyxl import Workbook, load_workbook
from sqlalchemy import select

from archive_service import db
from archive_service.access.models import AccessLogEntry
from archive_service.db import bureau_today
from tests.archive_service.test_catalogue_path import new_enterprise
from tests.archive_service.test_transfers import as_xlsx, row


def workbook(rows: list[tuple]) -> bytes:
    book = Workbook()
    book.active.append(["统一社会信用代码", "单位名称", "核准移交人数", "依据"])
    for r in rows:
        book.active.append(list(r))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_the_window_the_approved_numbers_and_who_is_late(client, login):
    admin, clerk = login("admin"), login("clerk")
    today = bureau_today()
    window = {"opens_on": str(today - timedelta(days=150)), "closes_on": str(today - timedelta(days=10)),
              "final_on": str(today + timedelta(days=200)), "basis": "区政府通知 四：限期移交"}  # fmt: skip
    # Refusals name the field; only the administrator sets the bureau's policy.
    backwards = {**window, "closes_on": str(today - timedelta(days=200))}
    r = client.put("/api/transfers/campaign", json=backwards, headers=admin)
    assert (r.status_code, r.json()["field"]) == (422, "closes_on") and "早于开始日期" in r.json()["message"]
    r = client.put("/api/transfers/campaign", json={**window, "basis": ""}, headers=admin)
    assert r.json()["field"] == "basis"
    assert client.put("/api/transfers/campaign", json=window, headers=clerk).status_code == 403
    assert client.put("/api/transfers/campaign", json=window, headers=admin).status_code == 200

    # 核准移交人数: typed for a new enterprise; another from the agency's list (a bad row refuses it all).
    enterprise = new_enterprise(client, login)
    r = client.put(f"/api/transfers/campaign/quotas/{enterprise}", json={"expected": 3, "basis": ""}, headers=clerk)
    assert r.status_code == 422 and r.json()["field"] == "basis"
    r = client.put(
        f"/api/transfers/campaign/quotas/{enterprise}",
        json={"expected": 3, "basis": "西人社核〔2026〕7号"},
        headers=clerk,
    )
    assert r.status_code == 200
    organisations = client.get("/api/organisations", headers=admin).json()
    other = next(o for o in organisations if o["kind"] == "enterprise" and o["id"] != enterprise)
    bad = workbook(
        [(other["credit_code"], other["name"], "12", "社保中心名单"), ("91110000XXXXXXXXXX", "无名厂", "x", "")]
    )
    r = client.post("/api/transfers/campaign/quotas", files={"file": ("名单.xlsx", bad)}, headers=clerk)
    assert r.status_code == 422 and [(p["row"], p["column"]) for p in r.json()["problems"]] == [(3, "统一社会信用代码")]
    bad = workbook([(other["credit_code"], other["name"], "十二", "")])
    r = client.post("/api/transfers/campaign/quotas", files={"file": ("名单.xlsx", bad)}, headers=clerk)
    assert [(p["row"], p["column"]) for p in r.json()["problems"]] == [(2, "核准移交人数"), (2, "依据")]
    assert other["name"] not in {
        e["enterprise"] for e in client.get("/api/transfers/campaign", headers=clerk).json()["enterprises"]
    }
    good = workbook([(other["credit_code"], other["name"], "12", "社保中心 2026 年名单")])
    assert (
        client.post("/api/transfers/campaign/quotas", files={"file": ("名单.xlsx", good)}, headers=clerk).status_code
        == 200
    )

    # The new enterprise hands over two of its three; one more is sent back.
    register = as_xlsx([row(91, 姓名="周文斌"), row(92, 姓名="郑桂兰"), row(93, 姓名="冯国强")])
    batch = client.post(
        "/api/transfers", data={"enterprise_id": enterprise}, files={"file": ("名册.xlsx", register)}, headers=clerk
    ).json()
    zhou, zheng, feng = batch["items"]
    for item in (zhou, zheng):
        assert (
            client.post(
                f"/api/transfers/{batch['id']}/receive", json={"key": item["citizen_id"]}, headers=clerk
            ).status_code
            == 200
        )
    client.post(
        f"/api/transfers/{batch['id']}/receive",
        json={"key": feng["citizen_id"], "result": "rejected", "reason": "非本企业职工"},
        headers=clerk,
    )
    progress = client.get("/api/transfers/campaign", headers=clerk).json()
    assert progress["campaign"]["closes_on"] == window["closes_on"]
    rows = {e["enterprise"]: e for e in progress["enterprises"]}
    ours = rows["北京新华纺织机械厂"]
    assert (ours["expected"], ours["handed_over"], ours["outstanding"], ours["state"], ours["late"]) == (
        3, 2, 1, "逾期", True,
    )  # fmt: skip
    assert rows[other["name"]]["expected"] == 12 and rows[other["name"]]["late"] is (
        rows[other["name"]]["outstanding"] > 0
    )
    assert progress["enterprises"][0]["late"]  # the late first
    sheet = load_workbook(io.BytesIO(client.get("/api/transfers/campaign/progress.xlsx", headers=clerk).content)).active
    table = {r[0]: r for r in sheet.iter_rows(min_row=3, values_only=True)}
    assert table["北京新华纺织机械厂"][2:7] == ("区属", window["closes_on"], 3, 2, 1)
    assert table["北京新华纺织机械厂"][8] == "逾期"

    # Past the final date it says so; with every file in, done.
    final = {**window, "final_on": str(today - timedelta(days=1)), "opens_on": str(today - timedelta(days=300))}
    final["closes_on"] = str(today - timedelta(days=100))
    client.put("/api/transfers/campaign", json=final, headers=admin)
    assert {
        e["enterprise"]: e["state"] for e in client.get("/api/transfers/campaign", headers=clerk).json()["enterprises"]
    }["北京新华纺织机械厂"] == "超过最终期限"
    client.put(
        f"/api/transfers/campaign/quotas/{enterprise}",
        json={"expected": 2, "basis": "核减 1 人（非本企业职工）"},
        headers=clerk,
    )
    assert {
        e["enterprise"]: e["state"] for e in client.get("/api/transfers/campaign", headers=clerk).json()["enterprises"]
    }["北京新华纺织机械厂"] == "已完成"

    # The monthly list for the agency: this month's two received retirees, and a death recorded this month.
    zhou_id = next(
        i["dossier_id"] for i in client.get(f"/api/transfers/{batch['id']}", headers=clerk).json()["items"]
        if i["citizen_id"] == zhou["citizen_id"]
    )  # fmt: skip
    died = {"kind": "death", "occurred_on": str(today - timedelta(days=2)), "source_document": "死亡医学证明 A0012"}
    assert client.post(f"/api/dossiers/{zhou_id}/life-events", json=died, headers=login("archivist")).status_code == 201
    month = f"{today:%Y-%m}"
    r = client.get(f"/api/transfers/campaign/monthly-export.xlsx?month={month}", headers=clerk)
    assert r.status_code == 200
    book = load_workbook(io.BytesIO(r.content))
    received = list(book["新接收人员"].iter_rows(min_row=2, values_only=True))
    ids = {r[2] for r in received}
    assert {zhou["citizen_id"], zheng["citizen_id"]} <= ids and feng["citizen_id"] not in ids
    mine = next(r for r in received if r[2] == zheng["citizen_id"])
    assert mine[0] == "郑桂兰" and mine[6] == "北京新华纺织机械厂" and mine[9] == str(today)
    changes = list(book["人员状态变动"].iter_rows(min_row=2, values_only=True))
    assert ("周文斌", zhou["citizen_id"], "北京新华纺织机械厂", "死亡", died["occurred_on"], "死亡医学证明 A0012") in [
        c[:6] for c in changes
    ]
    assert mine[1] == "男"  # in words, not the stored code
    # The same list for one enterprise (telling it of its retirees' deaths, 000 二(五)): only its people.
    r = client.get(
        f"/api/transfers/campaign/monthly-export.xlsx?month={month}&enterprise_id={enterprise}", headers=clerk
    )
    theirs = load_workbook(io.BytesIO(r.content))
    assert {row[6] for row in theirs["新接收人员"].iter_rows(min_row=2, values_only=True)} == {"北京新华纺织机械厂"}
    assert [c[0] for c in theirs["人员状态变动"].iter_rows(min_row=2, values_only=True)] == ["周文斌"]
    r = client.get(
        f"/api/transfers/campaign/monthly-export.xlsx?month={month}&enterprise_id={other['id']}", headers=clerk
    )
    others = load_workbook(io.BytesIO(r.content))
    assert zhou["citizen_id"] not in {row[2] for row in others["新接收人员"].iter_rows(min_row=2, values_only=True)}
    earlier = (today.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    old = load_workbook(
        io.BytesIO(client.get(f"/api/transfers/campaign/monthly-export.xlsx?month={earlier}", headers=clerk).content)
    )
    assert zhou["citizen_id"] not in {r[2] for r in old["新接收人员"].iter_rows(min_row=2, values_only=True)}
    r = client.get("/api/transfers/campaign/monthly-export.xlsx?month=2026-13", headers=clerk)
    assert (r.status_code, r.json()["field"]) == (422, "month")
    with db.transaction() as session:
        exports = session.scalars(select(AccessLogEntry.detail).where(AccessLogEntry.action == "export")).all()
        changes_logged = session.scalars(
            select(AccessLogEntry.detail).where(AccessLogEntry.action == "policy_changed")
        ).all()
    assert any(d.startswith(f"{month} 月报") and "新接收" in d for d in exports)
    assert any("移交期限：未设置 →" in d for d in changes_logged)


def test_a_seeds_window_is_taken_as_a_preset(client, login):
    """西城 003 一、四: 区属 by 2020-09-30, 央属、市属 by year's end — picked, not typed; logged like a typed one."""
    admin = login("admin")
    r = client.put("/api/transfers/campaign", json={"preset": "atlantis"}, headers=admin)
    assert r.status_code == 422 and r.json()["field"] == "preset" and "北京市西城区" in r.json()["message"]
    r = client.put("/api/transfers/campaign", json={"preset": "xicheng"}, headers=admin)
    assert r.status_code == 200
    window = r.json()["campaign"]
    assert (window["opens_on"], window["closes_on"], window["final_on"]) == ("2020-05-26", "2020-09-30", None)
    assert window["by_level"] == {"central": "2020-12-31", "city": "2020-12-31"}
    assert window["basis"].startswith("西人社发〔2020〕14号")
    page = client.get("/transfers/campaign", headers=admin).text
    assert "2020-09-30" in page.split('id="campaign-window"')[1][:300]
