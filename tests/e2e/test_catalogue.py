"""目录著录 in the browser with a fresh file: register → receive → type the 卷内目录 with the keyboard
(Enter moves through a row and on to the next), a refused save comes back with every value kept and
the problem named, the corrected one is saved and shown. Screenshots in tests/e2e/artifacts/catalogue-*.png."""

import io
import random
import subprocess
from datetime import date

import pytest
from openpyxl import load_workbook

from archive_service.demo import XICHENG
from archive_service.values import credit_code_check_char
from digitise.specimen import SpecimenPerson, citizen_id_for, draw_page, save_scan
from tests.archive_service.test_catalogue_path import sheet
from tests.archive_service.test_transfers import as_xlsx, row
from tests.e2e.conftest import shot
from tests.e2e.test_requests import sign_in
from tests.e2e.test_transfers import upload

pytestmark = pytest.mark.e2e


def test_a_received_file_is_catalogued_from_the_keyboard(page, server, tmp_path):
    sign_in(page, server, "clerk")
    fresh = [row(90, 姓名="曹文华"), row(91, 姓名="潘桂兰")]
    upload(page, server, tmp_path, "名册.xlsx", as_xlsx(fresh))
    with page.expect_navigation():
        page.locator("#start-receiving").click()
    key = page.get_by_label("扫描档号条码或输入公民身份号码（回车即按名册接收）")
    key.fill(str(fresh[0]["公民身份号码"]))
    with page.expect_navigation():
        key.press("Enter")
    page.goto(page.url.replace("/receive", "").split("?")[0])
    with page.expect_navigation():
        page.locator("#register tbody tr td:nth-child(4) a").first.click()
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
    with page.expect_navigation():
        page.locator("#save-catalogue").click()
    problems = page.locator("#catalogue-problems")
    assert "未保存任何内容" in problems.inner_text() and "第 2 条「材料名称」材料名称必填" in problems.inner_text()
    assert page.get_by_label("第1条 材料名称").input_value() == "职工登记表"  # nothing typed is lost
    assert page.get_by_label("第2条 形成时间").input_value() == "2018年3月"
    assert page.get_by_label("第1条 份数").input_value() == "1"  # the typed 1 replaced the default 1
    assert page.get_by_label("第2条 材料名称").get_attribute("aria-invalid") == "true"
    shot(page, "catalogue-refused")

    page.get_by_label("第2条 材料名称").fill("职工退休审批表")
    with page.expect_navigation():
        page.locator("#save-catalogue").click()
    assert "目录已保存" in page.get_by_role("status").inner_text()
    shown = page.locator("#catalogue table.catalogue").inner_text()
    assert "1-1" in shown and "职工登记表" in shown and "1978.09" in shown
    assert "9-1" in shown and "职工退休审批表" in shown and "2018.03" in shown
    history = page.locator("#catalogue-edit details")
    history.locator("summary").click()
    assert "著录" in history.inner_text() and "0 条 → 2 条" in history.inner_text()
    shot(page, "catalogue-saved")
    # Off to the shelf, as every received file goes (the shelving test counts the files still waiting).
    dossier_id = int(page.url.split("/dossiers/")[1].split("?")[0].split("#")[0])
    sign_in(page, server, "archivist")
    assert page.request.post(f"{server}/api/shelving/assign", data={"dossier_ids": [dossier_id]}).status == 200


