"""目录著录 in the browser with a fresh file: register → receive → type the 卷内目录 with the keyboard
(Enter moves through a row and on to the next), a refused save comes back with every value kept and
the problem named, the corrected one is saved and shown. Screenshots in tests/e2e/artifacts/catalogue-*.png."""

import pytest

from tests.archive_service.test_transfers import as_xlsx, row
from tests.e2e.conftest import shot
from tests.e2e.test_requests import sign_in
from tests.e2e.test_transfers import upload

pytestmark = pytest.mark.e2e


def test_a_received_file_is_catalogued_from_the_keyboard(page, server, tmp_path):
    sign_in(page, server, "clerk")
    fresh = [row(90, 姓名="曹文华"), row(91, 姓名="潘桂兰")]
    upload(page, server, tmp_path, "名册.xlsx", as_xlsx(fresh))
    page.locator("#start-receiving").click()
    key = page.get_by_label("扫描档号条码或输入公民身份号码（回车即按名册接收）")
    key.fill(str(fresh[0]["公民身份号码"]))
    key.press("Enter")
    page.wait_for_load_state()
    page.goto(page.url.replace("/receive", "").split("?")[0])
    page.locator("#register tbody tr td:nth-child(4) a").first.click()
    page.wait_for_load_state()
    assert "曹文华" in page.locator("h1").inner_text()
    assert page.locator("#catalogue-edit").is_visible()

    # Row 1 by keyboard: class, title, date, copies, pages, remarks — Enter moves on each time.
    first = page.get_by_label("第1条 类号")
    first.click()
    for value in ("1", "职工登记表", "1978.9", "1", "2", ""):
        page.keyboard.type(value)
        page.keyboard.press("Enter")
    # Enter on row 1's last field went to row 2's class; the title is left out on purpose.
    for value in ("9", "", "2018年3月", "1", "2"):
        page.keyboard.type(value)
        page.keyboard.press("Enter")
    page.locator("#save-catalogue").click()
    page.wait_for_load_state()
    problems = page.locator("#catalogue-problems")
    assert "未保存任何内容" in problems.inner_text() and "第 2 条「材料名称」材料名称必填" in problems.inner_text()
    assert page.get_by_label("第1条 材料名称").input_value() == "职工登记表"  # nothing typed is lost
    assert page.get_by_label("第2条 形成时间").input_value() == "2018年3月"
    assert page.get_by_label("第1条 份数").input_value() == "1"  # the typed 1 replaced the default 1
    assert page.get_by_label("第2条 材料名称").get_attribute("aria-invalid") == "true"
    shot(page, "catalogue-refused")

    page.get_by_label("第2条 材料名称").fill("职工退休审批表")
    page.locator("#save-catalogue").click()
    page.wait_for_load_state()
    assert "目录已保存" in page.get_by_role("status").inner_text()
    shown = page.locator("#catalogue table.catalogue").inner_text()
    assert "1-1" in shown and "职工登记表" in shown and "1978.09" in shown
    assert "9-1" in shown and "职工退休审批表" in shown and "2018.03" in shown
    history = page.locator("#catalogue-edit details")
    history.locator("summary").click()
    assert "著录" in history.inner_text() and "0 条 → 2 条" in history.inner_text()
    shot(page, "catalogue-saved")
