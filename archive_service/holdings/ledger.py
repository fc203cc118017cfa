"""An old ledger (电子台账) as bureaus kept it: where its header row is, which column holds which field, and
each row read cell by cell the way such ledgers write things — a 15-digit ID, 1957.6, 57年6月, 一九五七年六月,
"一号库房 3排2列4层5格". Knows only the sheet; what needs the database (enterprises, shelves, files already
held) is in service.py.
"""

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from archive_service.uploads import cell_text
from archive_service.values import (
    CitizenIdFacts,
    SecrecyLevel,
    ValueRuleError,
    check_citizen_id,
    check_credit_code,
    check_region_code,
    check_visible,
    citizen_id_facts,
    has_invisible,
    read_secrecy,
    upgrade_citizen_id,
)
from digitise.facts import CN_DIGITS, CN_NUM, cn_number


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


# Patterns compiled once: each is used on every row of a 100,000-row ledger (re's own cache costs a lookup).
_NOT_COMPARED = re.compile(r"[\s*:：（）()\[\]【】、/\\·.-]+")
_CN_NUMBER = re.compile(rf"[{CN_NUM}]+")
_CN_PLACE_NUMBER = re.compile(rf"[{CN_NUM}两]+")
_LEADING_ZEROS = re.compile(r"(?<!\d)0+(?=\d)")
_DATE_DIGITS = re.compile(r"(\d{4})(\d{2})(\d{2})")
_DATE_WRITTEN = re.compile(r"(\d{4}|\d{2})(?:[.\-/年](\d{1,2})(?:[.\-/月](\d{1,2})日?)?月?)?年?")
_SPACES = re.compile(r"\s+")
_FIFTEEN_DIGITS = re.compile(r"\d{15}")


def _normal(text: str) -> str:
    """A header or name as compared: no spaces, line breaks, brackets' contents' punctuation or stars."""
    return _NOT_COMPARED.sub("", text)


def field_of(header: str) -> str | None:
    """The field a header names: its whole text, else the longest field word it contains."""
    text = _normal(header)
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
        return hashlib.sha256("\x1f".join(_normal(c) for c in self.columns).encode()).hexdigest()


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


# ---- cells as old ledgers write them --------------------------------------------------------------


def _digits(text: str) -> str:
    """一九五七 → 1957 (digit by digit), 十二 → 12 (as a number)."""
    if all(c in CN_DIGITS for c in text):
        return "".join(str(CN_DIGITS[c]) for c in text)
    return str(cn_number(text))


@dataclass(frozen=True)
class LedgerDate:
    year: int
    month: int | None
    day: int | None

    @property
    def first_day(self) -> date:
        return date(self.year, self.month or 1, self.day or 1)

    @property
    def written(self) -> str:
        return ".".join(str(p) for p in (self.year, self.month, self.day) if p)


def ledger_date(value: Any, *, latest: date) -> LedgerDate:
    """1957-06-15, 1957.6.15, 1957/6, 1957.6, 19570615, 1957年6月, 57年6月, 57.6, 一九五七年六月十五日. A
    two-digit year is the latest year ending so that is not after `latest` (a birth date's 57 is 1957)."""
    if isinstance(value, datetime | date):
        return LedgerDate(value.year, value.month, value.day)
    text = cell_text(value).replace(" ", "")
    if not text.isascii():
        text = _CN_NUMBER.sub(lambda m: _digits(m[0]), text)
    m = _DATE_DIGITS.fullmatch(text) or _DATE_WRITTEN.fullmatch(text)
    if not m:
        raise ValueRuleError("date.format", f"“{cell_text(value)}”不是日期，应如 1957.6.15、1957.6、57年6月")
    year = int(m[1])
    if len(m[1]) == 2:
        year += 2000 if 2000 + year <= latest.year else 1900
    month, day = (int(m[2]) if m[2] else None), (int(m[3]) if m[3] else None)
    try:
        found = LedgerDate(year, month, day)
        date(year, month or 1, day or 1)
    except ValueError:
        raise ValueRuleError("date.invalid", f"“{cell_text(value)}”不是有效日期") from None
    if found.first_day > latest or year < 1880:
        raise ValueRuleError("date.range", f"“{cell_text(value)}”超出合理范围")
    return found


@dataclass(frozen=True)
class IdReading:
    citizen_id: str | None  # 18 characters, checked; None when missing or unreadable
    written: str  # as the ledger has it ("" when empty)
    upgraded: bool = False  # a 15-digit first-generation number, given its 18-digit form
    note: str = ""  # why it could not be read


