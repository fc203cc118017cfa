"""校对与复核 in the browser, by keyboard alone, on a file this test registers and digitises: the clerk accepts
the values with Enter, corrects one by typing over it and skips a line with Tab; the archivist, the second
person, confirms each with Enter (已复核), and a value the clerk changes under the archivist's eyes is refused
in its row with who changed it, the typed value kept. Screenshots: tests/e2e/artifacts/verification-*.png."""

import random
from datetime import date

import pytest

from digitise.specimen import SpecimenPerson, citizen_id_for, draw_page, save_scan
from tests.archive_service.test_transfers import as_xlsx, row
from tests.e2e.conftest import bearer, shot, sign_in
from tests.e2e.test_transfers import upload

pytestmark = pytest.mark.e2e

BORN = date(1956, 3, 21)
HER = SpecimenPerson("邵玉兰", citizen_id_for("110102", BORN, 57, "F"), BORN, "F")
KEY_LABEL = "扫描档号条码或输入公民身份号码（回车即按名册接收）"


def _new_digitised_file(page, server, tmp_path) -> int:
    sign_in(page, server, "clerk")
    entry = row(139, 姓名=HER.name, 性别="女", 公民身份号码=HER.citizen_id, 出生日期=BORN.isoformat(),
                退休时间="2011-04-01", 页数=1)  # fmt: skip
    upload(page, server, tmp_path, "名册.xlsx", as_xlsx([entry]))
    with page.expect_navigation():
        page.locator("#start-receiving").click()
    key = page.get_by_label(KEY_LABEL)
    key.fill(HER.citizen_id)
    with page.expect_navigation():
        key.press("Enter")
    found = page.request.get(f"{server}/api/dossiers?q={HER.citizen_id}").json()["items"]
    dossier_id = found[0]["id"]
    typed = {"materials": [{"class_code": "1", "title": "职工登记表", "date_formed": "1975.4", "pages": 1}]}
    assert page.request.put(f"{server}/api/dossiers/{dossier_id}/catalogue", data=typed).ok

    sign_in(page, server, "archivist")
    page.goto(f"{server}/dossiers/{dossier_id}")
    drawn = draw_page(random.Random(57), HER, seal=False, lines=3, noise=2, title="职工登记表", grid=True)
    page.locator("#digitise-form input[type=file]").set_input_files(str(save_scan(drawn, tmp_path / "1.tif")))
    page.locator("#digitise-form button").click()
    page.wait_for_url(f"{server}/jobs/*")
    page.wait_for_function("() => document.querySelector('#job').dataset.state === 'done'", timeout=240_000)
    return dossier_id


def _row(page, label: str):
    return page.locator("#fact-readings tr.reading", has=page.locator("th", has_text=label))


def _wait_state(page, label: str, state: str) -> None:
    _row(page, label).and_(page.locator(f"[data-state={state}]")).wait_for()


def test_a_new_files_facts_are_verified_by_two_people_with_the_keyboard(page, server, tmp_path):
    dossier_id = _new_digitised_file(page, server, tmp_path)

    sign_in(page, server, "clerk")
    page.goto(f"{server}/dossiers/{dossier_id}")
    with page.expect_navigation():
        page.locator("#verification-link").click()
    facts = page.locator("#fact-readings tr.reading")
    labels = [facts.nth(i).locator("th").inner_text() for i in range(facts.count())]
    assert labels == ["姓名", "出生日期", "参加工作时间", "公民身份号码"], labels
    assert _row(page, "出生日期").locator("input.reading-value").input_value() == "1956-03-21"
    # Every value beside the crop of the page it was read from.
    crops = "[...document.querySelectorAll('#fact-readings td.crop img')]"
    page.wait_for_function(f"() => {crops}.every(i => i.complete && i.naturalWidth > 40)")
    shot(page, "verification-clerk-before")

    # The cursor starts in the first value. Enter accepts the name; typing over the birth date corrects it
    # (a made-up misreading: 21 → 12); Tab passes 参加工作时间 by; Enter accepts the ID.
    focused = page.evaluate("() => document.activeElement.getAttribute('aria-label')")
    assert focused == "第 1 页 姓名"
    page.keyboard.press("Enter")
    _wait_state(page, "姓名", "proofread")
    page.keyboard.type("1956年3月12日")
    page.keyboard.press("Enter")
    _wait_state(page, "出生日期", "proofread")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    _wait_state(page, "公民身份号码", "proofread")
    assert _row(page, "参加工作时间").get_attribute("data-state") == "machine"
    birth = _row(page, "出生日期")
    assert birth.locator("input.reading-value").input_value() == "1956-03-12"
    assert "已校对" in birth.inner_text() and "李接收 更正" in birth.inner_text()
    # Opened again, the cursor waits at the first value she has not checked; her own checks wait for someone
    # else: Enter on one only moves on, nothing is sent.
    page.reload()
    active = "() => document.activeElement.getAttribute('aria-label')"
    page.wait_for_function(f"() => ({active})() === '第 1 页 参加工作时间'", timeout=10_000)
    page.keyboard.press("Shift+Tab")
    assert page.evaluate(active) == "第 1 页 出生日期"
    page.keyboard.press("Enter")
    assert page.evaluate(active) == "第 1 页 参加工作时间"
    assert _row(page, "出生日期").get_attribute("data-version") == "1"
    assert "待他人复核" in _row(page, "姓名").inner_text()
    shot(page, "verification-clerk-after")

    # The archivist, the second person: Enter confirms each value the clerk checked (已复核).
    sign_in(page, server, "archivist")
    page.goto(f"{server}/dossiers/{dossier_id}/verification")
    for label in ("姓名", "出生日期"):
        page.keyboard.press("Enter")
        _wait_state(page, label, "reviewed")
    assert "李接收 更正 · 王档案 复核" in _row(page, "出生日期").inner_text().replace("\n", " ")

    # Meanwhile the clerk corrects the 参加工作时间 the archivist is about to accept: his Enter is refused in
    # its row, saying who changed it to what; the page then shows her value, and his next Enter confirms it.
    work = _row(page, "参加工作时间")
    assert work.locator("input.reading-value").input_value() == "1974-04"
    r = page.request.post(
        f"{server}/api/dossiers/{dossier_id}/verification/{work.get_attribute('data-ref')}",
        data={"value": "1974年5月", "version": 0},
        headers=bearer(page, server, "clerk"),
    )
    assert r.status == 200, r.text()
    page.keyboard.press("Enter")
    alert = work.locator("[role=alert]")
    alert.wait_for()
    assert "李接收" in alert.inner_text() and "1974-05" in alert.inner_text() and "未保存" in alert.inner_text()
    # The alert is drawn after the row shows the clerk's step (verification.js), so no wait is needed here.
    assert work.get_attribute("data-state") == "proofread"
    assert work.locator("input.reading-value").input_value() == "1974-05"
    shot(page, "verification-changed-meanwhile")
    page.keyboard.press("Enter")
    _wait_state(page, "参加工作时间", "reviewed")
    page.keyboard.press("Enter")
    _wait_state(page, "公民身份号码", "reviewed")
    counts = page.locator("#verification-counts").inner_text()
    assert "机器识别 0" in counts and "已复核 4" in counts, counts
    shot(page, "verification-reviewed")

    # The fact sheet on the file's page reads the corrected value.
    page.goto(f"{server}/dossiers/{dossier_id}")
    assert "1956-03-12" in page.locator("#fact-sheet tr[data-fact=birth_date]").inner_text()
