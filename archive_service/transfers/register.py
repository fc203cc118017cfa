"""The enterprise's handover register (档案移交名册): its columns, the downloadable template, and
reading an uploaded .xlsx or .csv into rows checked cell by cell. Rules that need the database
(already held, area of the receiving bureau) are in intake.py; this module knows only the sheet.
"""

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from archive_service import workbooks
from archive_service.uploads import cell_text
from archive_service.values import (
    SecrecyLevel,
    ValueRuleError,
    check_archival_code,
    check_citizen_id,
    check_citizen_id_agrees,
    check_region_code,
    check_visible,
    read_secrecy,
)
from archive_service.workbooks import TEXT, fit_columns, text_column, workbook_bytes

MAX_ROWS = 20000


@dataclass(frozen=True)
class Column:
    header: str
    key: str
    required: bool
    hint: str


COLUMNS = (
    Column("序号", "row_no", True, "1, 2, 3 …"),
    Column("姓名", "name", True, ""),
    Column("性别", "sex", True, "男 / 女"),
    Column("公民身份号码", "citizen_id", True, "18 位"),
    Column("出生日期", "birth_date", True, "1960-05-01"),
    Column("退休时间", "retirement_date", True, "2020-05-01：办理退休手续的日期；尚未退休的不予移交"),
    Column("户籍地区划代码", "hukou_region_code", True, "6 位，如 110102"),
    Column("居住地区划代码", "residence_region_code", True, "6 位"),
    Column("档号", "archival_code", False, "可空，由接收馆编制"),
    Column("卷数", "volumes", True, "≥ 1"),
    Column("页数", "pages", True, "≥ 1"),
    Column("材料份数", "materials", True, "≥ 1"),
    Column("缺失材料", "missing_materials", False, "缺什么材料"),
    Column("缺失材料证明", "missing_certificate", False, "是 / 否：已附证明材料"),
    Column("领导人员", "leader_cadre", False, "是 / 否"),
    Column("涉密", "secrecy", False, "否 / 秘密 / 机密 / 绝密（密级）；是：涉密而密级未定"),
    Column("死亡日期", "deceased_date", False, "移交前已死亡者填写"),
    Column("参加工作时间", "work_start_date", False, "1978-09-01，档案记载的参加工作时间（核定工龄的依据）"),
    Column("离休", "lixiu", False, "是 / 否：离休人员原则上保持现行管理渠道；接收馆设置接收时方可移交"),
    Column("参保地区划代码", "insured_region_code", False, "6 位：养老保险参保地；按参保地接收的馆必填"),
)
HEADERS = tuple(c.header for c in COLUMNS)
# Columns added after registers were first issued (2026-12): a register made with the earlier template,
# without them, is still read (blank: 参加工作时间 and 参保地 unknown, not 离休).
LATER_COLUMNS = frozenset({"参加工作时间", "离休", "参保地区划代码"})


@dataclass(frozen=True)
class Problem:
    row: int  # the sheet's row number (header = 1)
    column: str  # the column's header
    code: str
    message: str
    name: str = ""  # the row's 姓名 as written, so that the clerk and the enterprise find the person

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "name": self.name, "column": self.column, "code": self.code, "message": self.message}


@dataclass(frozen=True)
class RegisterRow:
    line: int
    row_no: int
    name: str
    sex: str
    citizen_id: str
    birth_date: date
    retirement_date: date
    hukou_region_code: str
    residence_region_code: str
    archival_code: str | None
    volumes: int
    pages: int
    materials: int
    missing_materials: str
    missing_certificate: bool
    leader_cadre: bool
    secrecy: SecrecyLevel
    deceased_date: date | None
    work_start_date: date | None = None
    lixiu: bool = False
    insured_region_code: str | None = None


EXAMPLE = "示例"  # 序号 of the template's example row: such a row is never read as a retiree