def read_citizen_id(value: Any) -> IdReading:
    """An ID as ledgers hold it: 18 characters; a 15-digit first-generation number (before 1999), upgraded
    with its check character; empty; or unreadable (kept as written, to be completed)."""
    if isinstance(value, float) and not value.is_integer():
        return IdReading(None, cell_text(value), note="公民身份号码被存为数字，无法识别")
    if isinstance(value, int | float) and int(value) >= 10**16:
        # Excel keeps 15 significant digits: an 18-digit number typed into a number cell lost its last ones.
        return IdReading(None, cell_text(value), note="公民身份号码被 Excel 存为数字，末几位已丢失")
    written = cell_text(value)
    text = written.upper() if written.isalnum() else _SPACES.sub("", written).upper()
    if not text:
        return IdReading(None, "")
    try:
        if _FIFTEEN_DIGITS.fullmatch(text):
            return IdReading(upgrade_citizen_id(text), written, upgraded=True)
        return IdReading(check_citizen_id(text), written)
    except ValueRuleError as e:
        return IdReading(None, written, note=e.message)


SEXES = {"男": "M", "女": "F", "M": "M", "F": "F", "1": "M", "2": "F"}  # 1/2: GB/T 2261.1


@dataclass(frozen=True)
class Location:
    room: str
    unit: str
    column: int
    side: int  # 1 = A面, 2 = B面
    section: int  # 格 / 节
    layer: int

    @property
    def written(self) -> str:
        face = "AB"[self.side - 1] + "面" if self.side == 2 else ""
        return f"{self.room} {self.unit}排{self.column}列{face}{self.layer}层{self.section}格"


# A unit's code may carry letters (A02排, 密集架 B3架); columns, sections and layers are numbers.
_NUMBER = rf"\d+|[{CN_NUM}两]+"
_PART = re.compile(rf"([A-Za-z]{{0,3}}\d+|[{CN_NUM}两]+)\s*(排|架)|({_NUMBER})\s*(列|节|格|层)|([ABab甲乙])\s*面")
_PART_KEY = {"排": "unit", "架": "unit", "列": "column", "节": "section", "格": "section", "层": "layer"}


def read_location(text: str) -> Location:
    """ "一号库房 3排2列4层5格", "二号库房3架12列B面2节5层": the room is the text before the first part."""
    parts: dict[str, str] = {}
    first = None
    for m in _PART.finditer(text):
        first = m.start() if first is None else first
        if m[5]:
            parts["side"] = m[5]
        elif m[1]:
            parts["unit"] = m[1].replace("两", "二")
        else:
            parts[_PART_KEY[m[4]]] = m[3].replace("两", "二")
    room = text[:first].strip() if first is not None else ""
    return location_from(room, *(parts.get(k, "") for k in ("unit", "column", "side", "layer", "section")))


def _number(text: str, what: str) -> int:
    if text.isascii() and text.isdigit():
        number = int(text)
    else:
        digits = text.rstrip("排架列层格节号")
        digits = _digits(digits) if digits and all(c in CN_NUM + "两" for c in digits) else digits
        number = int(digits) if digits.isascii() and digits.isdigit() else 0
    if not 1 <= number <= 9999:
        raise ValueRuleError("location.number", f"{what}应为正整数，实为“{text}”")
    return number


UNIT_NUMBER = re.compile(r"[\d一二三四五六七八九十〇零两]+[排架号]?")


def location_from(room: str, unit: str, column: str, side: str, layer: str, section: str) -> Location:
    """A location from its parts as written (five columns, or read from one text); 格 may be left out (1),
    面 too (A)."""
    missing = [w for w, v in (("库房", room), ("排", unit), ("列", column), ("层", layer)) if not v]
    if missing:
        raise ValueRuleError("location.incomplete", f"存放位置不完整：缺{'、'.join(missing)}")
    face = side.upper().rstrip("面")
    if face not in ("", "A", "B", "甲", "乙", "1", "2"):
        raise ValueRuleError("location.side", f"面应为 A 或 B，实为“{side}”")
    return Location(
        room=room,
        unit=str(_number(unit, "排号")) if UNIT_NUMBER.fullmatch(unit) else unit.rstrip("排架"),
        column=_number(column, "列号"),
        side=2 if face in ("B", "乙", "2") else 1,
        section=_number(section, "格号") if section else 1,
        layer=_number(layer, "层号"),
    )


def same_place_name(a: str, b: str) -> bool:
    """一号库房 = 1号库房 = 一号 库房; 03 = 3 = 3排."""
    return place_key(a) == place_key(b)


@lru_cache(maxsize=4096)  # a ledger names a few hundred rooms and units, on every row
def place_key(name: str) -> str:
    text = _CN_PLACE_NUMBER.sub(lambda m: _digits(m[0].replace("两", "二")), _normal(name))
    text = _LEADING_ZEROS.sub("", text)
    return text.rstrip("排架号") or text


