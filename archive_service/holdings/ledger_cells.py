"""Cells as old ledgers write them: a 15-digit ID, 1957.6, 57年6月, 一九五七年六月, "一号库房 3排2列4层5格", and
a room or unit named 一号库房 in one row and 1号 库房 in the next. Knows only the text of one cell.
"""

import re
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from archive_service.uploads import cell_text
from archive_service.values import ValueRuleError, check_citizen_id, upgrade_citizen_id
from digitise.facts import CN_DIGITS, CN_NUM, cn_number

# Patterns compiled once: each is used on every row of a 100,000-row ledger (re's own cache costs a lookup).
_NOT_COMPARED = re.compile(r"[\s*:：（）()\[\]【】、/\\·.-]+")
_CN_NUMBER = re.compile(rf"[{CN_NUM}]+")
_CN_PLACE_NUMBER = re.compile(rf"[{CN_NUM}两]+")
_LEADING_ZEROS = re.compile(r"(?<!\d)0+(?=\d)")
_DATE_DIGITS = re.compile(r"(\d{4})(\d{2})(\d{2})")
_DATE_WRITTEN = re.compile(r"(\d{4}|\d{2})(?:[.\-/年](\d{1,2})(?:[.\-/月](\d{1,2})日?)?月?)?年?")
_SPACES = re.compile(r"\s+")
_FIFTEEN_DIGITS = re.compile(r"\d{15}")


def as_compared(text: str) -> str:
    """A header or name as compared: no spaces, line breaks, brackets' contents' punctuation or stars."""
    return _NOT_COMPARED.sub("", text)


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


@lru_cache(maxsize=4096)  # a ledger names a few hundred rooms and units, on every row
def place_key(name: str) -> str:
    text = _CN_PLACE_NUMBER.sub(lambda m: _digits(m[0].replace("两", "二")), as_compared(name))
    text = _LEADING_ZEROS.sub("", text)
    return text.rstrip("排架号") or text
