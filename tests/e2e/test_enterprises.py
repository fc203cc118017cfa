"""The dead end of a new enterprise, in the browser (issue 36 item 2): the clerk finds 移交单位 in the menu,
registers an enterprise the demo does not have (a mistyped credit code refused first, what was typed kept),
goes from its line straight to a new intake batch and uploads its register. Screenshots in
tests/e2e/artifacts/enterprise-*.png."""

import pytest

from tests.archive_service.test_enterprises import NEW
from tests.archive_service.test_transfers import as_xlsx, row
from tests.e2e.conftest import serve, shot
from tests.e2e.test_requests import sign_in

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """No digitised file is needed: a server of its own without the demo's scans starts in seconds."""
    yield from serve(tmp_path_factory, with_scans=False)


def test_a_clerk_registers_a_new_enterprise_and_starts_its_batch(page, server, tmp_path):
    sign_in(page, server, "clerk")
    with page.expect_navigation():
        page.get_by_role("link", name="移交单位", exact=True).first.click()
    assert page.url.endswith("/enterprises")

    form = page.locator("#new-enterprise form")
    form.get_by_label("单位名称").fill(NEW["name"])
    form.get_by_label("统一社会信用代码").fill(
        NEW["credit_code"][:17] + ("0" if NEW["credit_code"][17] != "0" else "1")
    )
    form.get_by_label("注册地行政区划代码").fill(NEW["region_code"])
    form.get_by_label("隶属层级").select_option(label="市属")
    form.get_by_label("联系人").fill(NEW["contact_person"])
    form.get_by_label("联系电话").fill(NEW["contact_phone"])
    with page.expect_navigation():
        form.get_by_role("button", name="登记").click()
    alert = page.get_by_role("alert")
    assert "统一社会信用代码校验码错误" in alert.inner_text()
    code = page.locator("#new-enterprise input[name=credit_code]")
    assert code.get_attribute("aria-invalid") == "true"  # the field is marked and has the cursor
    assert page.locator("#new-enterprise input[name=name]").input_value() == NEW["name"]  # nothing retyped
    shot(page, "enterprise-refused")

    code.fill(NEW["credit_code"])
    with page.expect_navigation():
        page.locator("#register-enterprise").click()
    assert f"已登记移交单位 {NEW['name']}" in page.get_by_role("status").inner_text()
    line = page.locator(f'tr[data-enterprise="{NEW["name"]}"]')
    assert "市属" in line.inner_text() and "尚无" in line.inner_text()
    shot(page, "enterprise-registered")

    with page.expect_navigation():
        page.locator("#start-batch").click()
    chosen = page.get_by_label("移交企业").evaluate("s => s.options[s.selectedIndex].text")
    assert chosen == NEW["name"]  # the new enterprise is offered, already chosen
    path = tmp_path / "名册.xlsx"
    path.write_bytes(as_xlsx([row(n + 70) for n in range(3)]))
    page.get_by_label("名册文件").set_input_files(str(path))
    with page.expect_navigation():
        page.locator("#upload-register").click()
    assert page.locator("#register tbody tr").count() == 3
    number = page.locator("h1").inner_text().split()[1]

    with page.expect_navigation():
        page.get_by_role("link", name="移交单位", exact=True).first.click()
    assert number in page.locator(f'tr[data-enterprise="{NEW["name"]}"]').inner_text()
    shot(page, "enterprise-with-batch")