# ---- one row ------------------------------------------------------------------------------------


@dataclass
class LedgerRow:
    """One ledger row read: what the file's records take, and what stays on its ledger entry."""

    sheet: str
    row: int
    name: str = ""
    sex: str | None = None
    birth: LedgerDate | None = None
    id_reading: IdReading = field(default_factory=lambda: IdReading(None, ""))
    enterprise_name: str = ""
    credit_code: str | None = None
    former_employer: str = ""
    archival_code: str | None = None
    volumes: int = 1
    pages: int = 0
    entered_on: LedgerDate | None = None
    location: Location | None = None
    secrecy: str = ""  # 密级 as written
    secrecy_level: SecrecyLevel = SecrecyLevel.none  # … as read (values.read_secrecy)
    remarks: str = ""
    holder: str = ""  # the street or custodian keeping the file, by name
    hukou_region_code: str | None = None
    residence_region_code: str | None = None
    id_facts: CitizenIdFacts | None = None  # what the ID encodes (birth date, sex), read once

    @property
    def citizen_id(self) -> str | None:
        return self.id_reading.citizen_id

    @property
    def birth_date(self) -> date | None:
        if self.id_facts:
            return self.id_facts.birth_date
        return self.birth.first_day if self.birth else None

    def as_written(self) -> dict[str, str]:
        """Values stored in another form than the ledger wrote them."""
        out = {}
        if self.id_reading.written and self.id_reading.written != self.citizen_id:
            out["公民身份号码"] = self.id_reading.written
        if self.birth and not self.citizen_id and (self.birth.month is None or self.birth.day is None):
            out["出生日期"] = self.birth.written
        if self.entered_on and self.entered_on.day is None:
            out["入馆日期"] = self.entered_on.written
        return out


@dataclass(frozen=True)
class RowProblem:
    column: str  # the field's label, or the header text the person sees
    code: str
    message: str
    blocking: bool = True  # False: a note — the row is saved, the note says what to complete


LIMITS = {"name": 50, "sex": 4, "enterprise": 200, "former_employer": 200, "credit_code": 30, "archival_code": 64,
          "volumes": 10, "pages": 10, "secrecy": 20, "remarks": 1000, "holder": 100, "hukou_region_code": 10,
          "residence_region_code": 10}  # fmt: skip


def _name(row: "LedgerRow", text: str, today: date) -> None:
    if not text:
        raise ValueRuleError("name.required", "姓名必填")
    row.name = text


def _sex(row: "LedgerRow", text: str, today: date) -> None:
    value = text.upper()
    if value and value not in SEXES:
        raise ValueRuleError("sex.format", f"性别应填“男”或“女”，实为“{text}”")
    row.sex = SEXES.get(value)


def _credit_code(row: "LedgerRow", text: str, today: date) -> None:
    row.credit_code = check_credit_code(text) if text else None


def _count(key: str, default: int, least: int):
    def parse(row: LedgerRow, text: str, today: date) -> None:
        if not text:
            setattr(row, key, default)
        elif not (text.isascii() and text.isdigit() and len(text) <= 5) or int(text) < least:
            raise ValueRuleError(f"{key}.count", f"应为不小于 {least} 的整数，实为“{text}”")
        else:
            setattr(row, key, int(text))

    return parse


def _birth(row: "LedgerRow", text: str, today: date, value: Any = None) -> None:
    if text:
        # Nobody with a retiree's file was born in the last 16 years: 05年 in a birth date is 1905, not 2005.
        row.birth = ledger_date(value if value is not None else text, latest=date(today.year - 16, 12, 31))


def _entered(row: "LedgerRow", text: str, today: date, value: Any = None) -> None:
    if text:
        row.entered_on = ledger_date(value if value is not None else text, latest=today)


def _secrecy(row: "LedgerRow", text: str, today: date) -> None:
    if text:  # most ledgers leave it empty: 非密, the default (read_secrecy's look-up is a cost per row)
        row.secrecy_level = read_secrecy(text)  # refuses what is no 密级, in its own words
    row.secrecy = text


def _region(key: str):
    def parse(row: LedgerRow, text: str, today: date) -> None:
        setattr(row, key, check_region_code(text) if text else None)

    return parse


def _plain(key: str):
    def parse(row: LedgerRow, text: str, today: date) -> None:
        # An empty 档号 (or a ledger without the column) is no code: the file is numbered, not refused as ""
        setattr(row, key, (text.upper() or None) if key == "archival_code" else text)

    return parse


