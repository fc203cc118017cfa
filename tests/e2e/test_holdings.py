"""存量档案导入 in the browser, as a bureau does it (issue 38 item 6): a messy ledger made here — a title above
the header, merged cells, a sheet per room (the second with a two-row header), a 15-digit ID, a misspelt
enterprise, a person listed twice, a birth date the ID contradicts — uploaded, its columns shown as proposed,
checked with the progress on the page, mended (the enterprise mapped, the missing shelving agreed), the good
rows saved; the rejected rows downloaded, corrected and imported again; then a file is found by name, its
shelf opened on the store-room page and the shelf's labels printed and looked at.
Screenshots in tests/e2e/artifacts/holdings-*.png."""

import subprocess

import numpy as np
import pytest
from openpyxl import load_workbook

from tests.archive_service.holdings_ledgers import PEOPLE, messy_workbook
from tests.e2e.conftest import serve, shot
from tests.e2e.test_requests import sign_in
from tests.rendering import render

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """No digitised file is needed here: a server of its own with the demo's files (and shelving) but not its
    scans starts in seconds, where the shared one digitises pages first."""
    yield from serve(tmp_path_factory, with_scans=False)


def _wait_for(page, state: str) -> None:
    """The import page refreshes itself every 2 s while its job runs (and, once saved, until search finds
    every file: 'saved' is shown only then)."""
    page.wait_for_selector(f'#import-state[data-state="{state}"]', timeout=120_000)


def _chosen(select) -> str:
    """The text of a select's chosen option, as the person sees it."""
    return select.evaluate("s => s.options[s.selectedIndex].text")


def _upload(page, server, path) -> None:
    page.goto(f"{server}/holdings")
    page.get_by_label("台账文件").set_input_files(str(path))
    page.locator("#upload-ledger").click()
    page.wait_for_url(f"{server}/holdings/*")


def _check(page) -> None:
    with page.expect_navigation():
        page.locator("#check-ledger").click()
    _wait_for(page, "checked")


