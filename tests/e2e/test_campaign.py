"""The handover campaign where people work (issue 21 item 7): the administrator sets the window from the
bureau's notice, the clerk records an enterprise's 核准移交人数, receives a file, and the progress page
and its .xlsx show expected, handed over, outstanding and who is late; the agency's monthly list is
downloaded. The clerk then records a missing material's certificate on the file's page, and the
dashboard lists the file as waiting for digitisation. Screenshots in tests/e2e/artifacts/campaign-*.png."""

from datetime import timedelta

import pytest
from openpyxl import load_workbook
from PIL import Image, ImageDraw

from archive_service.db import bureau_today
from tests.archive_service.test_requests import READER
from tests.archive_service.test_transfers import row
from tests.e2e.conftest import bearer as api_bearer
from tests.e2e.conftest import shot
from tests.e2e.test_requests import sign_in
from tests.e2e.test_seed_rules import receive_new, shelve_waiting
from tests.e2e.test_transfers import ENTERPRISE

pytestmark = pytest.mark.e2e


def test_window_quota_progress_monthly_list_and_a_missing_materials_certificate(page, server, tmp_path):
    today = bureau_today()
    sign_in(page, server, "admin")
    page.goto(f"{server}/transfers/campaign")
    assert "尚未设置移交期限" in page.locator("#campaign-window").inner_text()
    page.get_by_label("开始").fill(str(today - timedelta(days=60)))
    page.get_by_label("截止", exact=True).fill(str(today - timedelta(days=90)))  # before the start: refused
    page.locator("#campaign-form").get_by_label("依据").fill("区人社局通知 四：限期移交")
    with page.expect_navigation():
        page.locator("#set-campaign").click()
    assert "早于开始日期" in page.get_by_role("alert").first.inner_text()
    typed = page.locator("#campaign-form").get_by_label("依据").input_value()
    assert typed == "区人社局通知 四：限期移交"  # what was typed stays
    page.get_by_label("截止", exact=True).fill(str(today - timedelta(days=5)))
    page.get_by_label("最终期限").fill(str(today + timedelta(days=120)))
    # 西人社发〔2020〕14号 一、四: 央属 enterprises close later than the others.
    page.locator("#level-windows").get_by_label("央属").fill(str(today + timedelta(days=90)))
    with page.expect_navigation():
        page.locator("#set-campaign").click()
    window = page.locator("#campaign-window").inner_text()
    assert str(today - timedelta(days=5)) in window and f"央属企业 {today + timedelta(days=90)}" in window
    # 实施方案 四(二) 常态化移交: new retirees' files due two months after retirement.
    continuing = page.locator("#continuing-form")
    continuing.get_by_label("起始日期").fill("2021-01-01")
    continuing.get_by_label("退休后移交期限（月）").fill("2")
    continuing.get_by_label("依据").fill("西人社发〔2020〕14号 一")
    with page.expect_navigation():
        page.locator("#set-continuing").click()
    assert "2021-01-01 起办理退休的人员" in page.locator("#continuing-setting").inner_text()
    shot(page, "campaign-window")

    sign_in(page, server, "clerk")
    page.goto(f"{server}/transfers/campaign")
    quota = page.locator("#quota-form")
    quota.get_by_label("企业").select_option(label=ENTERPRISE)
    quota.get_by_label("核准移交人数").fill("3")
    quota.get_by_label("依据").fill("西人社核〔2026〕12号")
    with page.expect_navigation():
        page.locator("#set-quota").click()
    ours = page.locator(f'#campaign-progress tr[data-enterprise="{ENTERPRISE}"]')
    before = int(ours.locator("td").nth(4).inner_text())
    codes = receive_new(page, server, tmp_path, [row(70, 姓名="陈秀英")])
    page.goto(f"{server}/transfers/campaign")
    cells = [c.inner_text() for c in ours.locator("td").all()]
    assert cells[1:3] == ["区属", str(today - timedelta(days=5))]  # a 区属 enterprise: the bureau's date
    assert cells[3] == "3" and int(cells[4]) == before + 1
    assert cells[5] == str(max(3 - before - 1, 0)) and cells[7] == ("逾期" if before + 1 < 3 else "已完成")
    shot(page, "campaign-progress")
    with page.expect_download() as download:
        page.locator("#progress-xlsx").click()
    download.value.save_as(tmp_path / "progress.xlsx")
    sheet = load_workbook(tmp_path / "progress.xlsx").active
    table = {r[0]: r for r in sheet.iter_rows(min_row=3, values_only=True)}
    assert table[ENTERPRISE][4:6] == (3, before + 1)
    with page.expect_download() as download:
        page.get_by_label("月份").fill(f"{today:%Y-%m}")
        page.locator("#download-monthly").click()
    download.value.save_as(tmp_path / "monthly.xlsx")
    received = load_workbook(tmp_path / "monthly.xlsx")["新接收人员"]
    assert "陈秀英" in {r[0] for r in received.iter_rows(min_row=2, values_only=True)}

    # The file came without its 1985 wage form; the enterprise's certificate is scanned and kept with it.
    page.goto(f"{server}/dossiers?q=陈秀英")
    with page.expect_navigation():
        page.get_by_role("link", name=codes[0]).first.click()
    scan = tmp_path / "缺失材料证明.png"
    sheet_image = Image.new("L", (1654, 2339), 235)
    ImageDraw.Draw(sheet_image).rectangle((200, 300, 1450, 700), fill=40)
    sheet_image.save(scan, dpi=(200, 200))
    form = page.locator("#missing-form")
    form.get_by_label("缺失材料类别").select_option(value="9")
    form.get_by_label("缺失材料", exact=True).fill("1985年工资调整审批表")
    form.get_by_label("证明出具单位").fill(ENTERPRISE + "劳资科")
    form.get_by_label("证明扫描件").set_input_files(str(scan))
    with page.expect_navigation():
        page.locator("#record-missing").click()
    section = page.locator("#missing-materials")
    assert "1985年工资调整审批表" in section.inner_text() and "已登记" in section.inner_text()
    assert "缺失材料证明-01.png" in section.inner_text()
    shot(page, "campaign-missing-certificate")

    sign_in(page, server, "archivist")
    page.goto(f"{server}/")
    assert int(page.locator("#backlog-files").inner_text()) >= 1
    shot(page, "campaign-dashboard-backlog")
    page.goto(f"{server}/dossiers?digitisation=pending&q=陈秀英")
    assert codes[0] in page.locator("main").inner_text()
    shot(page, "campaign-backlog-list")
    # The archivist opens the stored certificate from the file's page: the scan as it was made.
    with page.expect_navigation():
        page.get_by_role("link", name=codes[0]).first.click()
    assert "1985年工资调整审批表" in page.locator("#missing-materials").inner_text()
    href = page.locator("#missing-materials a").first.get_attribute("href")
    assert page.request.get(f"{server}{href}").body() == scan.read_bytes()
    shelve_waiting(page, server)

    # A requester granted class 9 sees the certificate in the viewer, watermarked (no pages are digitised).
    def bearer(username: str) -> dict[str, str]:
        return api_bearer(page, server, username)

    form = {"dossier": codes[0], "purpose": "benefit_change", "purpose_detail": "待遇变更，核对工资调整",
            "material_classes": [9], "mode": "online_view", "valid_from": str(today),
            "valid_until": str(today + timedelta(days=6)), "reader_name": "李社保", "reader_citizen_id": READER,
            "relationship": "none"}  # fmt: skip
    made = page.request.post(f"{server}/api/requests", data=form, headers=bearer("sibao"))
    assert made.status == 201, made.text()
    rid = made.json()["id"]
    decided = page.request.post(
        f"{server}/api/requests/{rid}/decision",
        data={"approve": True, "material_classes": [9]},
        headers=bearer("approver"),
    )
    assert decided.status == 200, decided.text()
    sign_in(page, server, "sibao")
    page.goto(f"{server}/requests/{rid}/view")
    assert "缺1985年工资调整审批表" in page.locator("#certificates").inner_text()
    page.wait_for_function("() => document.querySelector('figure.page img').complete")
    assert page.locator("figure.page img").evaluate("i => i.naturalWidth") == 1240  # the page, drawn
    shot(page, "campaign-certificate-viewer")