PARSERS = {
    "name": _name, "sex": _sex, "enterprise": _plain("enterprise_name"), "former_employer": _plain("former_employer"),
    "credit_code": _credit_code, "archival_code": _plain("archival_code"), "volumes": _count("volumes", 1, 1),
    "pages": _count("pages", 0, 0), "birth_date": _birth, "entered_on": _entered, "secrecy": _secrecy,
    "remarks": _plain("remarks"), "holder": _plain("holder"), "hukou_region_code": _region("hukou_region_code"),
    "residence_region_code": _region("residence_region_code"),
}  # fmt: skip
DATED = frozenset({"birth_date", "entered_on"})  # read from the cell itself: a date cell is a date


def read_row(
    sheet: str,
    number: int,
    cells: tuple[Any, ...],
    mapping: dict[str, int],
    *,
    room: str,
    today: date,
) -> tuple[LedgerRow, list[RowProblem]]:
    """Every cell of one row read at once, each problem with its column."""
    row = LedgerRow(sheet, number)
    problems: list[RowProblem] = []
    width = len(cells)
    raw = {key: cells[i] for key, i in mapping.items() if i < width and cells[i] is not None}
    texts = {key: value.strip() if value.__class__ is str else cell_text(value) for key, value in raw.items()}
    hidden = has_invisible("".join(texts.values()))  # one look at the whole row; each cell only if needed
    for key, parse in PARSERS.items():
        text = texts.get(key, "")
        try:
            if hidden:
                check_visible(text)
            limit = LIMITS.get(key)
            if limit is not None and len(text) > limit:
                raise ValueRuleError(f"{key}.length", f"最多 {limit} 个字，实为 {len(text)} 个")
            if key in DATED:
                parse(row, text, today, raw.get(key))
            else:
                parse(row, text, today)
        except ValueRuleError as e:
            problems.append(RowProblem(FIELDS[key].label, e.code, e.message))
    if not row.enterprise_name and not row.former_employer and not row.credit_code:
        problems.append(RowProblem("所属企业", "enterprise.required", "所属企业（或原工作单位）必填"))
    row.id_reading = read_citizen_id(raw.get("citizen_id"))
    _check_identity(row, problems)
    _read_location(row, texts, room, problems, hidden)
    return row, problems


def _check_identity(row: LedgerRow, problems: list[RowProblem]) -> None:
    id_label = FIELDS["citizen_id"].label
    if row.citizen_id is None:
        if row.id_reading.note:
            note = f"{row.id_reading.note}；按待补录登记，原文保留"
            problems.append(RowProblem(id_label, "citizen_id.unreadable", note, blocking=False))
        if row.birth is None and not any(p.column == "出生日期" for p in problems):
            problems.append(
                RowProblem("出生日期", "birth_date.required", "无可识别的公民身份号码时出生日期必填（用于查找和补录）")
            )
        if row.sex is None and not any(p.column == "性别" for p in problems):
            problems.append(RowProblem("性别", "sex.required", "无可识别的公民身份号码时，性别必填"))
        return
    facts = row.id_facts = citizen_id_facts(row.citizen_id)
    if row.sex is not None and row.sex != facts.sex:
        shown = {"M": "男", "F": "女"}
        problems.append(
            RowProblem(
                "性别",
                "citizen_id.sex_mismatch",
                f"性别“{shown[row.sex]}”与公民身份号码所示的“{shown[facts.sex]}”不一致",
            )  # fmt: skip
        )
    row.sex = facts.sex
    born = row.birth
    if born and (
        born.year != facts.birth_date.year
        or (born.month and born.month != facts.birth_date.month)
        or (born.day and born.day != facts.birth_date.day)
    ):
        problems.append(
            RowProblem(
                "出生日期",
                "citizen_id.birth_date_mismatch",
                f"出生日期 {born.written} 与公民身份号码中的 {facts.birth_date.isoformat()} 不一致",
            )
        )


def _read_location(row: LedgerRow, texts: dict[str, str], room: str, problems: list[RowProblem], hidden: bool) -> None:
    try:
        text = texts.get("location", "")
        if text:
            if hidden:
                check_visible(text)
            row.location = found = read_location(text)
            if not found.room and (texts.get("room") or room):
                row.location = Location(texts.get("room") or room, found.unit, found.column, found.side,
                                        found.section, found.layer)  # fmt: skip
            return
        parts = [texts.get(k, "") for k in ("unit", "column", "side", "layer", "section")]
        if any(parts):
            row.location = location_from(texts.get("room") or room, *parts)
    except ValueRuleError as e:
        problems.append(RowProblem(FIELDS["location"].label, e.code, e.message))
