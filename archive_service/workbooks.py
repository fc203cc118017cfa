"""Reading an uploaded workbook or CSV, every sheet row by row: the one reader of the register, the 卷内目录
and quota workbooks and the old ledgers of the holdings import, so that a bound set on what a workbook may
hold (size unpacked, parts, a DTD, the sheet's dimension) holds for every upload at once.

.xlsx is a zip, whatever its name says; .xls is an OLE2 compound file (Excel 97–2003, as old ledgers are
kept); anything else is read as a CSV in UTF-8 or GBK (`uploads.csv_text`). Workbooks are read by Calamine
(Rust): ten times faster than openpyxl with defusedxml, and its XML reader expands no entity a document
defines (a DTD's `&x;` is an error, never a bomb). A sheet is loaded whole by Calamine (its cells take about
as much memory as the file unpacked, which the bounds below limit) and handed out one row at a time, so a
100,000-row ledger never becomes 100,000 Python rows at once.
"""

import csv
import io
import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import islice
from typing import IO, Any

from archive_service.errors import ArchiveError
from archive_service.uploads import csv_text

# A sheet's reach, bounded before Calamine reads it. Calamine allocates one slot per cell of the rectangle up
# to the farthest cell holding a value: a 1.8 KB workbook with one cell at XFD1048576 asked for 17 billion
# cells and aborted the server; one at T1048576 took 657 MB. Registers have 20 columns, ledgers a few dozen;
# 256 is Excel 2003's last column (IV). 3,000,000 cells are about 100 MB in Calamine, a 100,000-row ledger of
# 30 columns. (The sheet's <dimension> is not what Calamine allocates by, and Excel stretches it over
# formatted empty cells, so the cells' own references are what is counted.)
MAX_COLUMNS = 256
MAX_SHEET_ROWS = 110_000
MAX_CELLS = 3_000_000

# A workbook of 100,000 rows unpacks to some 30 MB. A 2 MB file whose shared strings unpack to 1 GB took 950 MB
# of memory and 16 s: the zip is measured (declared sizes bound what zipfile will inflate) before parsing.
MAX_XLSX_UNPACKED = 200 * 1024 * 1024
MAX_XLSX_ENTRIES = 2000
XLSX_MAGIC = b"PK\x03\x04"
XLS_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # OLE2 compound file: Excel 97–2003 .xls


@dataclass
class Sheet:
    """One sheet: its name, its merged cells ((first row, first column), (last row, last column), 0-based) and
    its rows, each a tuple of cells from column A, numbered from 1 as the sheet shows them."""

    name: str
    merged: list[tuple[tuple[int, int], tuple[int, int]]] = field(default_factory=list)
    _rows: Iterator[tuple[int, tuple[Any, ...]]] = field(default_factory=lambda: iter(()))

    def rows(self) -> Iterator[tuple[int, tuple[Any, ...]]]:
        """(row number, cells), top to bottom, once."""
        return self._rows


def kind_of(data: bytes, filename: str) -> str:
    """ "xlsx", "xls" or "csv", by the file's first bytes (a name can say anything)."""
    if data[:4] == XLSX_MAGIC:
        return "xlsx"
    if data[:8] == XLS_MAGIC:
        return "xls"
    if filename.lower().endswith((".xlsx", ".xls")):
        raise ArchiveError("file.type", "文件不是有效的 .xlsx 或 .xls（请用 Excel 另存为 .xlsx 或 .csv）", "file", 422)
    return "csv"


def sheets(data: bytes, filename: str, *, bounds_checked: bool = False) -> Iterator[Sheet]:
    """Every sheet of the upload, in workbook order (a CSV is one sheet, named after the file). Hidden
    sheets are skipped: nobody sees what they hold, so nobody checked it. `bounds_checked`: these very bytes
    were read through here when uploaded (a stored ledger read again), so each sheet's extent is not
    measured again (≈ 7 µs a cell, a second or more for a 100,000-row ledger)."""
    if not data:
        raise ArchiveError("file.empty", "上传的文件是空的", "file", 422)
    kind = kind_of(data, filename)
    if kind == "csv":
        yield Sheet(filename.rsplit("/", 1)[-1] or "CSV", [], _csv_rows(data))
        return
    parts: dict[str, str] = {}
    if kind == "xlsx":
        check_xlsx_package(data)
        parts = sheet_parts(data)
    from python_calamine import CalamineWorkbook, SheetVisibleEnum

    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        names = [m.name for m in book.sheets_metadata if m.visible == SheetVisibleEnum.Visible]
    except Exception as e:  # Calamine's errors (zip, XML, OLE) all mean "not a workbook we can read"
        raise ArchiveError("file.type", f"无法读取 .{kind} 文件：{type(e).__name__}", "file", 422) from None
    for name in names:
        if kind == "xlsx" and not bounds_checked:
            check_extent(data, parts.get(name), name)
        try:
            sheet = book.get_sheet_by_name(name)
            merged = sheet.merged_cell_ranges or []
        except Exception as e:
            raise ArchiveError("file.type", f"无法读取工作表“{name}”：{type(e).__name__}", "file", 422) from None
        yield Sheet(name, list(merged), _calamine_rows(sheet))