def test_a_messy_ledger_is_imported_mended_and_found_on_its_shelf(page, server, tmp_path):
    sign_in(page, server, "archivist")
    ledger = tmp_path / "西城区存量档案台账.xlsx"
    ledger.write_bytes(messy_workbook())
    _upload(page, server, ledger)
    # The header found under the title; under 二号库房's merged 存放位置 its second row names 排 列 层 格.
    assert "表头在第 3 行" in page.locator("#sheet-0 summary").inner_text()
    page.locator("#sheet-1 summary").click()
    assert _chosen(page.get_by_label("二号库房 排", exact=True)) == "H 存放位置/排"
    assert page.get_by_label("二号库房 本表的库房").input_value() == "二号库房"  # a sheet per room
    shot(page, "holdings-mapping")

    page.locator("#renumber").check()  # the old codes are not this bureau's: kept as 原档号
    with page.expect_navigation():
        page.locator("#save-decisions").click()
    with page.expect_navigation():
        page.locator("#check-ledger").click()
    if page.locator("#import-progress").count():  # the job may be done before the page is drawn
        shot(page, "holdings-progress")
    _wait_for(page, "checked")
    problems = page.locator("#problems").inner_text()
    assert "北京第一机床场" in problems and "是否即“北京第一机床厂”" in problems
    assert "与“一号库房”第 9 行重复" in problems and "与“一号库房”第 7 行重复" in problems
    assert "1956.7" in problems and "尚未建立" in problems
    assert page.locator("#unknown-enterprises").is_visible() and page.locator("#new-units").is_visible()

    # The misspelt name is mapped to the enterprise proposed; the missing shelving set up as the ledger says.
    assert _chosen(page.get_by_label("北京第一机床场 对应到")) == "北京第一机床厂"
    page.locator("#create-shelving").check()
    with page.expect_navigation():
        page.locator("#save-decisions").click()
    _check(page)
    assert page.locator("#bad-count").inner_text() == "3" and page.locator("#good-count").inner_text() == "7"
    shot(page, "holdings-checked")

    with page.expect_navigation():
        page.locator("#save-good").click()
    _wait_for(page, "saved")
    assert page.locator("#saved-count").inner_text() == "7"
    shot(page, "holdings-saved")
    with page.expect_download() as download:
        page.locator("#download-rejected").click()
    rejected = tmp_path / "未导入的行.xlsx"
    download.value.save_as(rejected)

    # The rejected rows corrected in the workbook as a clerk would (a wrong ID, a birth date) and sent again.
    book = load_workbook(rejected)
    sheet = book["一号库房"]
    header = [c.value for c in sheet[1]]
    assert header[0] == "问题"
    at = {name: header.index(name) for name in ("姓名", "身份证号码", "出生年月")}
    for row in sheet.iter_rows(min_row=2):
        if row[at["姓名"]].value == PEOPLE["twice_b"].name:
            row[at["身份证号码"]].value = PEOPLE["twice_b"].citizen_id
        if row[at["姓名"]].value == PEOPLE["mismatch"].name:
            row[at["出生年月"]].value = "1955.7"
    mended = tmp_path / "修改后.xlsx"
    book.save(mended)
    _upload(page, server, mended)
    page.locator("#renumber").check()
    with page.expect_navigation():
        page.locator("#save-decisions").click()
    _check(page)
    assert page.locator("#bad-count").inner_text() == "0" and page.locator("#good-count").inner_text() == "3"
    with page.expect_navigation():
        page.locator("#save-all").click()
    _wait_for(page, "saved")
    assert page.locator("#saved-count").inner_text() == "3"

    # Found by name at once; its page shows the 原档号; its shelf opens on the store-room page.
    page.goto(f"{server}/search?q={PEOPLE['twice_b'].name}")
    with page.expect_navigation():
        page.locator("li.hit", has_text=PEOPLE["twice_b"].name).locator(".hit-head a").first.click()
    assert page.locator("#former-code").inner_text() == "XC-1998-0106"
    code = page.locator("h1 small.mono").inner_text()
    link = page.locator("#shelf-link")
    assert link.inner_text().startswith("一号库房 A02架 4列")
    unit_id = link.get_attribute("href").split("#unit-")[1]
    with page.expect_navigation():
        link.click()
    shelf = page.locator(f"#unit-{unit_id}")
    assert shelf.is_visible() and shelf.get_attribute("data-unit") == "A02"
    shot(page, "holdings-shelf")
    with page.context.expect_page() as opened:
        page.locator(f"#unit-labels-{unit_id}").click()
    opened.value.close()
    labels = page.request.post(f"{server}/shelving/units/{unit_id}/labels")
    assert labels.status == 200 and labels.body().startswith(b"%PDF")
    pdf = tmp_path / "labels.pdf"
    pdf.write_bytes(labels.body())
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout.replace(" ", "")
    assert code in text and PEOPLE["twice_b"].name in text and "一号库房A02架" in text.replace(" ", "")
    # Looked at: every label position of the first sheet printed (3 × 8), each with its bars and text.
    pages = render(pdf)
    first = np.asarray(pages[0], dtype=float)
    height, width = first.shape
    top, left = int(height * 0.06), int(width * 0.03)
    cell_h, cell_w = (height - 2 * top) / 8, (width - 2 * left) / 3

    def cell(r: int, c: int) -> np.ndarray:
        rows = slice(int(top + r * cell_h), int(top + (r + 1) * cell_h))
        return first[rows, int(left + c * cell_w) : int(left + (c + 1) * cell_w)]

    inked = [float((cell(r, c) < 128).mean()) for r in range(8) for c in range(3)]
    assert len(pages) >= 2 and min(inked) > 0.02, inked
    pages[0].save(tmp_path / "labels-1.png")
