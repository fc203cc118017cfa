"""Intake in the browser: upload a register (a bad one first), receive every volume with the keyboard
only, both sides confirm, download the receipt and verify it. Screenshots in tests/e2e/artifacts/transfer-*.png."""

import subprocess
import sys

import pytest

from tests.archive_service.conftest import blank_scans
from tests.archive_service.test_transfers import as_csv, as_xlsx, row
from tests.e2e.conftest import shot
from tests.e2e.test_requests import sign_in

pytestmark = pytest.mark.e2e

ENTERPRISE = "北京红星电子仪器厂"  # registered in 东城: the area rule looks at each retiree


def upload(page, server, tmp_path, name: str, data: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    page.goto(f"{server}/transfers")
    page.get_by_label("移交企业").select_option(label=ENTERPRISE)
    page.get_by_label("名册文件").set_input_files(str(path))
    # A form's click returns once its navigation starts (wait_for_load_state could still answer for the old
    # page): every form sent in these tests is waited for until the answer's page has loaded, then read.
    with page.expect_navigation():
        page.locator("#upload-register").click()


def test_upload_receive_confirm_and_download_the_receipt(page, server, tmp_path):
    sign_in(page, server, "clerk")
    rows = [row(n + 40) for n in range(4)]
    bad = [*rows, row(50, 领导人员="是"), row(51, 户籍地区划代码="310101", 居住地区划代码="310101")]
    upload(page, server, tmp_path, "名册.csv", as_csv(bad))
    problems = page.locator("#register-problems tbody tr")
    assert problems.count() == 2
    assert "领导人员" in problems.nth(0).inner_text() and "不在本馆辖区" in problems.nth(1).inner_text()
    assert "未保存任何内容" in page.get_by_role("alert").inner_text()
    shot(page, "transfer-bad-register")

    upload(page, server, tmp_path, "名册.xlsx", as_xlsx(rows))
    assert page.locator("#register tbody tr").count() == 4
    number = page.locator("h1").inner_text().split()[1]
    with page.expect_navigation():
        page.locator("#start-receiving").click()

    key = page.get_by_label("扫描档号条码或输入公民身份号码（回车即按名册接收）")
    for r in rows[:2]:  # a scanner types the code and Enter
        key.fill(str(r["公民身份号码"]))
        with page.expect_navigation():
            key.press("Enter")
        assert "接收" in page.locator("#last").inner_text()
    key = page.get_by_label("扫描档号条码或输入公民身份号码（回车即按名册接收）")
    key.fill(str(rows[0]["公民身份号码"]))
    with page.expect_navigation():
        key.press("Enter")
    assert "不能重复登记" in page.get_by_role("alert").inner_text()
    page.get_by_label("扫描档号条码或输入公民身份号码（回车即按名册接收）").fill(f"#{rows[2]['序号']}")
    page.get_by_label("实收页数").fill("60")
    with page.expect_navigation():
        page.get_by_label("实收页数").press("Enter")
    assert "接收（有差异）" in page.locator("#last").inner_text() and "实收 60" in page.locator("#last").inner_text()
    page.get_by_label("扫描档号条码或输入公民身份号码（回车即按名册接收）").fill(f"#{rows[3]['序号']}")
    page.get_by_label("结果").select_option("rejected")
    page.get_by_label("原因 / 说明（退回必填）").fill("卷皮破损")
    with page.expect_navigation():
        page.get_by_label("原因 / 说明（退回必填）").press("Enter")
    assert "退回" in page.locator("#last").inner_text()
    shot(page, "transfer-receiving")

    page.goto(page.url.replace("/receive", "").split("?")[0])
    assert "4 / 4" in page.locator("#progress").inner_text()
    page.get_by_label("移交方经办人").fill("刘移交")
    with page.expect_navigation():
        page.locator("#confirm-sender").click()
    # Three files came on paper only: the bureau writes why before it confirms (000 §三(二)2).
    assert "3 份档案尚未数字化" in page.locator("#paper-only-note").inner_text()
    page.get_by_label("未数字化接收理由").fill("企业无扫描设备，由本馆接收后数字化")
    shot(page, "transfer-paper-only")
    with page.expect_navigation():
        page.locator("#confirm-receiver").click()
    assert "双方已确认" in page.locator(".notice").inner_text()
    assert "企业无扫描设备" in page.locator("#paper-reason-recorded").inner_text()
    with page.expect_download() as download:
        page.locator("#receipt").click()
    path = tmp_path / "receipt.pdf"
    download.value.save_as(path)
    shot(page, "transfer-confirmed")
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert number in text and "卷皮破损" in text
    codes = [c.inner_text() for c in page.locator("#register tbody tr td:nth-child(4) a").all()]
    assert len(codes) == 3 and all(code.startswith("J102-RS-") for code in codes) and codes[0] in text
    env_url = page.evaluate("() => location.origin")
    assert env_url == server
    # The receipt is checked against its own attached manifest (the server's database is not ours here).
    check = subprocess.run(
        [sys.executable, "-c", "import sys; from archive_service.transfers.receipt import read_receipt; "
         "m, _, c = read_receipt(open(sys.argv[1], 'rb').read()); print(c.ok, c.printed == c.computed, m['number'])",
         str(path)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert check.stdout.split() == ["True", "True", number]


def test_acceptance_of_digitised_copies_then_confirmation(page, server, tmp_path):
    """The demo's received batch came with digitised copies: the archivist runs the machine checks, inspects
    the drawn sample, and only a passed acceptance lets both sides confirm; the receipt prints it."""
    sign_in(page, server, "archivist")
    batches = page.request.get(f"{server}/api/transfers").json()
    # The demo's batch: the first one received whole (later tests receive batches of their own).
    batch = min(
        (b for b in batches if b["progress"]["total"] == 3 and b["progress"]["pending"] == 0), key=lambda b: b["id"]
    )
    page.goto(f"{server}/transfers/{batch['id']}")
    page.get_by_label("移交方经办人").fill("刘移交")
    with page.expect_navigation():
        page.locator("#confirm-sender").click()
    assert "验收合格后才能确认" in page.get_by_role("alert").inner_text()
    with page.expect_navigation():
        page.locator("#start-acceptance").click()
    assert "机检 3/3 份通过" in page.locator("#acceptance-summary").inner_text()
    sample = page.locator("form.sample")
    assert sample.count() == 1
    with page.expect_navigation():
        page.locator("#conclude-acceptance").click()  # too early: the sample is not inspected yet
    assert "未检查" in page.get_by_role("alert").inner_text()
    sample = page.locator("form.sample").first
    for label in ("目录与图像对应", "图像完整", "图像清晰可辨", "方向正确", "档号、姓名等著录"):
        sample.get_by_label(label).select_option("pass")
    with page.expect_navigation():
        sample.get_by_role("button", name="保存此样本").click()
    assert "已检查" in page.locator("form.sample").first.inner_text()
    with page.expect_navigation():
        page.locator("#conclude-acceptance").click()
    assert "结论：合格" in page.locator("#acceptance-summary").inner_text()
    shot(page, "transfer-acceptance")
    page.get_by_label("移交方经办人").fill("刘移交")
    with page.expect_navigation():
        page.locator("#confirm-sender").click()
    with page.expect_navigation():
        page.locator("#confirm-receiver").click()
    with page.expect_download() as download:
        page.locator("#receipt").click()
    path = tmp_path / "receipt.pdf"
    download.value.save_as(path)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert "结论：合格" in text and "抽检 1 份" in text


def test_statistics_page_and_export(page, server, tmp_path):
    sign_in(page, server, "clerk")
    page.goto(f"{server}/transfers")
    with page.expect_navigation():
        page.get_by_role("link", name="统计", exact=True).click()  # not the menu's 统计报表
    cells = page.locator("#statistics tbody tr").first.locator("td").all_inner_texts()
    assert ENTERPRISE in page.locator("#statistics").inner_text() and len(cells) == 6
    page.get_by_label("年份").fill("1999")
    with page.expect_navigation():
        page.get_by_label("年份").press("Enter")
    assert "无数据" in page.locator("#statistics").inner_text()
    page.get_by_label("年份").fill("")
    with page.expect_navigation():
        page.get_by_label("年份").press("Enter")
    with page.expect_download() as download:
        page.locator("#statistics-xlsx").click()
    path = tmp_path / "stats.xlsx"
    download.value.save_as(path)
    from openpyxl import load_workbook

    assert load_workbook(path).active["A1"].value == "企业"
    shot(page, "transfer-statistics")


def test_send_a_file_on_and_add_a_supplement(page, server):
    """转递 from the list page (a wrong code refused, nothing sent), then a supplement on another file's page,
    approved by the archivist into its class."""
    sign_in(page, server, "archivist")
    files = page.request.get(f"{server}/api/dossiers?status=in_custody").json()["items"]
    leaving, staying = files[-1]["archival_code"], files[-2]
    page.goto(f"{server}/transfers")
    page.get_by_text("转递到其他档案馆").click()
    page.get_by_label("接收馆").select_option(label="北京市东城区档案馆")  # no bureau is chosen for the archivist
    page.get_by_label("档号（逐个扫描，每行一个）").fill(f"{leaving}\nJ999-RS-000001")
    page.get_by_label("转递原因").fill("户籍迁至东城区")
    with page.expect_navigation():
        page.locator("#send-onward").click()
    assert "J999-RS-000001" in page.get_by_role("alert").inner_text()
    page.get_by_label("档号（逐个扫描，每行一个）").fill(leaving)
    page.get_by_label("转递原因").fill("户籍迁至东城区")
    with page.expect_navigation():
        page.locator("#send-onward").click()
    assert page.locator("h1").inner_text().startswith("转递批次 ZD")
    assert "接收馆正在核对" in page.inner_text("main")

    page.goto(f"{server}/dossiers/{staying['id']}")
    page.get_by_text("登记补充材料").click()
    form = page.locator("#supplement-form")
    form.get_by_label("类号").fill("9")
    form.get_by_label("材料名称").fill("二〇二六年待遇调整补充表")
    form.get_by_label("形成时间").fill("202603")
    form.get_by_label("页数").fill("2")
    form.get_by_label("报送单位").fill("西城区社会保险事业管理中心")
    with page.expect_navigation():
        form.locator("#submit-supplement").click()
    row = page.locator("#supplements tr[data-status]")
    assert row.count() == 1, page.get_by_role("alert").all_inner_texts()
    assert "待审核" in row.inner_text()
    with page.expect_navigation():
        page.locator(".approve-supplement").click()
    assert "已归档" in page.locator("#supplements tr[data-status]").inner_text()
    catalogue = page.locator("table.catalogue").inner_text()
    assert "二〇二六年待遇调整补充表 补充" in catalogue
    shot(page, "supplement-approved")


def test_a_mixed_batch_is_accepted_on_its_one_copy_and_confirmed_with_its_paper_reason(page, server, tmp_path):
    """One file of a new batch digitised from its page, two on paper only: the archivist's acceptance judges the
    one copy and lists the two, both sides confirm (the receiver with its reason), and the 交接书 says so."""
    sign_in(page, server, "clerk")
    rows = [row(110, 页数=1), row(111), row(112)]
    upload(page, server, tmp_path, "名册.xlsx", as_xlsx(rows))
    batch_url = page.url.split("?")[0]
    batch_id = batch_url.rsplit("/", 1)[1]
    for r in rows:
        got = page.request.post(f"{server}/api/transfers/{batch_id}/receive", data={"key": str(r["公民身份号码"])})
        assert got.status == 200, got.text()
    first = page.request.get(f"{server}/api/transfers/{batch_id}").json()["items"][0]["dossier_id"]

    sign_in(page, server, "archivist")
    page.goto(f"{server}/dossiers/{first}")
    page.locator("#digitise-form input[type=file]").set_input_files([str(p) for p in blank_scans(1)])
    page.locator("#digitise-form button").click()
    page.wait_for_url(f"{server}/jobs/*")
    page.wait_for_function("() => document.querySelector('#job').dataset.state === 'done'", timeout=180_000)
    page.goto(batch_url)
    assert "尚未验收：本批有 1 份档案有数字化成果" in page.locator("#acceptance-summary").inner_text()
    with page.expect_navigation():
        page.locator("#start-acceptance").click()
    assert "机检 1/1 份通过" in page.locator("#acceptance-summary").inner_text()
    assert page.locator("#acceptance-paper-only").inner_text().count("J102-RS-") == 2
    sample = page.locator("form.sample").first
    for label in ("目录与图像对应", "图像完整", "图像清晰可辨", "方向正确", "档号、姓名等著录"):
        sample.get_by_label(label).select_option("pass")
    with page.expect_navigation():
        sample.get_by_role("button", name="保存此样本").click()
    with page.expect_navigation():
        page.locator("#conclude-acceptance").click()
    assert "结论：合格" in page.locator("#acceptance-summary").inner_text()
    page.get_by_label("移交方经办人").fill("刘移交")
    with page.expect_navigation():
        page.locator("#confirm-sender").click()
    assert "2 份档案尚未数字化" in page.locator("#paper-only-note").inner_text()
    page.get_by_label("未数字化接收理由").fill("企业扫描设备故障，本馆接收后补做")
    shot(page, "transfer-mixed-batch")
    with page.expect_navigation():
        page.locator("#confirm-receiver").click()
    assert "双方已确认" in page.locator(".notice").inner_text()
    with page.expect_download() as download:
        page.locator("#receipt").click()
    path = tmp_path / "receipt.pdf"
    download.value.save_as(path)
    text = "".join(
        subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout.split()
    )
    assert "机检1/1份通过" in text and "另有2份未移交数字化成果" in text and "企业扫描设备故障" in text