def first_sheet_rows(data: bytes, filename: str, limit: int) -> list[tuple[Any, ...]]:
    """The first sheet's rows from row 1 (at most `limit`): what a template-shaped upload (register, 卷内目录,
    quotas) holds."""
    rows: list[tuple[Any, ...]] = []
    for sheet in sheets(data, filename):
        for number, cells in sheet.rows():
            rows.extend([()] * (number - 1 - len(rows)))  # rows Calamine skipped are empty rows
            rows.append(cells)
            if len(rows) >= limit:
                break
        break
    return rows


def check_xlsx_package(data: bytes) -> None:
    """Refuse a zip no spreadsheet program writes before any XML parser sees it: a DTD in any part, more
    parts or more bytes unpacked than a workbook of our size ever has."""
    from zipfile import ZipFile

    try:
        with ZipFile(io.BytesIO(data)) as z:
            entries = z.infolist()
            # No workbook Excel writes declares a DTD: one that does is refused before any parser sees it.
            declared = [e.filename for e in entries[:MAX_XLSX_ENTRIES] if e.filename.endswith((".xml", ".rels"))
                        and b"<!DOCTYPE" in z.open(e).read(4096).upper()]  # fmt: skip
    except Exception:  # not a zip, a damaged one (CRC, deflate), an unsupported compression
        raise ArchiveError("file.type", "无法读取 .xlsx 文件：不是有效的压缩包", "file", 422) from None
    if declared:
        raise ArchiveError("file.type", f"无法读取 .xlsx 文件：{declared[0]} 含文档类型声明（DTD）", "file", 422)
    unpacked = sum(e.file_size for e in entries)
    if len(entries) > MAX_XLSX_ENTRIES or unpacked > MAX_XLSX_UNPACKED:
        raise ArchiveError(
            "file.too_large",
            f".xlsx 解压后过大（{unpacked // (1024 * 1024)} MB，{len(entries)} 个部件），不是正常的表格",
            "file",
            413,
        )


@dataclass(frozen=True)
class Extent:
    """How far a sheet's cells reach: the farthest row and column holding a value (1-based)."""

    rows: int
    columns: int

    @property
    def corner(self) -> str:
        return f"{column_letters(self.columns)}{self.rows}"


def column_letters(n: int) -> str:
    letters = ""
    while n:
        n, r = divmod(n - 1, 26)
        letters = chr(65 + r) + letters
    return letters


