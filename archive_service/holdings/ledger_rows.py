"""One ledger row read cell by cell with its sheet's column mapping (ledger.py): what the file's records take,
what stays on its ledger entry, and each problem by column — the ID against the sex and birth date written
beside it, the location from one cell or from five. Knows only the row; checking.py checks it against the
other rows and the database.
"""

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from archive_service.holdings.ledger import FIELDS
from archive_service.holdings.ledger_cells import (
    IdReading,
    LedgerDate,
    Location,
    ledger_date,
    location_from,
    read_citizen_id,
    read_location,
)
from archive_service.uploads import cell_text
from archive_service.values import (
    CitizenIdFacts,
    SecrecyLevel,
    ValueRuleError,
    check_credit_code,
    check_region_code,
    check_visible,
    citizen_id_facts,
    has_invisible,
    read_secrecy,
)

SEXES = {"男": "M", "女": "F", "M": "M", "F": "F", "1": "M", "2": "F"}  # 1/2: GB/T 2261.1


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
