"""An old ledger (电子台账) as bureaus kept it: where its header row is and which column holds which field —
the fields a ledger may hold, the words its headers name them by, a two-row header under a merged group.
A cell's value is read in ledger_cells.py, a whole row in ledger_rows.py; what needs the database
(enterprises, shelves, files already held) is checked in checking.py.
"""

import hashlib
from dataclasses import dataclass
from typing import Any

from archive_service.holdings.ledger_cells import as_compared
from archive_service.uploads import cell_text


@dataclass(frozen=True)
class Field:
    label: str  # the name the page and the problem list use
    words: tuple[str, ...]  # header words that name it, most specific first


FIELDS: dict[str, Field] = {
    "archival_code": Field("档号", ("原档号", "档号", "档案号", "档案编号", "卷宗号")),
    "name": Field("姓名", ("姓名", "职工姓名", "人员姓名", "名字")),
    "sex": Field("性别", ("性别",)),
    "birth_date": Field("出生日期", ("出生日期", "出生年月日", "出生年月", "出生时间", "生日")),
    "citizen_id": Field(
        "公民身份号码", ("公民身份号码", "身份证号码", "公民身份证号", "身份证号", "身份号码", "证件号码", "身份证")
    ),
    "former_employer": Field("原工作单位", ("原工作单位", "工作单位", "原单位", "退休单位")),
    "enterprise": Field("所属企业", ("所属企业", "企业名称", "所属单位", "移交单位", "企业")),
    "credit_code": Field("统一社会信用代码", ("统一社会信用代码", "社会信用代码", "信用代码")),
    "volumes": Field("卷数", ("卷数",)),
    "pages": Field("页数", ("页数",)),
    "entered_on": Field("入馆日期", ("入馆日期", "入馆时间", "进馆日期", "接收日期", "接收时间", "入库日期")),
    "location": Field("存放位置", ("存放位置", "存放地点", "存放处", "架位", "库位", "位置")),
    "room": Field("库房", ("库房名称", "库房", "库室")),
    "unit": Field("排", ("排号", "密集架", "排", "架号")),
    "column": Field("列", ("列号", "列")),
    "side": Field("面", ("面",)),
    "layer": Field("层", ("层号", "层")),
    "section": Field("格", ("格号", "格", "节号", "节")),
    "secrecy": Field("密级", ("密级", "涉密")),
    "remarks": Field("备注", ("备注", "说明")),
    # A street or entrusted custodian that keeps the file for the bureau (西人社发〔2020〕14号 七(二): 现存的…档案
    # 暂由各街道管理): the file is the bureau's, status 馆外保管 (dossiers/held_elsewhere.py).
    "holder": Field("保管单位", ("保管单位", "代管单位", "保管街道")),
    "hukou_region_code": Field("户籍地区划代码", ("户籍地区划代码", "户籍地代码")),
    "residence_region_code": Field("居住地区划代码", ("居住地区划代码", "居住地代码")),
}
LOCATION_PARTS = ("room", "unit", "column", "side", "layer", "section")
HEADER_SEARCH_ROWS = 30  # a ledger's title, date and notes stand above its header, never this many rows


def field_of(header: str) -> str | None:
    """The field a header names: its whole text, else the longest field word it contains."""
    text = as_compared(header)
    if not text:
        return None
    for key, f in FIELDS.items():
        if text in f.words:
            return key
    best: tuple[int, str] | None = None
    for key, f in FIELDS.items():
        for word in f.words:
            # One-character words (排, 列, 层, 格, 面) name a column only alone: 列 is in 排列顺序 too.
            if len(word) > 1 and word in text and (best is None or len(word) > best[0]):
                best = (len(word), key)
    return best[1] if best else None


# ---- the header ---------------------------------------------------------------------------------


@dataclass
class Header:
    row: int  # the sheet row of the header (the lower one of a two-row header)
    columns: list[str]  # each column's header text, as shown ("存放位置/排" for a two-row header)
    proposed: dict[str, int]  # field → column index

    @property
    def shape(self) -> str:
        """What makes two sheets "the same shape": their header texts in column order."""
        return hashlib.sha256("\x1f".join(as_compared(c) for c in self.columns).encode()).hexdigest()


def _texts(cells: tuple[Any, ...], merged_fill: dict[int, str]) -> list[str]:
    return [cell_text(c) if cell_text(c) else merged_fill.get(i, "") for i, c in enumerate(cells)]


def find_header(
    first_rows: list[tuple[int, tuple[Any, ...]]], merged: list[tuple[tuple[int, int], tuple[int, int]]]
) -> Header | None:
    """The header among the first rows: the row naming the most fields (at least 姓名 and two more). Titles
    and dates above it are skipped; a merged cell over two columns names both; a second header row under
    a merged group (存放位置 over 库房 排 列 层 格) is read into the columns it names."""
    best: tuple[int, int] | None = None  # (score, index)
    for index, (_, cells) in enumerate(first_rows[:HEADER_SEARCH_ROWS]):
        found = {field_of(cell_text(c)) for c in cells} - {None}
        if "name" in found and len(found) >= 3 and (best is None or len(found) > best[0]):
            best = (len(found), index)
    if best is None:
        return None
    index = best[1]
    number, cells = first_rows[index]
    fill: dict[int, str] = {}
    for (r0, c0), (r1, c1) in merged:  # a merged header cell's text stands in its first cell only
        if r0 <= number - 1 <= r1 and c1 > c0:
            text = cell_text(cells[c0]) if c0 < len(cells) else ""
            fill.update({c: text for c in range(c0 + 1, c1 + 1)})
    columns = _texts(cells, fill)
    if index + 1 < len(first_rows) and first_rows[index + 1][0] == number + 1:
        below = [cell_text(c) for c in first_rows[index + 1][1]]
        named = [field_of(t) for t in below if t]
        if named and all(f in LOCATION_PARTS or f is not None for f in named) and len(named) >= 2:
            width = max(len(columns), len(below))
            columns += [""] * (width - len(columns))
            for i, text in enumerate(below):
                if text:
                    columns[i] = f"{columns[i]}/{text}" if columns[i] and columns[i] != text else text
            number += 1
    proposed: dict[str, int] = {}
    for i, text in enumerate(columns):
        key = field_of(text.rsplit("/", 1)[-1]) or field_of(text)
        if key and key not in proposed:
            proposed[key] = i
    while columns and not columns[-1]:
        columns.pop()
    return Header(number, columns, proposed)


def mapping_problems(mapping: dict[str, int], room_given: bool) -> list[str]:
    """What a mapping lacks to read a file from a row, in words for the page."""
    missing = []
    if "name" not in mapping:
        missing.append("姓名")
    if "enterprise" not in mapping and "former_employer" not in mapping and "credit_code" not in mapping:
        missing.append("所属企业或原工作单位")
    if "citizen_id" not in mapping and "birth_date" not in mapping:
        missing.append("公民身份号码或出生日期")
    parts = [p for p in ("unit", "column", "layer") if p in mapping]
    if parts and len(parts) < 3:
        missing.append("排、列、层须一起对应")
    if parts and "room" not in mapping and not room_given:
        missing.append("库房（或填写本表的库房）")
    return missing