def template_xlsx() -> bytes:
    """An empty register with the Chinese headers and one example row, marked 示例 (ignored on upload)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = "档案移交名册"
    sheet.append(list(HEADERS))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    example = [
        EXAMPLE, "张三", "男", "110102196005010015", "1960-05-01", "2020-05-01", "110102", "110102", "",
        1, 86, 32, "", "否", "否", "否", "", "1978-09-01", "否", "110102",
    ]  # fmt: skip
    sheet.append(example)
    # Codes are text: typed into a General cell, Excel keeps 15 digits of an ID and shows 1.10102E+17.
    for header in TEXT_COLUMNS:
        text_column(sheet, HEADERS.index(header) + 1, 2, TEMPLATE_ROWS)
    fit_columns(sheet)
    notes = book.create_sheet("填写说明")
    for c in COLUMNS:
        notes.append([c.header, "必填" if c.required else "选填", c.hint])
    fit_columns(notes)
    return workbook_bytes(book)


TEXT_COLUMNS = ("序号", "公民身份号码", "户籍地区划代码", "居住地区划代码", "档号", "参保地区划代码")
TEMPLATE_ROWS = 5001  # rows of the template formatted as text (an intake is a few hundred files)


def marked_register(data: bytes, filename: str, problems: list[dict[str, Any]]) -> bytes:
    """The register as uploaded, to send back to the enterprise: every cell as it was written (as text, so
    an ID stays 18 digits), each cell with a problem filled red with the problem as its comment, a 问题
    column at the end, and a sheet listing the problems. Read back, the 问题 column is ignored."""
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Font, PatternFill

    rows = workbooks.first_sheet_rows(data, filename, MAX_ROWS + 2)
    header = [cell_text(h) for h in rows[0]] if rows else list(HEADERS)
    by_row: dict[int, list[dict[str, Any]]] = {}
    for p in problems:
        by_row.setdefault(int(p["row"]), []).append(p)
    book = Workbook()
    sheet = book.active
    sheet.title = "档案移交名册"
    sheet.append([*header, PROBLEM_COLUMN])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    red, pink = Font(color="9C0006"), PatternFill("solid", fgColor="FFC7CE")
    for line, values in enumerate(rows[1:], start=2):
        found = by_row.get(line, [])
        cells = [cell_text(v) for v in values] + [""] * (len(header) - len(values))
        sheet.append([*cells, "；".join(f"{p['column']}：{p['message']}" for p in found)])
        for p in found:
            column = header.index(p["column"]) + 1 if p["column"] in header else len(header) + 1
            cell = sheet.cell(line, column)
            cell.fill, cell.font = pink, red
            note = f"{p['column']}：{p['message']}"
            cell.comment = Comment(note if cell.comment is None else f"{cell.comment.text}\n{note}", "档案馆")
        if found:
            sheet.cell(line, len(header) + 1).font = red
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            cell.number_format = TEXT
    sheet.freeze_panes = "A2"
    fit_columns(sheet)
    listing = book.create_sheet("问题清单")
    listing.append(["行", "姓名", "列", "问题"])
    for cell in listing[1]:
        cell.font = Font(bold=True)
    for p in problems:
        listing.append([p["row"], p.get("name", ""), p["column"], p["message"]])
    fit_columns(listing)
    return workbook_bytes(book)


PROBLEM_COLUMN = "问题（档案馆校验）"


def read_sheet(
    data: bytes, filename: str, headers: tuple[str, ...] = HEADERS, what: str = "名册"
) -> list[tuple[int, dict[str, Any]]]:
    """Rows of an uploaded sheet (the register, or another workbook with `headers`) keyed by header,
    with their sheet row numbers. The first sheet, read by the shared reader (`workbooks`)."""
    from archive_service.errors import ArchiveError

    rows = workbooks.first_sheet_rows(data, filename, MAX_ROWS + 2)
    if not rows:
        raise ArchiveError("file.empty", f"{what}没有表头", "file", 422)
    header = [str(h).strip() if h is not None else "" for h in rows[0]]
    missing = [h for h in headers if h not in header and h not in LATER_COLUMNS]
    if missing:
        raise ArchiveError("file.headers", f"{what}缺少列：{'、'.join(missing)}（请使用下载的{what}模板）", "file", 422)
    body = [
        (n, r)
        for n, r in enumerate(rows[1:], start=2)
        if any(v not in (None, "") for v in r) and not str(r[0] or "").strip().startswith(EXAMPLE)
    ]  # blank rows and the template's example row are not data
    if not body:
        raise ArchiveError("file.no_rows", f"{what}中没有数据行", "file", 422)
    if len(body) > MAX_ROWS:
        raise ArchiveError("file.too_many_rows", f"一个批次最多 {MAX_ROWS} 行，本表超过此数", "file", 422)
    index = {h: header.index(h) for h in headers if h in header}
    return [(n, {h: (r[i] if i < len(r) else None) for h, i in index.items()}) for n, r in body]


# ---- one row, cell by cell --------------------------------------------------------------------

YES = {"是", "有", "y", "yes", "true", "1", "√"}
NO = {"否", "无", "n", "no", "false", "0", ""}


def _date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = cell_text(value)
    # 1960-05-01, 1960.5.1, 1960年5月1日 or 19600501: without separators only 8 digits (1978.13 is no date).
    m = re.fullmatch(r"(\d{4})(?:[-/.年](\d{1,2})[-/.月](\d{1,2})日?|(\d{2})(\d{2}))", text)
    if not m:
        raise ValueRuleError("date.format", f"“{text}”不是日期，应如 1960-05-01")
    try:
        return date(int(m[1]), int(m[2] or m[4]), int(m[3] or m[5]))
    except ValueError:
        raise ValueRuleError("date.invalid", f"“{text}”不是有效日期") from None


def _count(value: Any) -> int:
    text = cell_text(value)
    if not re.fullmatch(r"\d{1,6}", text) or int(text) < 1:
        raise ValueRuleError("count.positive", f"应为不小于 1 的整数，实为“{text}”")
    return int(text)


def _flag(value: Any) -> bool:
    text = cell_text(value).lower()
    if text in YES:
        return True
    if text in NO:
        return False
    raise ValueRuleError("flag.format", f"应填“是”或“否”，实为“{text}”")


def _secrecy(value: Any) -> SecrecyLevel:
    """The 涉密 column: a 密级 (秘密, 机密, 绝密), or yes / no as the column first asked (yes: level not given)."""
    text = cell_text(value)
    if text.lower() in YES:
        return SecrecyLevel.unrated
    if text.lower() in NO:
        return SecrecyLevel.none
    return read_secrecy(text)


def check_row(line: int, cells: dict[str, Any]) -> tuple[RegisterRow | None, list[Problem], dict[str, Any]]:
    """Every problem of one row at once, each with its column; the row only when it has none, and the
    cells that did parse (so the rules across rows and against the database still see them)."""
    problems: list[Problem] = []
    values: dict[str, Any] = {}

    def cell(header: str, parse, key: str, required: bool) -> None:
        raw = cells.get(header)
        try:
            check_visible(raw if isinstance(raw, str) else "")
        except ValueRuleError as e:
            problems.append(Problem(line, header, e.code, e.message))
            values[key] = None
            return
        if cell_text(raw) == "":
            if required:
                problems.append(Problem(line, header, f"{key}.required", f"“{header}”必填"))
            values[key] = False if parse is _flag else SecrecyLevel.none if parse is _secrecy else None
            return
        try:
            values[key] = parse(raw)
        except ValueRuleError as e:
            problems.append(Problem(line, header, e.code, e.message))

    parsers = {
        "row_no": _count,
        "name": lambda v: _name(cell_text(v)),
        "sex": lambda v: _sex(cell_text(v)),
        "citizen_id": _citizen_id,
        "birth_date": _date,
        "retirement_date": _date,
        "hukou_region_code": lambda v: check_region_code(cell_text(v)),
        "residence_region_code": lambda v: check_region_code(cell_text(v)),
        "insured_region_code": lambda v: check_region_code(cell_text(v)),
        "archival_code": lambda v: check_archival_code(cell_text(v)),
        "volumes": _count,
        "pages": _count,
        "materials": _count,
        "missing_materials": lambda v: cell_text(v)[:500],
        "missing_certificate": _flag,
        "leader_cadre": _flag,
        "secrecy": _secrecy,
        "deceased_date": _date,
        "work_start_date": _date,
        "lixiu": _flag,
    }
    for c in COLUMNS:
        cell(c.header, parsers[c.key], c.key, c.required)
    if values.get("citizen_id") and (values.get("birth_date") or values.get("sex")):
        try:
            check_citizen_id_agrees(values["citizen_id"], values.get("birth_date"), values.get("sex"))
        except ValueRuleError as e:
            column = "出生日期" if "birth_date" in e.code else "性别"
            problems.append(Problem(line, column, e.code, e.message))
    if values.get("missing_materials") and not values.get("missing_certificate"):
        # 001 第九条(一): missing materials travel with a certificate explaining them.
        problems.append(
            Problem(line, "缺失材料证明", "missing_materials.certificate", "有缺失材料的，须随档附缺失材料证明")
        )
    if values.get("leader_cadre"):
        problems.append(
            Problem(line, "领导人员", "retiree.leader_cadre", "领导人员档案由组织部门管理，不移交档案馆（不予接收）")
        )
    start, born = values.get("work_start_date"), values.get("birth_date")
    if start and born and (start.year - born.year) * 12 + start.month - born.month < 14 * 12:
        problems.append(
            Problem(
                line,
                "参加工作时间",
                "work_start_date.too_early",
                "参加工作时间早于 14 周岁，请核对（可能填成了出生日期）",
            )
        )
    if values.get("deceased_date"):
        problems.append(Problem(line, "死亡日期", "retiree.deceased", "移交前已死亡人员的档案由原企业保管，不予移交"))
    if problems:
        return None, problems, values
    return RegisterRow(line=line, **values), [], values


def _citizen_id(value: Any) -> str:
    """A number in the ID column is Excel's doing: it keeps 15 digits (1.10102E+17) and the rest become 0,
    so the cause is named instead of a check digit that only follows from it."""
    text = cell_text(value)
    if (isinstance(value, int | float) and not isinstance(value, bool)) or re.fullmatch(r"\d(\.\d+)?[eE]\+?\d+", text):
        shown = text if isinstance(value, str) else f"{float(value):.5E}"  # as Excel shows it: 1.10102E+17
        raise ValueRuleError(
            "citizen_id.stored_as_number",
            f"公民身份号码被 Excel 存成了数字（{shown}），后几位已丢失：请把该列设为“文本”格式后重新录入号码"
            "（下载的名册模板中该列已是文本格式）",
        )
    return check_citizen_id(text)


def _name(text: str) -> str:
    if not 1 <= len(text) <= 50:
        raise ValueRuleError("name.length", "姓名应为 1–50 个字")
    return text


def _sex(text: str) -> str:
    sexes = {"男": "M", "女": "F", "M": "M", "F": "F"}
    if text.upper() not in sexes and text not in sexes:
        raise ValueRuleError("sex.format", f"性别应填“男”或“女”，实为“{text}”")
    return sexes.get(text, sexes.get(text.upper(), "M"))
