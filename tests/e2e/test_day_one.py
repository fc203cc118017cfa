"""Two of a bureau's day-one wrongs (issue 36), in the browser, with files this test takes in itself:

- item 5: a file registered with 3 pages but digitised from 1 scan is a page-count finding on its dossier page
  and stays on the 待数字化 list until the archivist records the paper's count and why the register differs;
- item 7: after a 转递 the sending bureau's dossier page is its read-only record (who holds the file now, the
  batch, the 交接书), and the requester sees the approved request for it 已办结.
Screenshots: tests/e2e/artifacts/day-one-*.png."""

import random
from datetime import date, timedelta

import pytest

from archive_service.db import bureau_today
from digitise.specimen import SpecimenPerson, citizen_id_for, draw_page, save_scan
from tests.archive_service.test_requests import READER
from tests.archive_service.test_transfers import row
from tests.e2e.conftest import bearer, shot, sign_in
from tests.e2e.test_seed_rules import receive_new, send_on, shelve_waiting

pytestmark = pytest.mark.e2e

BORN = date(1953, 8, 2)
HIM = SpecimenPerson("孔德胜", citizen_id_for("110102", BORN, 31, "M"), BORN, "M")


def _awaiting_digitisation(page, server, code: str) -> bool:
    page.goto(f"{server}/dossiers?digitisation=pending&q={code}")
    return page.locator(f"table a:text-is('{code}')").count() == 1


def test_fewer_pages_than_registered_stay_on_the_list_until_the_archivist_explains(page, server, tmp_path):
    entry = row(141, 姓名=HIM.name, 性别="男", 公民身份号码=HIM.citizen_id, 出生日期=BORN.isoformat(),
                退休时间="2013-09-01", 页数=3)  # fmt: skip
    [code] = receive_new(page, server, tmp_path, [entry])
    sign_in(page, server, "archivist")
    shelve_waiting(page, server)
    page.goto(f"{server}/dossiers?q={code}")
    with page.expect_navigation():
        page.locator(f"table a:text-is('{code}')").click()
    dossier_url = page.url
    drawn = draw_page(random.Random(31), HIM, seal=False, lines=3, noise=1, title="职工登记表", grid=True)
    page.locator("#digitise-form input[type=file]").set_input_files(str(save_scan(drawn, tmp_path / "1.tif")))
    page.locator("#digitise-form button").click()
    page.wait_for_url(f"{server}/jobs/*")
    page.wait_for_function("() => document.querySelector('#job').dataset.state === 'done'", timeout=240_000)

    page.goto(dossier_url)
    finding = page.locator("#page-count-open")
    assert "页数与接收登记不符" in finding.inner_text()
    assert "接收登记 3 页，数字化 1 页" in finding.inner_text()
    shot(page, "day-one-page-count-open")
    assert _awaiting_digitisation(page, server, code)  # not gone from the list

    page.goto(dossier_url)
    page.get_by_label("纸质档案实有页数").fill("1")
    page.get_by_label("登记页数不符的原因").fill("名册页数填写有误，纸质档案实有 1 页")
    with page.expect_navigation():
        page.locator("#page-count-form button").click()
    check = page.locator("#page-count-check").inner_text()
    assert "页数核对已记录" in check and "实有 1 页" in check and "名册页数填写有误" in check
    assert page.locator("#page-count-open").count() == 0
    shot(page, "day-one-page-count-explained")
    assert not _awaiting_digitisation(page, server, code)


def test_the_sender_keeps_a_read_only_record_and_the_requester_sees_the_request_closed(page, server, tmp_path):
    born = date(1955, 11, 9)
    her = SpecimenPerson("温秀珍", citizen_id_for("110102", born, 42, "F"), born, "F")
    entry = row(142, 姓名=her.name, 性别="女", 公民身份号码=her.citizen_id, 出生日期=born.isoformat(),
                退休时间="2010-12-01")  # fmt: skip
    [code] = receive_new(page, server, tmp_path, [entry])
    sign_in(page, server, "archivist")
    shelve_waiting(page, server)

    # The social-insurance agency asks for the file and the approver approves.
    sibao = bearer(page, server, "sibao")
    today = bureau_today()
    form = {"dossier": code, "purpose": "benefit_change", "purpose_detail": "待遇变更，核对参加工作时间",
            "material_classes": [1], "mode": "online_view", "valid_from": today.isoformat(),
            "valid_until": (today + timedelta(days=6)).isoformat(), "reader_name": "李社保",
            "reader_citizen_id": READER, "relationship": "none"}  # fmt: skip
    asked = page.request.post(f"{server}/api/requests", data=form, headers=sibao)
    assert asked.status == 201, asked.text()
    request_id = asked.json()["id"]
    decided = page.request.post(
        f"{server}/api/requests/{request_id}/decision",
        data={"approve": True, "material_classes": [1]},
        headers=bearer(page, server, "approver"),
    )
    assert decided.status == 200, decided.text()

    # She moves to 东城: the archivist sends the file on from the 转递 page; 东城 checks it in, both confirm.
    send_on(page, server, code, "北京市东城区档案馆")
    onward_id = int(page.url.rstrip("/").split("/")[-1])
    dongcheng = bearer(page, server, "dongcheng")
    got = page.request.post(f"{server}/api/transfers/{onward_id}/receive", data={"key": code}, headers=dongcheng)
    assert got.status == 200, got.text()
    archivist = bearer(page, server, "archivist")
    for who, side in ((archivist, "sender"), (dongcheng, "receiver")):
        done = page.request.post(f"{server}/api/transfers/{onward_id}/confirm", data={"side": side}, headers=who)
        assert done.status == 200, done.text()

    # The sender's list and dossier page: a read-only record naming who holds it now, the batch and its 交接书.
    page.goto(f"{server}/dossiers?status=transferred_out&q={code}")
    with page.expect_navigation():
        page.locator(f"table a:text-is('{code}')").click()
    record = page.locator("#sent-on")
    assert "已转出" in page.locator("h1").inner_text()
    assert "东城" in record.locator("#holder").inner_text() and her.name in record.inner_text()
    assert record.locator("#sent-batch").inner_text().startswith("ZD")
    assert record.locator("#sent-receipt").count() == 1
    assert page.locator("#digitise-form").count() == 0  # nothing left to work on here
    shot(page, "day-one-sent-on-record")

    # The requester sees the approved request closed, with the reason.
    sign_in(page, server, "sibao")
    page.goto(f"{server}/requests/{request_id}")
    assert "已办结" in page.locator("main").inner_text()
    assert "转递" in page.locator("main").inner_text()
    shot(page, "day-one-request-closed")
