"""离休 retirees (issue 37 item 5). 重庆 实施方案 一: 企业离休人员，原则上保持现有管理方式不变，具备条件的可以移交当地
有关部门管理 — a bureau setting; preset (and 红政办规〔2020〕6号 第四条, 晋政办通〔2020〕18号 第三十六条): not taken.
A register the test makes, on SQLite and PostgreSQL."""

from sqlalchemy import select

from archive_service import db
from archive_service.access.models import AccessLogEntry
from archive_service.organisations.service import set_accepts_lixiu
from tests.archive_service.test_jurisdiction import problems
from tests.archive_service.test_transfers import error_of, new_batch, row, user


def test_a_lixiu_retiree_is_refused_naming_the_clause_until_the_bureau_accepts_them(engine, demo):
    """实施方案 一: 具备条件的可以移交 — refused by default with the clause; taken once the administrator sets it."""
    lixiu = row(1, 离休="是", 姓名="离休甲")
    with db.transaction() as session:
        column, code, message = problems(session, [lixiu], 4)[2]
        assert (column, code) == ("离休", "retiree.lixiu")
        assert "离休人员档案不予接收：本馆未设置接收离休人员" in message
        assert "实施方案 一" in message and "具备条件的可以移交" in message and "第三十六条" in message
        assert error_of(lambda: set_accepts_lixiu(session, user(session, "clerk"), True, "127.0.0.1")).status == 403
        set_accepts_lixiu(session, user(session, "admin"), True, "127.0.0.1")
        batch = new_batch(session, [lixiu])
        assert [i.retiree_name for i in batch.items] == ["离休甲"]
        logged = session.scalars(select(AccessLogEntry.detail).where(AccessLogEntry.action == "policy_changed")).all()
        assert any("不接收离休人员档案 → 接收离休人员档案" in d for d in logged)
        set_accepts_lixiu(session, user(session, "admin"), False, "127.0.0.1")
        assert problems(session, [row(2, 离休="是")], 4)[2][1] == "retiree.lixiu"


def test_the_setting_on_the_transfers_page(client, login):
    """The administrator sees and ticks 接收离休人员档案 beside the jurisdiction rule, with 实施方案 一 printed."""
    admin = login("admin")
    page = client.get("/transfers", headers=admin).text
    form = page.split('id="lixiu-form"')[1].split("</form>")[0]
    assert "接收离休人员档案" in form and "checked" not in form
    assert "具备条件的可以移交" in page.split('id="lixiu-basis"')[1].split("</p>")[0]
    done = client.post("/transfers/lixiu", data={"accepts": "yes"}, headers=admin)
    assert done.status_code == 200
    assert " checked" in done.text.split('id="lixiu-form"')[1].split("</form>")[0]
    r = client.put("/api/organisations/lixiu", json={"accepts": False}, headers=admin)
    assert r.status_code == 200 and r.json()["accepts"] is False and "实施方案 一" in r.json()["basis"]
    assert client.put("/api/organisations/lixiu", json={"accepts": True}, headers=login("clerk")).status_code == 403
