"""Log in, find a dossier and read its catalogue and custody history, as an archivist would."""

import pytest

from archive_service.demo import DEMO_PASSWORD
from tests.e2e.conftest import shot, type_login

pytestmark = pytest.mark.e2e


def _login(page, server, username="archivist", password=DEMO_PASSWORD):
    page.goto(f"{server}/dossiers")
    assert "/login" in page.url  # not signed in: sent to the login page, then back
    type_login(page, server, username, password)


def test_login_page_is_chinese_and_refuses_a_wrong_password(page, server):
    _login(page, server, password="wrong-password")
    assert page.get_by_role("alert").inner_text() == "用户名或密码错误"
    shot(page, "login-refused")


def test_the_second_factor_refuses_a_wrong_and_a_replayed_code_in_chinese(page, server):
    """西城 requires two factors: after the password the code page; a wrong code and a code already used are
    refused in Chinese on the code page (and logged); the right one signs in and goes where the person was going."""
    from tests.conftest import demo_codes

    page.context.clear_cookies()
    page.goto(f"{server}/requests")
    page.get_by_label("用户名").fill("approver")
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/login/code**")
    page.get_by_label("动态验证码").fill("000000")
    with page.expect_navigation():
        page.get_by_role("button", name="登录").click()
    assert "动态验证码错误" in page.get_by_role("alert").inner_text()
    shot(page, "login-code-refused")
    code = demo_codes("approver", where=server)
    page.get_by_label("动态验证码").fill(code)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{server}/requests")
    with page.expect_navigation():
        page.get_by_role("button", name="退出").click()
    page.get_by_label("用户名").fill("approver")
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="登录").click()
    page.get_by_label("动态验证码").fill(code)  # the same code again
    with page.expect_navigation():
        page.get_by_role("button", name="登录").click()
    assert "已经用过" in page.get_by_role("alert").inner_text()


def test_archivist_opens_a_dossier(page, server):
    _login(page, server)
    page.wait_for_url(f"{server}/dossiers")
    rows = page.locator("table.grid tbody tr")
    assert rows.count() == 50  # first page of the list
    # Citizen IDs are masked in the list.
    assert "********" in rows.first.locator("td").nth(2).inner_text()
    shot(page, "dossier-list")

    page.get_by_placeholder("姓名、档号或身份证号后几位").fill("J102-RS-000007")
    page.get_by_role("button", name="查询").click()
    page.wait_for_url("**/dossiers?*q=J102-RS-000007*")  # the answer's page, not the form's
    assert rows.count() == 1
    rows.first.get_by_role("link").click()
    page.wait_for_url("**/dossiers/*")

    heading = page.locator("h1").inner_text()
    assert "J102-RS-000007" in heading
    catalogue = page.locator("table.catalogue")
    assert catalogue.locator("tr.class-row").count() == 10  # 第一类 … 第十类
    assert catalogue.get_by_text("职工退休审批表").count() == 1
    sequences = catalogue.locator("td.mono:first-child").all_inner_texts()
    assert sequences[0] == "1-1"
    custody = page.locator("ol.custody li").all_inner_texts()
    assert any("接收入馆" in line for line in custody)
    # Usable on a 1366-wide office screen: nothing runs off to the right.
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366
    # Every catalogue entry reads whole in the typing form: a class code 10 showed as "1C" and long titles
    # were cut off at a dozen characters.
    clipped = page.evaluate(
        """[...document.querySelectorAll('#catalogue-form input:not([type=hidden])')]
             .filter(i => i.value && i.scrollWidth > i.clientWidth).map(i => i.name + '=' + i.value)"""
    )
    assert page.locator("#catalogue-form input[name=title]").count() >= 10 and clipped == []
    shot(page, "dossier-page")


def test_dashboard_counts_and_other_bureau_is_invisible(page, server):
    _login(page, server, username="dongcheng")
    page.wait_for_url(f"{server}/dossiers")  # signed in: a goto sooner could cut the code's answer off
    page.goto(f"{server}/")
    total = int(page.locator(".tile b").first.inner_text())
    assert 0 < total < 20  # 东城 holds only its own few files
    shot(page, "dashboard-dongcheng")
    # A 西城 dossier id answered as not found.
    response = page.goto(f"{server}/dossiers/1")
    assert response.status == 404
    assert "未找到该档案" in page.locator("[role=alert]").inner_text()


def test_digitised_dossier_shows_its_copy_and_qc(page, server):
    _login(page, server)
    page.wait_for_url(f"{server}/dossiers")
    page.get_by_placeholder("姓名、档号或身份证号后几位").fill("J102-RS-000001")
    with page.expect_navigation():
        page.get_by_role("button", name="查询").click()
    with page.expect_navigation():
        page.locator("table.grid tbody tr").first.get_by_role("link").click()
    section = page.locator("#digital-copy")
    assert "J102-RS-000001.pdf" in section.inner_text() and "PDF/A-2B" in section.inner_text()
    # The demo tells the truth: its forms are the file's own retiree's, so no misfiled-page finding …
    assert section.locator("tr[data-code^='misfiled']").count() == 0 and "疑似他人材料" not in section.inner_text()
    assert "姚淑山" in page.locator("h1").inner_text()
    first_range = page.locator("table.catalogue a[href*='copy.pdf#page=']").first
    assert first_range.inner_text().startswith("1–")
    section.scroll_into_view_if_needed()
    shot(page, "dossier-digital-copy")
    response = page.request.get(f"{server}/dossiers/1/copy.pdf")
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    assert response.body()[:5] == b"%PDF-"
    # … and the one page of another person's file in J102-RS-000002 is flagged, on its page and nowhere else.
    page.goto(f"{server}/dossiers/2")
    flagged = page.locator("#digital-copy table.qc tr[data-code^='misfiled']")
    assert flagged.count() >= 1 and {
        flagged.nth(i).locator("td").first.inner_text() for i in range(flagged.count())
    } == {"7"}
    assert "疑似他人材料（身份证号）" in flagged.first.inner_text()  # the check's name, not its code
    assert flagged.first.locator("td").nth(1).get_attribute("title").startswith("misfiled.")  # the code as a tooltip


def test_a_search_with_an_invisible_character_is_refused_and_back_keeps_it(page, server):
    """A name pasted from a chat message into the dossier search carries a zero-width space: the page says
    which character, and 返回上一页 brings the list back with the search as typed, to correct."""
    _login(page, server)
    page.wait_for_url(f"{server}/dossiers")
    box = page.get_by_placeholder("姓名、档号或身份证号后几位")
    box.fill("曹\u200b文华")
    with page.expect_navigation():
        page.get_by_role("button", name="查询").click()
    assert "U+200B，在“曹”之后" in page.get_by_role("alert").inner_text()
    shot(page, "search-invisible-character")
    page.locator("#go-back").click()
    page.wait_for_url(f"{server}/dossiers")
    assert page.get_by_placeholder("姓名、档号或身份证号后几位").input_value() == "曹\u200b文华"
