"""The seeds' rules where people work: the administrator picks the bureau's jurisdiction rule and the
clerk's register is refused by it, naming the bureau a row belongs to; the archivist records a death and
a move on a file the clerk has just received. Screenshots in tests/e2e/artifacts/rules-*.png."""

import pytest

from archive_service.db import bureau_today
from archive_service.organisations.jurisdiction import RULES, JurisdictionRule
from tests.archive_service.test_transfers import as_csv, row
from tests.e2e.conftest import shot
from tests.e2e.test_requests import sign_in
from tests.e2e.test_transfers import upload

pytestmark = pytest.mark.e2e

RECEIVE_KEY = "扫描档号条码或输入公民身份号码（回车即按名册接收）"


def set_rule(page, server, label: str) -> None:
    sign_in(page, server, "admin")
    page.goto(f"{server}/transfers")
    page.get_by_label("接收范围规则").select_option(label=label)
    with page.expect_navigation():
        page.locator("#set-jurisdiction").click()


def test_the_bureaus_jurisdiction_rule_refuses_a_row_naming_where_it_belongs(page, server, tmp_path):
    try:
        sign_in(page, server, "clerk")
        outside = row(63, 户籍地区划代码="110105", 居住地区划代码="110102")
        upload(page, server, tmp_path, "名册.csv", as_csv([outside]))
        problem = page.locator("#register-problems tbody tr").nth(0).inner_text()
        # 西城 takes its own 户籍 (003 五): the row is 朝阳's, whose bureau is not in this installation.
        assert "户籍地区划代码" in problem and "西人社发〔2020〕14号 五" in problem
        assert "应移交区划 110105 所在地的档案馆" in problem
        assert "本馆接收范围：户籍地在本区" in page.locator("main").inner_text()
        shot(page, "rules-jurisdiction-refused")

        set_rule(page, server, "企业参保地在本区县（重庆市市属国有重点企业退休人员社会化管理试点工作实施方案 三(二)1）")
        assert "企业参保地在本区县" in page.locator("#jurisdiction").inner_text()
        shot(page, "rules-jurisdiction-setting")
        sign_in(page, server, "clerk")
        upload(page, server, tmp_path, "名册.csv", as_csv([row(63, 参保地区划代码="110101")]))
        problem = page.locator("#register-problems tbody tr").nth(0).inner_text()
        assert "参保地区划代码" in problem and "应移交北京市东城区档案馆" in problem
    finally:
        set_rule(page, server, f"{RULES[JurisdictionRule.hukou].name}（{RULES[JurisdictionRule.hukou].basis}）")
    assert "户籍地在本区" in page.locator("#jurisdiction").inner_text()