def _column_number(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n


_RELATIONSHIP = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


def sheet_parts(data: bytes) -> dict[str, str]:
    """Each sheet's name → its zip entry, as xl/workbook.xml and its relations name them. Only a real .xlsx
    goes on to Calamine, which would open an .ods or .xlsb put in a .xlsx name as well, unbounded."""
    from xml.etree import ElementTree
    from zipfile import ZipFile

    not_xlsx = ArchiveError(
        "file.type", "无法读取 .xlsx 文件：不是 Excel 工作簿（请另存为 .xlsx 或 .csv）", "file", 422
    )
    with ZipFile(io.BytesIO(data)) as z:
        names = set(z.namelist())
        if "xl/workbook.xml" not in names or "xl/_rels/workbook.xml.rels" not in names:
            raise not_xlsx
        book, links = z.read("xl/workbook.xml"), z.read("xl/_rels/workbook.xml.rels")
    if b"<!DOCTYPE" in book.upper() or b"<!DOCTYPE" in links.upper():  # ElementTree would expand its entities
        raise ArchiveError("file.type", "无法读取 .xlsx 文件：工作簿含文档类型声明（DTD）", "file", 422)
    try:
        targets = {r.get("Id"): r.get("Target", "") for r in ElementTree.fromstring(links)}
        sheets = [e for e in ElementTree.fromstring(book).iter() if e.tag.endswith("}sheet")]
    except ElementTree.ParseError:
        raise not_xlsx from None
    parts = {}
    for sheet in sheets:
        target = targets.get(sheet.get(_RELATIONSHIP), "")
        part = target.lstrip("/") if target.startswith("/") else "xl/" + target
        while "/../" in part:
            head, _, tail = part.partition("/../")
            part = head.rsplit("/", 1)[0] + "/" + tail
        parts[sheet.get("name", "")] = part
    return parts


def check_extent(data: bytes, part: str | None, name: str) -> None:
    """Refuse a sheet whose cells reach beyond the bounds above, naming the far cell, before it is read."""
    from zipfile import ZipFile

    with ZipFile(io.BytesIO(data)) as z:
        if part is None or part not in z.namelist() or not part.endswith(".xml"):
            raise ArchiveError("file.type", f"无法读取工作表“{name}”：不是 Excel 的工作表", "file", 422)
        with z.open(part) as xml:
            extent = sheet_extent(xml, MAX_SHEET_ROWS)
    where = f"工作表“{name}”的内容延伸到单元格 {extent.corner}（第 {extent.rows} 行、第 {extent.columns} 列）"
    if extent.columns > MAX_COLUMNS:
        raise ArchiveError("file.too_wide", f"{where}，超过 {MAX_COLUMNS} 列；请删去多余的列后再上传", "file", 422)
    if extent.rows > MAX_SHEET_ROWS:
        message = f"{where}，超过 {MAX_SHEET_ROWS} 行；请删去多余的行或分批上传"
        raise ArchiveError("file.too_many_rows", message, "file", 422)
    if extent.rows * extent.columns > MAX_CELLS:
        message = f"{where}，共 {extent.rows * extent.columns} 个单元格，超过 {MAX_CELLS} 个；请删去多余的行列"
        raise ArchiveError("file.too_large", message, "file", 422)


# A row or cell start tag, with or without a namespace prefix (x:row, x:c); `<c\b` never matches <col> or <cols>.
_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(row|c)\b([^>]*)>")
_REF = re.compile(rb'\br="\$?([A-Z]{0,3})\$?(\d{0,7})"')


def sheet_extent(sheet: IO[bytes], row_limit: int) -> Extent:
    """How far a worksheet's cells reach: by their references, or the next position where a row or cell
    carries none — read 1 MB at a time and stopped as soon as it is past the bounds, so a sheet of millions of
    cells costs no more than its first few. Empty cells (`<c …/>`, a style without a value) are left out of
    what Calamine reads and are not counted."""
    rows = columns = 0
    row = column = 0
    for tag, attributes in _tags(sheet):
        if tag == b"row":
            ref = _REF.search(attributes)
            row = int(ref[2]) if ref and ref[2] else row + 1
            column = 0
            continue
        ref = _REF.search(attributes)  # a cell
        if ref and ref[1]:
            column = _column_number(ref[1])
            if ref[2]:
                row = int(ref[2])
        else:
            column += 1
        if attributes.rstrip().endswith(b"/"):
            continue  # no value: Calamine leaves it out
        rows, columns = max(rows, row), max(columns, column)
        if columns > MAX_COLUMNS or rows > row_limit or rows * columns > MAX_CELLS:
            break
    return Extent(rows, columns)


def _tags(sheet: IO[bytes]) -> Iterator[tuple[bytes, bytes]]:
    """Every row and cell start tag of a worksheet (no '<' appears inside a tag, so a chunk is cut at its
    last '<' and the rest carried over to the next)."""
    carried = b""
    while chunk := sheet.read(1 << 20):
        text = carried + chunk
        cut = text.rfind(b"<")
        text, carried = (text[:cut], text[cut:]) if cut >= 0 else (text, b"")
        for m in _TAG.finditer(text):
            yield m[1], m[2]
    for m in _TAG.finditer(carried):
        yield m[1], m[2]


def _calamine_rows(sheet: Any) -> Iterator[tuple[int, tuple[Any, ...]]]:
    # Calamine's rows start at the sheet's first row but at its first used column: put them back under A.
    skipped = (sheet.start or (0, 0))[1]
    pad = (None,) * skipped
    for index, row in enumerate(sheet.iter_rows()):
        cells = tuple([v if v.__class__ is str and v else cell(v) for v in row])  # most cells are text: as is
        if cells.count(None) < len(cells):
            yield index + 1, pad + cells


def cell(value: Any) -> Any:
    """Calamine's values as openpyxl gave them: an empty cell None, a whole number int, a date a datetime."""
    if value == "":
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime.combine(value, datetime.min.time())
    return value


def _csv_rows(data: bytes) -> Iterator[tuple[int, tuple[Any, ...]]]:
    text = csv_text(data)
    first = text.split("\n", 1)[0]
    # Rows copied from a spreadsheet and pasted on the page arrive tab-separated.
    delimiter = "\t" if "\t" in first and "," not in first else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        for number, row in enumerate(reader, start=1):
            cells = tuple(v if v.strip() else None for v in row)
            if any(v is not None for v in cells):
                yield number, cells
    except csv.Error as e:  # a cell over the csv module's field limit: a 500 on every import before
        if "field limit" in str(e):
            message = f"CSV 第 {reader.line_num} 行有单元格超过 {csv.field_size_limit()} 个字符"
            raise ArchiveError("file.cell_too_long", message, "file", 422) from None
        message = f"CSV 第 {reader.line_num} 行格式有误（引号未配对或含无效字符），请用 Excel 另存后再上传"
        raise ArchiveError("file.type", message, "file", 422) from None


def csv_rows(data: bytes, headers: Sequence[str], limit: int = 100000) -> list[tuple[int, dict[str, str]]]:
    """Rows of an upload that is only ever a CSV (a logger's readings, projections) keyed by header, as text,
    with their line numbers; a row shorter than the header reads as empty cells (not None, a 500 later)."""
    rows = list(islice(_csv_rows(data), limit + 2))
    header = [str(h or "").strip() for h in rows[0][1]] if rows else []
    missing = [h for h in headers if h not in header]
    if missing:
        raise ArchiveError("file.headers", f"缺少列：{'、'.join(missing)}（表头应为 {','.join(headers)}）", "file", 422)
    if len(rows) > limit + 1:
        raise ArchiveError("file.too_many_rows", f"一次最多导入 {limit} 行，本文件超过此数", "file", 422)
    if len(rows) < 2:
        raise ArchiveError("file.empty", "文件中没有数据行", "file", 422)
    index = {h: header.index(h) for h in headers}
    return [(n, {h: str(cells[i] or "") if i < len(cells) else "" for h, i in index.items()}) for n, cells in rows[1:]]


# ---- writing: what every .xlsx the service writes shares ---------------------------------------------
# Columns wide enough for what they hold (openpyxl writes none, so Excel opens every column at 8.43
# characters and a 档号 or a Chinese header shows as ####), and columns people type long numbers into kept
# as text (typed into a General cell, 18 digits become 1.10102E+17).

MIN_WIDTH, MAX_WIDTH = 6, 60
TEXT = "@"  # Excel's 文本 number format


def shown_width(value: Any) -> int:
    """Characters Excel needs for a value: a CJK character is two, the longest line of a wrapped cell counts."""
    if value is None:
        return 0
    text = value.strftime("%Y-%m-%d") if hasattr(value, "strftime") else str(value)
    return max(
        (sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line) for line in text.splitlines()),
        default=0,
    )


