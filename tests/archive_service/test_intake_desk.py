"""The intake clerk's small annoyances (issue 36), each walked with a register the test writes: IDs Excel
turned into numbers named as such, the problem table with names and where a person's file already is, the
register sent back to the enterprise with its problems marked, dates named as typed."""

import base64
import io
import re
from datetime import UTC, datetime

import pytest
from openpyxl import Workbook, load_workbook
from PIL import Image
from sqlalchemy import func, select

from archive_service import db
from archive_service.dossiers import catalogue_rows
from archive_service.dossiers.models import CustodyEvent, Dossier
from archive_service.shelving.models import ShelfSlot
from archive_service.transfers import receiving, register
from archive_service.transfers import service as transfers
from archive_service.transfers.catalogues import template_xlsx as catalogue_template
from archive_service.values import ValueRuleError
from tests.archive_service.test_forms_keep_values import _cookie_login
from tests.archive_service.test_transfers import as_csv, as_xlsx, enterprise, error_of, new_batch, row, user


def test_the_templates_keep_codes_as_text_and_an_id_excel_made_a_number_is_named_as_such():
    """The template's ID column is formatted as text (Excel then keeps all 18 digits); a register typed into
    General cells arrives with 1.10102E+17, and the clerk is told that, not "校验码错误"."""
    sheet = load_workbook(io.BytesIO(register.template_xlsx())).active
    column = register.HEADERS.index("公民身份号码") + 1
    assert all(sheet.cell(r, column).number_format == "@" for r in (2, 3, 500, register.TEMPLATE_ROWS))
    assert sheet.column_dimensions["D"].width >= 18  # wide enough to show the ID
    catalogue = load_workbook(io.BytesIO(catalogue_template())).active
    assert catalogue.cell(2, 5).number_format == "@"  # 形成时间: 1978.10 is not the number 1978.1

    typed = row(1)
    as_number = float(typed["公民身份号码"])  # what a General cell keeps: 15 significant digits
    book = Workbook()
    book.active.append(list(register.HEADERS))
    book.active.append([as_number if h == "公民身份号码" else typed[h] for h in register.HEADERS])
    out = io.BytesIO()
    book.save(out)
    (line, cells), *_ = register.read_sheet(out.getvalue(), "名册.xlsx")
    _, problems, _ = register.check_row(line, cells)
    assert [(p.column, p.code) for p in problems] == [("公民身份号码", "citizen_id.stored_as_number")]
    assert "1.10102E+17" in problems[0].message and "文本" in problems[0].message
    # The same register saved as CSV by Excel carries the text Excel shows.
    (line, cells), *_ = register.read_sheet(as_csv([{**typed, "公民身份号码": "1.10102E+17"}]), "名册.csv")
    assert register.check_row(line, cells)[1][0].code == "citizen_id.stored_as_number"
    # A mistyped ID written as text is still a check-digit error.
    wrong = typed["公民身份号码"][:17] + ("1" if typed["公民身份号码"][17] != "1" else "2")
    (line, cells), *_ = register.read_sheet(as_csv([{**typed, "公民身份号码": wrong}]), "名册.csv")
    assert register.check_row(line, cells)[1][0].code == "citizen_id.check_digit"


def test_dates_are_read_as_written_and_named_as_typed():
    """1978.13 was read as 1978-01-03 in a register and named "197813" in a catalogue."""
    for typed, read in (("1960-05-01", "1960-05-01"), ("1960.5.1", "1960-05-01"), ("19600501", "1960-05-01")):
        assert register._date(typed).isoformat() == read
    with pytest.raises(ValueRuleError) as refused:
        register._date("1978.13")
    assert "“1978.13”" in refused.value.message
    _, problems, _ = register.check_row(2, {**row(1), "参加工作时间": "1978.13"})
    assert [(p.column, p.code) for p in problems] == [("参加工作时间", "date.format")]

    classes = {"1": object()}
    _, problems = catalogue_rows.check_rows(
        classes,  # type: ignore[arg-type]
        "enterprise-1992",
        [{"class_code": "1", "title": "职工登记表", "date_formed": "1978.13", "pages": 2}],
    )
    assert [p.field for p in problems] == ["date_formed"]
    assert "“1978.13”不是有效日期" in problems[0].message and "197813" not in problems[0].message


