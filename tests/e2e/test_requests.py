"""A benefit check end to end in the browser: request → approval → watermarked view → on the register."""

from datetime import date

import pytest

from digitise.specimen import citizen_id_for
from tests.e2e.conftest import DIGITISED, shot, sign_in  # sign_in: still importable from here

pytestmark = pytest.mark.e2e


def test_request_approve_view_and_register(page, server):
    sign_in(page, server, "sibao")
    assert page.url.endswith("/requests")  # requesters land on their requests, not on the archive
    page.get_by_label("档号或档案本人公民身份号码").fill(DIGITISED)
    page.get_by_label("事由").fill("待遇变更，核对参加工作时间")
    page.get_by_label("查阅人公民身份号码").fill(citizen_id_for("110105", date(1982, 3, 4), 7, "F"))
    shot(page, "request-form")
    page.get_by_role("button", name="提交申请").click()
    page.wait_for_url(f"{server}/requests/*")
    request_url = page.url
    number = page.locator("h1 .mono").inner_text()
    assert number.startswith("CY-") and "待审批" in page.locator("h1").inner_text()

    sign_in(page, server, "approver")
    page.goto(f"{server}/requests?status=submitted")
    with page.expect_navigation():
        page.get_by_role("link", name=number).click()
    page.get_by_label("允许打印").check()
    shot(page, "request-approval")
    with page.expect_navigation():
        page.get_by_role("button", name="批准").click()
    assert "已批准" in page.locator("h1").inner_text()

    sign_in(page, server, "sibao")
    page.goto(request_url)
    with page.expect_navigation():
        page.get_by_role("link", name="开始查阅").click()
    image = page.locator("figure.page img")
    image.wait_for()
    page.wait_for_function("() => document.querySelector('figure.page img').naturalWidth > 0")
    assert page.evaluate("() => document.querySelector('figure.page img').naturalWidth") == 1240
    shot(page, "viewer-watermarked")
    with page.expect_navigation():
        page.get_by_role("link", name="下一页").click()
    page.wait_for_function("() => document.querySelector('figure.page img').naturalWidth > 0")

    # 允许打印: a page for the printer with every approved page marked 打印件 — not a file to keep.
    page.goto(request_url)
    with page.context.expect_page() as opened:
        page.get_by_role("link", name="打印").click()
    printing = opened.value
    printing.wait_for_load_state()
    sheets = printing.locator(".sheet img")
    assert sheets.count() >= 2
    printing.wait_for_function(
        "() => [...document.querySelectorAll('.sheet img')].every(i => i.complete && i.naturalWidth > 0)"
    )
    shot(printing, "print-view")
    printing.emulate_media(media="print")
    assert printing.locator(".bar").is_hidden()  # on paper only the pages
    printing.close()

    sign_in(page, server, "auditor")
    page.goto(f"{server}/audit?archival_code={DIGITISED}")
    rows = page.locator("table.log tbody tr")
    # This request's entries (the same file is opened by other tests on the shared server); columns by their
    # headings, as the auditor reads them (a 单位 column came in with enterprises' requests).
    headings = page.locator("table.log thead th").all_inner_texts()
    action, request = headings.index("操作"), headings.index("申请")
    cells = [rows.nth(i).locator("td") for i in range(rows.count())]
    actions = [c.nth(action).inner_text() for c in cells if c.nth(request).inner_text() == number]
    assert actions.count("网上查阅") == 2 and "批准" in actions and actions.count("打印") == 1
    assert number in page.locator("table.log").inner_text()
    shot(page, "access-register")


def test_a_pasted_name_with_an_invisible_character_is_refused_on_the_form(page, server):
    """A name copied from a chat message carries a zero-width space: the form comes back as typed, says which
    character and where, and marks the field with the cursor in it; nothing is filed."""
    sign_in(page, server, "sibao")
    page.get_by_label("档号或档案本人公民身份号码").fill(DIGITISED)
    page.get_by_label("事由").fill("待遇变更，核对参加工作时间")
    page.get_by_label("查阅人姓名").fill("周\u200b某")
    page.get_by_label("查阅人公民身份号码").fill(citizen_id_for("110105", date(1982, 3, 4), 7, "F"))
    with page.expect_navigation():
        page.get_by_role("button", name="提交申请").click()
    alert = page.get_by_role("alert")
    assert "U+200B，在“周”之后" in alert.inner_text()
    field = page.get_by_label("查阅人姓名")
    assert field.input_value() == "周\u200b某" and field.get_attribute("aria-invalid") == "true"
    assert page.evaluate("() => document.activeElement.name") == "reader_name"
    assert page.get_by_label("事由").input_value() == "待遇变更，核对参加工作时间"
    shot(page, "request-invisible-character")
