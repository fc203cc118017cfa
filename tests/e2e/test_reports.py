"""统计报表 in the browser: the archivist opens it from the menu, picks this month, sees the tables and the
export link; a month that does not exist is refused beside the picker. Screenshots in
tests/e2e/artifacts/reports-*.png."""

import pytest

from archive_service.db import bureau_today
from tests.e2e.conftest import serve, shot, sign_in

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from serve(tmp_path_factory, with_scans=False)


def test_the_archivist_reads_this_months_report(page, server):
    month = f"{bureau_today():%Y-%m}"
    sign_in(page, server, "archivist")
    with page.expect_navigation():
        page.get_by_role("link", name="统计报表").click()
    page.get_by_label("报表期间").fill(month)
    with page.expect_navigation():
        page.get_by_role("button", name="查看").click()
    assert page.locator("h2").inner_text() == f"{bureau_today().year}年{bureau_today().month}月"
    holdings = page.locator("table.report").first
    assert "馆藏档案" in holdings.locator("caption").inner_text()
    assert "在馆" in holdings.inner_text()
    assert page.locator("#report-xlsx").get_attribute("href") == f"/reports/{month}.xlsx"
    shot(page, "reports-month")
    page.get_by_label("报表期间").fill("2026-13")
    with page.expect_navigation():
        page.get_by_role("button", name="查看").click()
    assert "报表期间的月份应在 01–12 之间" in page.get_by_role("alert").inner_text()
    shot(page, "reports-refused")