def test_the_problem_table_names_each_person_and_where_the_file_already_is(engine, demo):
    with db.transaction() as session:
        first = new_batch(session, [row(1), row(2)])
        held = session.scalar(select(Dossier).where(Dossier.archival_code == "J102-RS-000001"))
        elsewhere = session.scalar(
            select(Dossier).where(Dossier.custodian_id != held.custodian_id).order_by(Dossier.id)
        )
        rows = [
            row(3, 公民身份号码=held.retiree.citizen_id, 出生日期=held.retiree.birth_date.isoformat(),
                性别="男" if held.retiree.sex == "M" else "女", 姓名="重复甲"),
            row(4, 公民身份号码=row(1)["公民身份号码"], 出生日期=row(1)["出生日期"], 姓名="重复乙"),
            row(5, 公民身份号码=elsewhere.retiree.citizen_id, 出生日期=elsewhere.retiree.birth_date.isoformat(),
                性别="男" if elsewhere.retiree.sex == "M" else "女", 姓名="他馆丙"),
            row(6, 领导人员="是", 姓名="领导丁"),
        ]  # fmt: skip
        refused = error_of(lambda: new_batch(session, rows))
        by_name = {p["name"]: p["message"] for p in refused.problems}
        assert by_name["重复甲"] == "该人员的档案已在本馆（档号 J102-RS-000001），不能重复接收"
        assert by_name["重复乙"] == f"该人员已在本馆未办结的移交批次 {first.number}中"
        assert by_name["他馆丙"] == f"该人员的档案由{elsewhere.custodian.name}保管（须由该馆转递），不能重复接收"
        assert elsewhere.archival_code not in by_name["他馆丙"]  # another bureau's code is its business
        assert "领导人员" in by_name["领导丁"]