def test_a_death_and_a_move_recorded_on_a_file_just_received(page, server, tmp_path):
    sign_in(page, server, "clerk")
    rows = [row(60), row(61)]
    upload(page, server, tmp_path, "名册.csv", as_csv(rows))
    with page.expect_navigation():
        page.locator("#start-receiving").click()
    for r in rows:
        page.get_by_label(RECEIVE_KEY).fill(str(r["公民身份号码"]))
        with page.expect_navigation():
            page.get_by_label(RECEIVE_KEY).press("Enter")
        assert "接收" in page.locator("#last").inner_text()

    sign_in(page, server, "archivist")
    page.goto(f"{server}/dossiers?q={rows[0]['公民身份号码']}")
    with page.expect_navigation():
        page.locator("table a[href^='/dossiers/']").first.click()
    form = page.locator("#life-event-form")
    form.get_by_label("变动").select_option(label="死亡")
    form.get_by_label("发生日期").fill("2026-11-20")
    form.get_by_label("依据文书").fill("")
    page.locator("#record-life-event").click()  # the browser asks for the document first
    assert page.locator("#life-events .ok").count() == 0
    form.get_by_label("依据文书").fill("死亡医学证明 No.0815")
    with page.expect_navigation():
        page.locator("#record-life-event").click()
    section = page.locator("#life-events")
    assert "已登记" in section.inner_text() and "死亡医学证明 No.0815" in section.inner_text()
    assert "已死亡（2026-11-20）" in section.inner_text() and "王档案" in section.inner_text()
    assert page.locator("#life-event-form").count() == 0  # nothing further is recorded after a death
    assert "人员状态变动" in page.locator("ol.custody").inner_text()
    shot(page, "rules-death-recorded")

    page.goto(f"{server}/dossiers?q={rows[1]['公民身份号码']}")
    with page.expect_navigation():
        page.locator("table a[href^='/dossiers/']").first.click()
    form = page.locator("#life-event-form")
    form.get_by_label("变动").select_option(label="迁居（户籍、居住地迁往他处）")
    form.get_by_label("发生日期").fill("2026-11-25")
    form.get_by_label("依据文书").fill("户口迁移证 京迁 0012")
    form.get_by_label("迁入地区划代码").fill("11010")
    with page.expect_navigation():
        page.locator("#record-life-event").click()
    alert = page.locator("#life-events [role=alert]")
    assert alert.get_attribute("data-field") == "region_code" and "6位数字" in alert.inner_text()
    assert page.locator("#life-event-form").get_by_label("依据文书").input_value() == "户口迁移证 京迁 0012"
    page.locator("#life-event-form").get_by_label("迁入地区划代码").fill("110101")
    with page.expect_navigation():
        page.locator("#record-life-event").click()
    # 晋政办通〔2020〕18号 第二十二条: the move alone sends nothing; the page says the file waits for the
    # retiree's 转入申请 to 东城's bureau, and takes it.
    assert "/dossiers/" in page.url
    following = page.locator("#move-next")
    assert "待退休人员向迁入地（北京市东城区档案馆）提出转入申请后" in following.inner_text()
    shot(page, "rules-move-awaits-application")
    application = page.locator("#application-form")
    application.get_by_label("申请日期").fill("2026-11-26")
    application.get_by_label("申请转入的档案馆").select_option(label="北京市东城区档案馆")
    application.get_by_label("申请文书").fill("转入申请表 东城 0012")
    with page.expect_navigation():
        page.locator("#record-application").click()
    assert "据此办理转递" in page.locator("#move-next").inner_text()
    with page.expect_navigation():
        page.locator("#move-next a[href^='/transfers/']").click()
    assert "转递批次" in page.locator("h1").inner_text()
    assert "北京市东城区档案馆" in page.locator("main").inner_text()
    assert "转入申请表 东城 0012" in page.locator("main").inner_text()
    shot(page, "rules-application-opens-onward")
    shelve_waiting(page, server)


def shelve_waiting(page, server) -> list[dict]:
    """Files this module took in and kept get a shelf place, as the bureau would: later tests on the shared
    server begin with nothing waiting to be shelved."""
    waiting = page.request.get(f"{server}/api/shelving/unshelved").json()
    placed = page.request.post(f"{server}/api/shelving/assign", data={"dossier_ids": waiting})
    assert placed.status == 200, placed.text()
    return placed.json()


def receive_new(page, server, tmp_path, rows) -> list[str]:
    """The clerk takes the files in (register, then each volume scanned); their 档号 as assigned, each
    linking to its dossier page."""
    sign_in(page, server, "clerk")
    upload(page, server, tmp_path, "名册.csv", as_csv(rows))
    with page.expect_navigation():
        page.locator("#start-receiving").click()
    for r in rows:
        page.get_by_label(RECEIVE_KEY).fill(str(r["公民身份号码"]))
        with page.expect_navigation():
            page.get_by_label(RECEIVE_KEY).press("Enter")
    codes = []
    for r in rows:
        page.goto(f"{server}/dossiers?q={r['公民身份号码']}")
        codes.append(page.locator("table a[href^='/dossiers/']").first.inner_text().strip())
    return codes


