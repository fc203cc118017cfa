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
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from archive_service.errors import ArchiveError
from archive_service.uploads import csv_text

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


def sheets(data: bytes, filename: str) -> Iterator[Sheet]:
    """Every sheet of the upload, in workbook order (a CSV is one sheet, named after the file). Hidden
    sheets are skipped: nobody sees what they hold, so nobody checked it."""
    if not data:
        raise ArchiveError("file.empty", "上传的文件是空的", "file", 422)
    kind = kind_of(data, filename)
    if kind == "csv":
        yield Sheet(filename.rsplit("/", 1)[-1] or "CSV", [], _csv_rows(data))
        return
    if kind == "xlsx":
        check_xlsx_package(data)
    from python_calamine import CalamineWorkbook, SheetVisibleEnum

    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        names = [m.name for m in book.sheets_metadata if m.visible == SheetVisibleEnum.Visible]
    except Exception as e:  # Calamine's errors (zip, XML, OLE) all mean "not a workbook we can read"
        raise ArchiveError("file.type", f"无法读取 .{kind} 文件：{type(e).__name__}", "file", 422) from None
    for name in names:
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


def _calamine_rows(sheet: Any) -> Iterator[tuple[int, tuple[Any, ...]]]:
    # Calamine's rows start at the sheet's first row but at its first used column: put them back under A.
    skipped = (sheet.start or (0, 0))[1]
    pad = (None,) * skipped
    for index, row in enumerate(sheet.iter_rows()):
        cells = tuple(cell(v) for v in row)
        if any(v is not None for v in cells):
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
    try:
        for number, row in enumerate(csv.reader(io.StringIO(text), delimiter=delimiter), start=1):
            cells = tuple(v if v.strip() else None for v in row)
            if any(v is not None for v in cells):
                yield number, cells
    except csv.Error:  # a cell over the csv module's field limit (131,072 characters), a stray NUL
        message = "CSV 文件格式有误（单元格过长或含无效字符），请用 Excel 另存后再上传"
        raise ArchiveError("file.type", message, "file", 422) from None


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


def fit_columns(sheet: Any, rows: int = 2000) -> None:
    """Each column as wide as its widest cell (among the first `rows` rows; a header counts), within bounds."""
    from openpyxl.cell.cell import MergedCell
    from openpyxl.utils import get_column_letter

    widths: dict[int, int] = {}
    for row in sheet.iter_rows(max_row=min(sheet.max_row, rows)):
        for cell in row:
            if cell.value is not None and not isinstance(cell, MergedCell):  # a merged title spans columns
                widths[cell.column] = max(widths.get(cell.column, 0), shown_width(cell.value))
    for column, width in widths.items():
        sheet.column_dimensions[get_column_letter(column)].width = min(MAX_WIDTH, max(MIN_WIDTH, width + 2))


def fit_every_sheet(book: Any) -> None:
    for sheet in book.worksheets:
        fit_columns(sheet)


def text_column(sheet: Any, column: int, first_row: int, last_row: int) -> None:
    """Cells of a column people fill in themselves formatted as text, so that Excel keeps what is typed."""
    from openpyxl.utils import get_column_letter

    sheet.column_dimensions[get_column_letter(column)].number_format = TEXT
    for (cell,) in sheet.iter_rows(min_row=first_row, max_row=last_row, min_col=column, max_col=column):
        cell.number_format = TEXT