def test_a_refused_register_comes_back_marked_to_send_to_the_enterprise(engine, client):
    """On the page: one message (not twice) for a file that is no workbook; for a register with problems, the
    table has the names, and the register itself downloads with each problem cell marked and a 问题 column.
    The enterprise corrects the marked register and it is accepted as it comes back."""
    _cookie_login(client, "clerk")
    with db.transaction() as session:
        enterprise_id = enterprise(session, 4).id
    r = client.post(
        "/transfers", data={"enterprise_id": enterprise_id}, files={"file": ("名册.xls", b"\xd0\xcf\x11\xe0old", "x")}
    )
    assert r.status_code == 422 and r.text.count("文件不是有效的 .xlsx") == 1

    typed = [row(11, 姓名="王五"), row(12, 姓名="赵六", 卷数=0), row(13, 姓名="钱七", 出生日期="1958.13.01")]
    r = client.post("/transfers", data={"enterprise_id": enterprise_id}, files={"file": ("名册.xlsx", as_xlsx(typed))})
    assert r.status_code == 422
    table = r.text[r.text.index('id="register-problems"') :]
    assert "<th>姓名</th>" in table and "<td>赵六</td>" in table and "<td>钱七</td>" in table
    link = re.search(r'id="marked-register" download="([^"]+)" href="data:[^;]+;base64,([^"]+)"', r.text)
    assert link and link[1].endswith(".xlsx")
    marked = load_workbook(io.BytesIO(base64.b64decode(link[2]))).active
    header = [c.value for c in marked[1]]
    assert header[: len(register.HEADERS)] == list(register.HEADERS) and header[-1] == register.PROBLEM_COLUMN
    cid = header.index("公民身份号码") + 1
    assert [marked.cell(n, cid).value for n in (2, 3, 4)] == [t["公民身份号码"] for t in typed]  # text, 18 digits
    volumes, born = header.index("卷数") + 1, header.index("出生日期") + 1
    assert marked.cell(2, len(header)).value in (None, "")  # 王五 has no problem
    assert marked.cell(3, volumes).fill.fgColor.rgb.endswith("FFC7CE") and "卷数" in marked.cell(3, len(header)).value
    assert marked.cell(4, born).comment is not None and "1958.13.01" in marked.cell(4, born).comment.text
    assert marked.cell(2, volumes).fill.fill_type is None
    listing = marked.parent["问题清单"]
    assert [c.value for c in listing[1]] == ["行", "姓名", "列", "问题"] and listing.max_row == 3

    # The enterprise corrects the two cells in the marked register and sends it back as it is.
    marked.cell(3, volumes).value = "1"
    marked.cell(4, born).value = row(13)["出生日期"]
    out = io.BytesIO()
    marked.parent.save(out)
    r = client.post(
        "/transfers",
        data={"enterprise_id": enterprise_id},
        files={"file": ("名册-改正.xlsx", out.getvalue())},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[:500]
    with db.transaction() as session:
        batch = transfers.get_batch(session, user(session, "clerk"), int(r.headers["location"].rsplit("/", 1)[1]))
        assert sorted(i.retiree_name for i in batch.items) == ["王五", "赵六", "钱七"]


def test_receiving_names_the_new_code_and_prints_its_box_label_and_a_refusal_names_who_can(engine, client, tmp_path):
    """A clerk receives a new enterprise's files: the enterprise is chosen (no select falls back to the first
    one), a mistyped ID is called a check-digit error, the line says the new 档号 and offers the box label,
    printed from a given place on a partly used sheet. The clerk cannot shelve — and is told who can; the
    archivist's auto-assignment lands on a page that a reload only shows again; a box label reprint is
    the box's label only."""
    _cookie_login(client, "clerk")
    page = client.get("/transfers").text
    chooser = page[page.index('aria-label="移交企业"') :]
    assert chooser.index('<option value="">请选择移交单位</option>') < re.search(r'<option value="\d', chooser).start()
    assert " selected" not in chooser[: chooser.index("</select>")]
    rows = [row(21, 姓名="孙八"), row(22, 姓名="周九")]
    r = client.post("/transfers", data={"enterprise_id": ""}, files={"file": ("名册.xlsx", as_xlsx(rows))})
    assert r.status_code == 422 and "请选择移交单位" in r.text
    with db.transaction() as session:
        enterprise_id = enterprise(session, 4).id
    r = client.post("/transfers", data={"enterprise_id": enterprise_id}, files={"file": ("名册.xlsx", as_xlsx(rows))})
    batch_url = r.url.path
    assert batch_url.startswith("/transfers/") and r.status_code == 200

    cid = str(rows[0]["公民身份号码"])
    typo = cid[:10] + cid[11] + cid[10] + cid[12:] if cid[10] != cid[11] else cid[:16] + "9" + cid[17]
    r = client.post(f"{batch_url}/receive", data={"key": typo})
    assert r.status_code == 422 and "校验码错误" in r.text and "不在本批次名册中" not in r.text
    r = client.post(f"{batch_url}/receive", data={"key": cid}, follow_redirects=False)
    r = client.get(r.headers["location"])
    with db.transaction() as session:
        dossier = session.scalar(select(Dossier).join(Dossier.retiree).where(Dossier.retiree.has(citizen_id=cid)))
        code, dossier_id = dossier.archival_code, dossier.id
    last = r.text[r.text.index('id="last"') :]
    assert f"档号 {code}" in last[: last.index("</span>")]
    assert f'name="dossier_ids" value="{dossier_id}"' in r.text[r.text.index('id="print-box-label"') :]

    label = client.post("/shelving/labels", data={"dossier_ids": dossier_id, "start_at": "5"})
    assert label.headers["content-type"] == "application/pdf"
    (tmp_path / "label.pdf").write_bytes(label.content)
    words = _pdf_words(tmp_path / "label.pdf")
    assert [w for w, _, _ in words].count(code) == 2  # the box's one volume: one label (barcode text, title)
    x, y = next((x, y) for w, x, y in words if w == code)
    column, row_ = int((x - MARGIN_X_PT) // LABEL_W_PT), int((y - MARGIN_Y_PT) // LABEL_H_PT)
    assert (row_, column) == (1, 1)  # label 5 of a 3-column sheet: second row, middle
    refused = client.post("/shelving/labels", data={"dossier_ids": dossier_id, "start_at": "25"})
    assert refused.status_code == 422 and "起始标签应为 1–24" in refused.text

    r = client.post("/shelving/assign", data={"room_id": ""})
    assert r.status_code == 403 and "上架、移架和管理库房需档案管理员（当前账户：接收登记员）" in r.text

    _cookie_login(client, "archivist")
    with db.transaction() as session:
        events_before = session.scalar(select(func.count()).select_from(CustodyEvent))
    r = client.post("/shelving/assign", data={"room_id": ""}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/shelving/assigned?")
    shown = [client.get(r.headers["location"]).text for _ in range(2)]  # a reload shows, never assigns again
    assert shown[0] == shown[1] and code in shown[0]
    with db.transaction() as session:
        shelved = session.scalar(select(func.count()).select_from(CustodyEvent)) - events_before
        slot = session.get(ShelfSlot, session.get(Dossier, dossier_id).shelf_slot_id)
        assert shelved >= 1 and slot is not None
    assert f'name="slot_ids" value="{slot.id}"' in shown[0]  # the batch's layers are printed with it on purpose

    reprint = client.post("/shelving/labels", data={"dossier_ids": dossier_id})
    (tmp_path / "reprint.pdf").write_bytes(reprint.content)
    printed = [w for w, _, _ in _pdf_words(tmp_path / "reprint.pdf")]
    assert printed.count(code) == 2 and slot.code not in printed  # the box label only, not its layer's


from archive_service.shelving.labels import LABEL_H, LABEL_W, MARGIN_X, MARGIN_Y  # noqa: E402

MARGIN_X_PT, MARGIN_Y_PT, LABEL_W_PT, LABEL_H_PT = MARGIN_X, MARGIN_Y, LABEL_W, LABEL_H


def _pdf_words(path) -> list[tuple[str, float, float]]:
    """Each word of the PDF with its top-left corner in points from the page's top-left (pdftotext -bbox)."""
    import subprocess
    from xml.etree import ElementTree

    xml = subprocess.run(["pdftotext", "-bbox", str(path), "-"], capture_output=True, check=True).stdout
    ns = {"x": "http://www.w3.org/1999/xhtml"}
    return [
        (w.text or "", float(w.get("xMin")), float(w.get("yMin")))
        for w in ElementTree.fromstring(xml).iterfind(".//x:word", ns)
    ]


def test_every_refusal_of_a_role_names_who_can_do_it():
    from archive_service.auth.permissions import ACTION_LABELS, Action, who_can

    assert set(ACTION_LABELS) == set(Action)
    assert who_can(Action.digitise) == "档案管理员"  # 验收 is the archivist's
    assert who_can(Action.receive_transfers) == "接收登记员、档案管理员"


def test_both_clocks_run_two_calendar_months_in_the_bureaus_time(engine, demo):
    """条例 第二十五条's two months, from the bureau's date: 1 January 01:30 Beijing time (still 31 December in
    UTC) is due on 1 March — 61 days on the UTC date said 2 March; 31 January is due on 31 March, not 2 April."""
    with db.transaction() as session:
        batch = new_batch(session, [row(41)])
        utc = lambda *moment: datetime(*moment, tzinfo=UTC)  # noqa: E731
        for registered, received, sender_due, receiver_due in (
            (utc(2026, 12, 31, 17, 30), utc(2027, 1, 30, 16, 5), "2027-03-01", "2027-03-31"),
            (utc(2026, 12, 30, 15, 59), utc(2027, 6, 30, 10, 0), "2027-02-28", "2027-08-30"),
        ):
            batch.created_at, batch.received_at = registered, received
            session.flush()
            session.expire(batch)
            shown = transfers.progress(session, batch)
            assert (shown.sender_due.isoformat(), shown.receiver_due.isoformat()) == (sender_due, receiver_due)


def test_every_workbook_the_service_writes_has_its_columns_sized(engine, client, login):
    """Exports opened in Excel showed every column at 8.43 characters (#### for a 档号 or a date): each column
    is now as wide as what it holds. Walked after receiving a file of a new register, so each has a row."""
    from archive_service.workbooks import MAX_WIDTH, shown_width

    with db.transaction() as session:
        batch = new_batch(session, [row(71, 姓名="欧阳建国")])
        receiving.receive(session, user(session, "clerk"), batch.id, receiving.Check("#71"))
    month = datetime.now(UTC).strftime("%Y-%m")
    exports = {
        "/api/transfers/template.xlsx": "clerk",
        "/api/transfers/catalogue-template.xlsx": "clerk",
        "/api/transfers/statistics.xlsx": "clerk",
        "/api/transfers/campaign/progress.xlsx": "clerk",
        f"/api/transfers/campaign/monthly-export.xlsx?month={month}": "clerk",
        "/api/audit/log.xlsx": "auditor",
        "/api/shelving/forecast.xlsx": "archivist",
    }
    for path, who in exports.items():
        r = client.get(path, headers=login(who))
        assert r.status_code == 200, (path, r.text[:300])
        for sheet in load_workbook(io.BytesIO(r.content)).worksheets:
            title_rows = 1 if sheet.title in ("库房容量预测", "移交进度") else 0
            for column in sheet.iter_cols(min_row=1 + title_rows, max_row=min(sheet.max_row, 60)):
                widest = max((shown_width(c.value) for c in column), default=0)
                if widest:
                    width = sheet.column_dimensions[column[0].column_letter].width
                    assert width >= min(widest, MAX_WIDTH), (path, sheet.title, column[0].column_letter, width)
    monthly = client.get(f"/api/transfers/campaign/monthly-export.xlsx?month={month}", headers=login("clerk"))
    assert "欧阳建国" in [c.value for c in load_workbook(io.BytesIO(monthly.content)).active["A"]]


def test_the_browsers_favicon_is_served_to_anyone(client):
    r = client.get("/favicon.ico")
    assert r.status_code == 200 and r.headers["content-type"] == "image/x-icon"
    icon = Image.open(io.BytesIO(r.content))
    assert icon.format == "ICO" and {(16, 16), (32, 32)} <= set(icon.info["sizes"])
    red, green, blue, _ = icon.convert("RGBA").getpixel((2, icon.height // 2))
    assert (red, green, blue) == (0x8B, 0x1E, 0x1E)  # the header's colour (app.css --brand)
    assert '<link rel="icon" href="/favicon.ico">' in client.get("/login").text