def fit_columns(sheet: Any, rows: int = 2000, header_row: int = 1) -> None:
    """Each column as wide as its widest cell (among the first `rows` rows; the header counts, the title
    lines above it do not: a title runs on over the next cells), within bounds."""
    from openpyxl.cell.cell import MergedCell
    from openpyxl.utils import get_column_letter

    widths: dict[int, int] = {}
    for row in sheet.iter_rows(min_row=header_row, max_row=min(sheet.max_row, rows)):
        for cell in row:
            if cell.value is not None and not isinstance(cell, MergedCell):  # a merged title spans columns
                widths[cell.column] = max(widths.get(cell.column, 0), shown_width(cell.value))
    for column, width in widths.items():
        sheet.column_dimensions[get_column_letter(column)].width = min(MAX_WIDTH, max(MIN_WIDTH, width + 2))


def workbook_bytes(book: Any) -> bytes:
    """Every .xlsx the service writes, as its bytes. A cell openpyxl took for a formula (text beginning with
    "=") is written as the text it is: what we export — names, titles, details people typed — is data, and a
    retiree named =HYPERLINK(…) or a display name =cmd|… must not run in the agency's or auditor's Excel. The
    service writes no formulas of its own. A write-only book cannot be read back: its writer appends text cells
    (as the holdings import's rejected rows do)."""
    for sheet in [] if book.write_only else book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    cell.data_type = "s"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def fit_every_sheet(book: Any, header_row: int = 1) -> None:
    for sheet in book.worksheets:
        fit_columns(sheet, header_row=header_row)


def text_column(sheet: Any, column: int, first_row: int, last_row: int) -> None:
    """Cells of a column people fill in themselves formatted as text, so that Excel keeps what is typed."""
    from openpyxl.utils import get_column_letter

    sheet.column_dimensions[get_column_letter(column)].number_format = TEXT
    for (cell,) in sheet.iter_rows(min_row=first_row, max_row=last_row, min_col=column, max_col=column):
        cell.number_format = TEXT