def send_on(page, server, code: str, bureau: str) -> None:
    page.goto(f"{server}/transfers")
    page.get_by_text("转递到其他档案馆").click()
    page.get_by_label("接收馆").select_option(label=bureau)
    page.get_by_label("档号（逐个扫描，每行一个）").fill(code)
    page.get_by_label("转递原因").fill("户籍迁至天津市河西区")
    with page.expect_navigation():
        page.locator("#send-onward").click()
    assert page.locator("h1").inner_text().startswith("转递批次 ZD")


def test_onward_on_paper_to_a_bureau_outside_the_installation(page, server, tmp_path):
    """晋政办通〔2020〕18号 第二十二条: the 转递单 printed, the signed return slip recorded, the batch closed;
    another batch withdrawn before it left."""
    import subprocess

    from PIL import Image

    from archive_service.demo import credit_code
    from tests.e2e.conftest import ARTIFACTS

    sign_in(page, server, "admin")
    bureau = "天津市河西区档案馆"
    made = page.request.post(
        f"{server}/api/organisations",
        data={"name": bureau, "kind": "bureau", "credit_code": credit_code("12120103MB0", 7), "region_code": "120103"},
    )
    assert made.status == 201, made.text()
    sent, kept = receive_new(page, server, tmp_path, [row(64), row(65)])

    sign_in(page, server, "archivist")
    places = {p["archival_code"]: p["slot_code"] for p in shelve_waiting(page, server)}
    assert {sent, kept} <= set(places)
    send_on(page, server, sent, bureau)
    assert "不使用本系统" in page.locator("main").inner_text()
    with page.expect_download() as download:
        page.locator("#onward-slip").click()
    slip = ARTIFACTS / "rules-onward-slip.pdf"
    download.value.save_as(slip)
    subprocess.run(
        ["pdftoppm", "-r", "50", "-png", "-singlefile", str(slip), str(ARTIFACTS / "rules-onward-slip")], check=True
    )
    rendered = Image.open(ARTIFACTS / "rules-onward-slip.png").convert("L")
    assert 200 < sum(rendered.getdata()) / (rendered.width * rendered.height) < 254  # printed black on white

    scan = tmp_path / "回执.png"
    Image.new("L", (850, 1100), 255).save(scan)
    form = page.locator("#return-slip-form")
    form.get_by_label("回执扫描件").set_input_files(str(scan))
    form.get_by_label("接收馆经办人").fill("刘河西")
    form.get_by_label("签收日期").fill("2999-01-01")
    with page.expect_navigation():
        page.locator("#record-return-slip").click()
    assert page.get_by_role("alert").get_attribute("data-field") == "signed_on"
    assert page.locator("#return-slip-form").get_by_label("接收馆经办人").input_value() == "刘河西"
    page.locator("#return-slip-form").get_by_label("回执扫描件").set_input_files(str(scan))
    page.locator("#return-slip-form").get_by_label("签收日期").fill(str(bureau_today()))
    with page.expect_navigation():
        page.locator("#record-return-slip").click()
    assert "已办结" in page.locator("h1").inner_text() and "刘河西" in page.locator("#return-slip").inner_text()
    assert page.locator("#receipt").count() == 1
    shot(page, "rules-onward-closed-by-return-slip")

    send_on(page, server, kept, bureau)
    page.get_by_text("撤销转递（档案尚未转出）").click()
    page.get_by_label("撤销原因").fill("退休人员户籍迁移未办成")
    with page.expect_navigation():
        page.locator("#cancel-onward").click()
    assert (
        "已撤销" in page.locator("h1").inner_text() and "户籍迁移未办成" in page.locator("#cancel-reason").inner_text()
    )
    assert "档案留在本馆" in page.locator("#cancelled").inner_text()
    assert "接收馆正在核对" not in page.locator("main").inner_text()
    shot(page, "rules-onward-cancelled")
    with page.expect_navigation():
        page.get_by_role("link", name=kept).click()  # the register row links to the file, back on its layer
    assert places[kept] in page.locator("#shelf-slot").inner_text() and "在馆" in page.locator("h1").inner_text()
