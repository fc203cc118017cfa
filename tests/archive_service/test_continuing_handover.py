"""Continuing handover (issue 37 item 7). 重庆 实施方案 四(二): 从 2018 年 1 月 1 日起，企业职工办理退休手续后…常态化
移交; 红政办规〔2020〕6号 第七条; 西人社发〔2020〕14号 一. The register's 退休时间 is required; a person not yet
retired is refused with the clause; each new retiree's file is due a bureau-set number of months after
retirement, and the late list names the enterprise and the person. Registers the test makes, SQLite and
PostgreSQL."""

from datetime import date, timedelta

from archive_service import db
from archive_service.db import bureau_today
from archive_service.transfers import campaign, continuing
from archive_service.transfers.service import add_months
from tests.archive_service.test_jurisdiction import problems
from tests.archive_service.test_transfers import enterprise, error_of, new_batch, row, user


def test_the_registers_retirement_date_is_required_and_not_in_the_future(engine, demo):
    """实施方案 四(二): 办理退休手续后 … 移交 — a row without 退休时间, or with one after today, is refused."""
    tomorrow = bureau_today() + timedelta(days=1)
    with db.transaction() as session:
        found = problems(session, [row(1, 退休时间=""), row(2, 退休时间=tomorrow.isoformat())], 4)
        assert found[2][:2] == ("退休时间", "retirement_date.required")
        column, code, message = found[3]
        assert (column, code) == ("退休时间", "retiree.not_retired")
        assert f"退休时间 {tomorrow} 晚于今天，尚未退休" in message
        assert "实施方案 四(二)" in message and "红政办规〔2020〕6号 第七条" in message


def test_a_new_retirees_file_is_due_months_after_retirement_and_the_late_are_named(engine, demo):
    """四(二) 常态化移交: from the bureau's start date, due `due_months` after retirement; a file that came later
    is listed with its enterprise and person; earlier retirements (the campaign's) and files in time are not."""
    today = bureau_today()
    with db.transaction() as session:
        admin, clerk = user(session, "admin"), user(session, "clerk")
        assert continuing.late(session, clerk) == []  # nothing set, nothing due
        assert error_of(lambda: continuing.set_continuing(session, clerk, today, 2, "通知", "x")).status == 403
        error = error_of(lambda: continuing.set_continuing(session, admin, today, 0, "通知", "x"))
        assert (error.field, error.message) == ("due_months", "退休后移交期限应为 1–24 个月的整数")
        assert error_of(lambda: continuing.set_continuing(session, admin, None, 2, "通知", "x")).field == "starts_on"
        starts = today - timedelta(days=700)
        continuing.set_continuing(session, admin, starts, 3, "区人社局通知 二", "127.0.0.1")
        late_one = today - timedelta(days=150)  # due ~60 days ago
        in_time = today - timedelta(days=40)
        before = starts - timedelta(days=1)  # the campaign's, not continuing handover's
        new_batch(session, [row(1, 姓名="逾期甲", 退休时间=late_one.isoformat()),
                            row(2, 姓名="按时乙", 退休时间=in_time.isoformat()),
                            row(3, 姓名="集中丙", 退休时间=before.isoformat())])  # fmt: skip
        ours = {"逾期甲", "按时乙", "集中丙"}  # the demo's own open register has late ones too
        found = [x for x in continuing.late(session, clerk) if x.name in ours]
        assert [(x.enterprise, x.name) for x in found] == [(enterprise(session, 4).name, "逾期甲")]
        x = found[0]
        assert (x.retirement_date, x.due_on, x.handed_over_on) == (late_one, add_months(late_one, 3), today)
        assert x.days_late == (today - add_months(late_one, 3)).days > 0


def test_a_seeds_preset_sets_continuing_handover_with_its_window(engine, demo):
    """实施方案 四(二): 从 2018 年 1 月 1 日起 — taken with 重庆's window."""
    with db.transaction() as session:
        campaign.set_preset(session, user(session, "admin"), "chongqing", "127.0.0.1")
        setting = continuing.setting_of(session, user(session, "admin").organisation_id)
        assert (setting.starts_on, setting.due_months) == (date(2018, 1, 1), 2)
        assert setting.basis.endswith("四(二)")


def test_the_campaign_page_lists_the_late_new_retirees(client, login):
    """The clerk sees who is late on 移交进度: enterprise, person, due date and days late (四(二))."""
    admin, clerk = login("admin"), login("clerk")
    today = bureau_today()
    r = client.post("/transfers/campaign/continuing", data={"starts_on": "", "due_months": "2", "basis": "通知"},
                    headers=admin)  # fmt: skip
    assert r.status_code == 422 and "请填写常态化移交起始日期" in r.text
    form = {"starts_on": str(today - timedelta(days=400)), "due_months": "2", "basis": "区人社局通知 二"}
    assert client.post("/transfers/campaign/continuing", data=form, headers=admin).status_code == 200
    retired = today - timedelta(days=120)
    with db.transaction() as session:
        new_batch(session, [row(5, 姓名="逾期丁", 退休时间=retired.isoformat())])
        name = enterprise(session, 4).name
    page = client.get("/transfers/campaign", headers=clerk).text
    assert "退休后 <b>2 个月</b>内移交" in page.split('id="continuing-setting"')[1].split("</p>")[0]
    table = page.split('id="late-files"')[1].split("</table>")[0]
    line = table.split("逾期丁")[0].rsplit("<tr", 1)[1] + "逾期丁" + table.split("逾期丁")[1].split("</tr>")[0]
    assert name in line and str(add_months(retired, 2)) in line
    assert f'<td class="num">{(today - add_months(retired, 2)).days}</td>' in line
    api = client.get("/api/transfers/campaign/late", headers=clerk).json()
    assert (name, "逾期丁") in [(x["enterprise"], x["name"]) for x in api]
    assert all(x["days_late"] > 0 for x in api)