def test_a_new_enterprises_files_from_register_to_the_requesters_screen(page, server, tmp_path):
    """Register (3 retirees of a new enterprise) → catalogue workbook on the batch page → receive by keyboard
    → a file without catalogue digitised from the page → its proposal accepted → shelved → a 待遇变更
    request for classes 1 and 9 approved → the requester sees exactly those pages → the auditor's register."""
    sign_in(page, server, "admin")
    first17 = "91110102" + "".join(random.Random(17).choice("0123456789") for _ in range(9))
    org = page.request.post(
        f"{server}/api/organisations",
        data={"name": "北京光明印刷厂", "kind": "enterprise", "credit_code": first17 + credit_code_check_char(first17),
              "region_code": XICHENG},
    )  # fmt: skip
    assert org.status == 201, org.text()

    sign_in(page, server, "clerk")
    people = [row(95, 姓名="孔令华"), row(96, 姓名="严春梅"), row(97, 姓名="葛振东")]
    # A register with a mistyped ID first: refused whole, and the enterprise stays the one chosen, so the
    # corrected file goes under it without choosing again (it used to jump back to the first enterprise).
    wrong = str(people[2]["公民身份号码"])[:-1] + ("0" if str(people[2]["公民身份号码"])[-1] != "0" else "1")
    (tmp_path / "错误名册.xlsx").write_bytes(as_xlsx([*people[:2], {**people[2], "公民身份号码": wrong}]))
    (tmp_path / "名册.xlsx").write_bytes(as_xlsx(people))
    page.goto(f"{server}/transfers")
    page.get_by_label("移交企业").select_option(label="北京光明印刷厂")
    page.get_by_label("名册文件").set_input_files(str(tmp_path / "错误名册.xlsx"))
    with page.expect_navigation():
        page.locator("#upload-register").click()
    problems = page.locator("#register-problems").inner_text()
    assert "4" in problems and "公民身份号码" in problems  # row 4 of the sheet (header is row 1), by column
    chosen = page.get_by_label("移交企业")
    assert chosen.evaluate("s => s.selectedOptions[0].text") == "北京光明印刷厂"
    shot(page, "path-register-refused")
    page.get_by_label("名册文件").set_input_files(str(tmp_path / "名册.xlsx"))
    with page.expect_navigation():
        page.locator("#upload-register").click()
    assert "北京光明印刷厂" in page.inner_text("body")
    assert page.locator("#register tbody tr").count() == 3
    batch_url = page.url
    # The enterprise's 卷内目录 for two of the three: a wrong class first (refused whole), then right.
    rows = [("", people[0]["公民身份号码"], "1", "职工登记表", "1980.3", 1, 2, ""),
            ("", people[0]["公民身份号码"], "9", "职工退休审批表", "2019.5", 1, 2, ""),
            ("", people[1]["公民身份号码"], "1", "干部履历表", "1985", 1, 3, "")]  # fmt: skip
    (tmp_path / "bad.xlsx").write_bytes(sheet([*rows, ("", people[1]["公民身份号码"], "13", "自传", "", 1, 1, "")]))
    page.get_by_label("卷内目录文件").set_input_files(str(tmp_path / "bad.xlsx"))
    with page.expect_navigation():
        page.locator("#upload-catalogue").click()
    assert "未保存任何内容" in page.get_by_role("alert").inner_text()
    assert "类号" in page.locator("#catalogue-problems").inner_text()
    (tmp_path / "目录.xlsx").write_bytes(sheet(rows))
    page.get_by_label("卷内目录文件").set_input_files(str(tmp_path / "目录.xlsx"))
    with page.expect_navigation():
        page.locator("#upload-catalogue").click()
    assert "卷内目录已导入：2 份档案、3 条材料" in page.get_by_role("status").inner_text()
    shot(page, "path-catalogue-imported")

    with page.expect_navigation():
        page.locator("#start-receiving").click()
    key = page.get_by_label("扫描档号条码或输入公民身份号码（回车即按名册接收）")
    for person in people:
        key = page.get_by_label("扫描档号条码或输入公民身份号码（回车即按名册接收）")
        key.fill(str(person["公民身份号码"]))
        with page.expect_navigation():
            key.press("Enter")
    page.goto(batch_url)
    links = page.locator("#register tbody tr td:nth-child(4) a")
    assert links.count() == 3
    codes = [links.nth(i).inner_text() for i in range(3)]
    ids = [int(links.nth(i).get_attribute("href").rsplit("/", 1)[1]) for i in range(3)]

    # 葛振东's file came without a catalogue: the archivist digitises it from its page.
    sign_in(page, server, "archivist")
    page.goto(f"{server}/dossiers/{ids[0]}")
    assert "职工登记表" in page.locator("#catalogue").inner_text()  # the imported one arrived with the file
    page.goto(f"{server}/dossiers/{ids[2]}")
    rng = random.Random(97)
    who = SpecimenPerson("葛振东", str(people[2]["公民身份号码"]), date.fromisoformat(str(people[2]["出生日期"])), "M")
    drawn = [
        draw_page(rng, who, seal=False, lines=5, title="职工登记表"),
        draw_page(rng, who, blank=True),
        draw_page(rng, who, lines=5, title="退休审批表"),
        draw_page(rng, who, seal=False, lines=4, title="自传"),
    ]
    scans = [str(save_scan(p, tmp_path / f"scan-{n}.tif")) for n, p in enumerate(drawn, start=1)]
    page.locator("#digitise-form input[type=file]").set_input_files(scans)
    page.locator("#digitise-form button").click()
    page.wait_for_url(f"{server}/jobs/*")
    page.wait_for_function("() => document.querySelector('#job').dataset.state === 'done'", timeout=180_000)
    page.goto(f"{server}/dossiers/{ids[2]}")
    assert "档案尚无卷内目录" in page.inner_text("body")  # said, not "全部通过"
    proposal = page.locator("#proposal")
    assert "职工登记表" in proposal.inner_text() and "退休审批表" in proposal.inner_text()
    shot(page, "path-proposal")
    with page.expect_navigation():
        page.locator("#use-proposal").click()
    assert page.get_by_label("第2条 材料名称").input_value() == "退休审批表"
    with page.expect_navigation():
        page.locator("#save-catalogue").click()
    assert "目录已保存" in page.get_by_role("status").inner_text()
    shown = page.locator("#catalogue table.catalogue").inner_text()
    assert "1-1" in shown and "2-1" in shown and "9-1" in shown
    # The fact sheet, read from the pages by the OCR: the birth date with the pages that state it (自传 too),
    # confirmed by the archivist from the sheet.
    birth = page.locator('#fact-sheet tr[data-fact="birth_date"]')
    assert who.birth_date.isoformat() in birth.locator("td.prevailing").inner_text()
    cited = birth.locator("ul.evidence").inner_text()
    assert "第 1 页" in cited and "第 4 页" in cited and "职工登记表" in cited, cited
    assert who.citizen_id in page.locator('#fact-sheet tr[data-fact="citizen_id"]').inner_text()
    with page.expect_navigation():
        birth.get_by_role("button", name="确认").click()
    assert "已确认" in page.get_by_role("status").inner_text()
    assert "已确认" in page.locator('#fact-sheet tr[data-fact="birth_date"] td.prevailing').inner_text()
    page.locator("#facts").scroll_into_view_if_needed()
    shot(page, "path-facts")
    assert page.request.post(f"{server}/api/shelving/assign", data={"dossier_ids": ids}).status == 200
    page.goto(f"{server}/dossiers/{ids[2]}")
    assert "待上架" not in page.locator("#shelf-slot").inner_text()
    # The box label, reprinted from the dossier page: a PDF naming this file.
    with page.context.expect_page() as opened:
        page.locator("#reprint-label button").click()
    assert opened.value.url.endswith("/shelving/labels")  # the label opens in its own tab, for printing
    opened.value.close()
    labels = page.request.post(f"{server}/shelving/labels", form={"dossier_ids": str(ids[2])})
    assert labels.status == 200 and labels.body().startswith(b"%PDF")
    (tmp_path / "label.pdf").write_bytes(labels.body())
    text = subprocess.run(["pdftotext", str(tmp_path / "label.pdf"), "-"], capture_output=True, text=True).stdout
    assert codes[2] in text.replace(" ", "")

    # The social-insurance officer asks for classes 1 and 9; the approver approves; he sees pages 1–3.
    sign_in(page, server, "sibao")
    page.get_by_label("档号或档案本人公民身份号码").fill(codes[2])
    page.get_by_label("事由").fill("待遇变更，核对参加工作时间")
    page.get_by_label("查阅人公民身份号码").fill(citizen_id_for("110105", date(1982, 3, 4), 7, "F"))
    page.get_by_role("button", name="提交申请").click()
    page.wait_for_url(f"{server}/requests/*")
    request_url, number = page.url, page.locator("h1 .mono").inner_text()
    sign_in(page, server, "approver")
    page.goto(request_url)
    assert page.locator("#unservable").count() == 0  # classes 1 and 9 have pages now
    with page.expect_navigation():
        page.get_by_role("button", name="批准").click()
    sign_in(page, server, "sibao")
    page.goto(request_url)
    with page.expect_navigation():
        page.get_by_role("link", name="开始查阅").click()
    seen = []
    while True:
        page.wait_for_function("() => document.querySelector('figure.page img').naturalWidth > 0")
        seen.append(page.locator("figure.page img").get_attribute("alt"))
        if page.get_by_role("link", name="下一页").count() == 0:
            break
        with page.expect_navigation():
            page.get_by_role("link", name="下一页").click()
    assert seen == ["第 1 页", "第 2 页", "第 3 页"]  # 自传 (page 4, class 2) is not among them
    shot(page, "path-viewer")
    # The requester's fact sheet holds what the granted pages state, and nothing of page 4.
    facts = page.locator("#facts")
    assert who.birth_date.isoformat() in facts.inner_text() and "已确认" in facts.inner_text()
    assert "第 1 页" in facts.inner_text() and "第 4 页" not in facts.inner_text()
    assert facts.locator("form").count() == 0  # read, not confirmed, by the requester
    facts.scroll_into_view_if_needed()
    shot(page, "path-viewer-facts")
    checklist = page.request.get(f"{server}{facts.locator('#checklist').get_attribute('href')}")
    assert checklist.status == 200
    cells = [c for r in load_workbook(io.BytesIO(checklist.body())).active.iter_rows(values_only=True) for c in r]
    assert who.birth_date.isoformat() in cells and not any("第4页" in str(c) for c in cells)

    sign_in(page, server, "auditor")
    page.goto(f"{server}/audit?archival_code={codes[2]}")
    log = page.locator("table.log").inner_text()
    assert log.count("网上查阅") == 3 and "批准" in log and number in log and "导出核查表" in log
    shot(page, "path-register")
