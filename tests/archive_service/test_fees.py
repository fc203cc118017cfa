"""Fees (issue 37 item 10): 重庆 实施方案 五(一) 移交企业暂按 1020 元／人的标准…一次性支付移交费用; 大政办发〔2017〕49号
第十一条 需要缴纳一定费用, 第十二条(三) 社会化管理费进行测算, (五) 缴纳. The amounts are the bureau's setting (重庆's
1,020 元 the preset it can take); a batch's fee is its persons × the rate, recorded as paid by vouchers or
outstanding; the yearly 社会化管理费 estimate counts the living retirees held. Money is 元 with at most two
decimals, never negative, refused naming the field. Registers the test uploads, SQLite and PostgreSQL."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from archive_service import db
from archive_service.access.models import AccessLogEntry
from archive_service.db import bureau_today
from archive_service.values import ValueRuleError, check_yuan
from tests.archive_service.test_life_events import received, record
from tests.archive_service.test_transfers import as_csv, row
from tests.archive_service.test_transfers_api import enterprise_id


def plain(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.mark.parametrize(
    ("typed", "code"),
    [("-1", "money.negative"), ("1020.005", "money.decimals"), ("一千", "money.format"), ("1e3", "money.format"),
     (True, "money.format"), ("", "money.format")],
)  # fmt: skip
def test_money_refuses_negatives_more_than_two_decimals_and_words(typed, code):
    """An amount in 元 is a number ≥ 0 with at most two decimals (分)."""
    with pytest.raises(ValueRuleError) as caught:
        check_yuan(typed)
    assert caught.value.code == code


def test_money_reads_amounts_as_people_write_them():
    assert [check_yuan(x) for x in ("1020", "1,020.00", "¥1020.5", "1020元", 1020, 0.1)] == [
        Decimal("1020.00"), Decimal("1020.00"), Decimal("1020.50"), Decimal("1020.00"), Decimal("1020.00"),
        Decimal("0.10")]  # fmt: skip


def test_fee_amounts_are_the_bureaus_setting_and_a_bad_amount_is_refused_naming_its_field_五一(client, login):
    """重庆 实施方案 五(一): the amount is a setting (the administrator's); a negative one or one with three
    decimals is refused naming the field and the clause, on the API and on the page; nothing saved."""
    admin = login("admin")
    assert client.get("/api/fees/policy", headers=admin).json() == {"handover_fee": None, "management_fee": None,
                                                                   "basis": ""}  # fmt: skip
    for body, field, said in [
        ({"handover_fee": "-5", "basis": "通知"}, "handover_fee", "金额不能为负数"),
        ({"handover_fee": "1020.001", "basis": "通知"}, "handover_fee", "最多两位小数"),
        ({"handover_fee": "1020", "management_fee": "一百", "basis": "通知"}, "management_fee", "应为金额"),
        ({"handover_fee": "1020", "basis": ""}, "basis", "请写明依据"),
    ]:
        r = client.put("/api/fees/policy", json=body, headers=admin)
        assert r.status_code == 422 and r.json()["field"] == field and said in r.json()["message"], r.text
    r = client.put("/api/fees/policy", json={"handover_fee": "-5", "basis": "通知"}, headers=admin)
    assert "移交费用标准（元／人）" in r.json()["message"] and "五(一)" in r.json()["message"]
    assert client.put("/api/fees/policy", json={"handover_fee": 1020, "basis": "通知"},
                      headers=login("clerk")).status_code == 403  # fmt: skip
    page = client.post("/transfers/fees/policy", data={"handover_fee": "10.123", "basis": "通知"}, headers=admin)
    assert page.status_code == 422 and "移交费用标准（元／人）：金额最多两位小数（到分）" in page.text
    assert 'value="10.123"' in page.text  # what was typed stays in the form
    assert client.get("/api/fees/policy", headers=admin).json()["handover_fee"] is None  # nothing saved
    preset = client.post("/transfers/fees/policy", data={"preset": "chongqing"}, headers=admin)
    assert preset.status_code == 200
    shown = plain(preset.text.split('id="fee-policy-text"')[1].split("</p>")[0])
    assert "移交费用 1,020.00 元／人" in shown and "五(一)" in shown
    assert client.get("/api/fees/policy", headers=admin).json()["handover_fee"] == "1020.00"


def test_a_batchs_handover_fee_is_persons_times_the_rate_recorded_as_paid_or_outstanding_五一(client, login):
    """五(一) 按 1020 元／人…一次性支付: three persons owe 3,060.00 元; a voucher's payment is recorded (part, then the
    rest); more than outstanding, a negative amount, a future date or no voucher is refused naming the field;
    the batch page and the fee list show paid and outstanding; a later change of the rate leaves a paid batch."""
    admin, clerk = login("admin"), login("clerk")
    assert client.post("/transfers/fees/policy", data={"preset": "chongqing"}, headers=admin).status_code == 200
    files = {"file": ("名册.csv", as_csv([row(91), row(92), row(93)]), "text/csv")}
    batch = client.post("/api/transfers", data={"enterprise_id": enterprise_id(client, clerk)}, files=files,
                        headers=clerk).json()  # fmt: skip
    fee = client.get(f"/api/fees/batches/{batch['id']}", headers=clerk).json()
    assert (fee["persons"], fee["rate"], fee["due"], fee["paid"], fee["outstanding"], fee["status"]) == (
        3, "1020.00", "3060.00", "0.00", "3060.00", "未缴")  # fmt: skip
    page = client.get(f"/transfers/{batch['id']}", headers=clerk).text
    assert "3 人 × 1,020.00 元 = 应缴 3,060.00 元 ；已缴 0.00 元，未缴 3,060.00 元 未缴" in plain(
        page.split('id="fee-summary"')[1].split("</p>")[0])  # fmt: skip
    today = bureau_today()
    pay = f"/api/fees/batches/{batch['id']}/payments"
    for body, field, said in [
        ({"amount": "5000", "paid_on": str(today), "voucher": "渝财收 001"}, "amount", "未缴的移交费用 3,060.00"),
        ({"amount": "-1", "paid_on": str(today), "voucher": "渝财收 001"}, "amount", "金额不能为负数"),
        ({"amount": "10.555", "paid_on": str(today), "voucher": "渝财收 001"}, "amount", "最多两位小数"),
        ({"amount": "100", "paid_on": str(today + timedelta(days=1)), "voucher": "渝财收 001"}, "paid_on", "晚于今天"),
        ({"amount": "100", "paid_on": str(today), "voucher": ""}, "voucher", "凭证号"),
    ]:  # fmt: skip
        r = client.post(pay, json=body, headers=clerk)
        assert r.status_code == 422 and r.json()["field"] == field and said in r.json()["message"], r.text
    r = client.post(pay, json={"amount": "-1", "paid_on": str(today), "voucher": "x1"}, headers=clerk)
    assert "五(一)" in r.json()["message"]
    assert client.get(f"/api/fees/batches/{batch['id']}", headers=clerk).json()["payments"] == []  # nothing saved

    part = {"amount": "1,000.00", "paid_on": str(today), "voucher": "渝财收 001"}
    page = client.post(f"/transfers/{batch['id']}/fee", data=part, headers=clerk)
    assert page.status_code == 200
    assert "已缴 1,000.00 元，未缴 2,060.00 元 部分缴纳" in plain(
        page.text.split('id="fee-summary"')[1].split("</p>")[0]
    )
    assert "渝财收 001" in page.text.split('id="fee-payments"')[1].split("</table>")[0]
    rest = client.post(pay, json={"amount": 2060, "paid_on": str(today), "voucher": "渝财收 002"}, headers=clerk)
    assert rest.status_code == 201 and (rest.json()["outstanding"], rest.json()["status"]) == ("0.00", "已缴清")
    more = client.post(pay, json={"amount": "0.01", "paid_on": str(today), "voucher": "渝财收 003"}, headers=clerk)
    assert more.status_code == 422 and more.json()["field"] == "amount"

    # A later rate applies to batches not yet paid; this one owes what it was paid at.
    assert (
        client.put("/api/fees/policy", json={"handover_fee": "1500", "basis": "新标准"}, headers=admin).status_code
        == 200
    )
    listed = client.get("/transfers/fees", headers=clerk).text
    line = plain(listed.split(f'data-batch="{batch["number"]}"')[1].split("</tr>")[0])
    assert "3 1,020.00 3,060.00 3,060.00 0.00 已缴清" in line
    api = {f["number"]: f for f in client.get("/api/fees/batches", headers=clerk).json()}
    assert api[batch["number"]]["due"] == "3060.00"
    with db.get_sessionmaker()() as s:
        logged = s.scalars(select(AccessLogEntry.detail).where(AccessLogEntry.action == "fee_paid")).all()
    assert [f"移交批次 {batch['number']} 缴纳移交费用 1,000.00 元" in d for d in logged].count(True) == 1
    assert any("2,060.00 元" in d and "渝财收 002" in d for d in logged)


def test_the_yearly_management_fee_estimate_counts_the_living_retirees_held_第十二条三(client, login):
    """大政办发〔2017〕49号 第十二条(三) 对退休人员社会化管理费进行测算: the yearly rate × the retirees whose files
    the bureau holds, alive at the year's start, by enterprise; without a rate nothing is estimated."""
    admin, clerk = login("admin"), login("clerk")
    assert client.get("/api/fees/estimate", headers=clerk).json()["rate"] is None
    page = client.get("/transfers/fees", headers=clerk).text
    assert "本馆未设定社会化管理费标准" in page
    body = {"handover_fee": "1020", "management_fee": "120.50", "basis": "大政办发〔2017〕49号 第十二条"}
    assert client.put("/api/fees/policy", json=body, headers=admin).status_code == 200
    year = bureau_today().year

    def persons(of_year: int) -> dict[str, int]:
        rows = client.get(f"/api/fees/estimate?year={of_year}", headers=clerk).json()["rows"]
        return {r["enterprise"]: r["persons"] for r in rows}

    before, last_before = persons(year), persons(year - 1)
    living, dead = received(client, login, row(94), row(95))
    r = record(client, login, dead, kind="death", occurred_on=f"{year - 1}-06-30", source_document="死亡医学证明 1")
    assert r.status_code == 201, r.text
    estimate = client.get(f"/api/fees/estimate?year={year}", headers=clerk).json()
    after = {r["enterprise"]: r for r in estimate["rows"]}
    name = living.retiree.enterprise.name
    assert after[name]["persons"] == before.get(name, 0) + 1  # the one who died last year is not counted
    assert Decimal(after[name]["amount"]) == Decimal("120.50") * after[name]["persons"]
    assert Decimal(estimate["total"]) == Decimal("120.50") * estimate["persons"]
    assert persons(year - 1) == last_before  # files received this year are not in last year's estimate
    bad = client.get("/api/fees/estimate?year=1900", headers=clerk)
    assert bad.status_code == 422 and bad.json()["field"] == "year"
    page = client.get(f"/transfers/fees?year={year}", headers=clerk).text
    shown = plain(page.split('id="estimate-total"')[1].split("</p>")[0])
    assert f"{year} 年：{estimate['persons']} 人 × 120.50 元" in shown
