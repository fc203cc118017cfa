"""The citizen ID rule (公民身份号码, GB 11643-1999), once for the whole code.

It lives here because `digitise/` reads IDs off pages (the fact sheet, the misfiled-page check) and must
never import the archive service; the service's entry point `archive_service.values.check_citizen_id`
calls this rule and gives the field its name.

What a number must be: 18 characters, the first 17 digits, the last a digit or X; a known province-level
code (GB/T 2260) in front; a real birth date, not before 1880 nor after today; and the ISO 7064 MOD 11-2
check character. python-stdnum's `cn.ric.is_valid` is NOT this rule: it also wants the county code to have
existed in the birth year, but a code is the county of the office that issued the card — Chongqing's 50…
codes date from 1997, so every Chongqing retiree born before then would be "invalid", and so would anyone
whose county was renamed or created after his birth. Counties are never checked here.
"""

import re
from dataclasses import dataclass
from datetime import date

from stdnum.cn import ric

# GB/T 2260 province-level codes (the first two digits of a region code).
PROVINCE_PREFIXES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65 71 81 82".split()
)
# The residence permits of Hong Kong, Macao and Taiwan residents (2018) use 810000, 820000 and 830000.
ID_PREFIXES = PROVINCE_PREFIXES | {"83"}
EARLIEST_BIRTH_YEAR = 1880
SHAPE = re.compile(r"\d{17}[\dX]")


class CitizenIdError(ValueError):
    """A number that is not a citizen ID: `code` says which rule (e.g. citizen_id.check_digit), `message` says
    it in Chinese for the person who typed or scanned it."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class CitizenIdFacts:
    region_code: str
    birth_date: date
    sex: str  # "M" | "F"


def check_char(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character over the first 17 digits (python-stdnum's arithmetic)."""
    return str(ric.calc_check_digit(first17 + "?"))  # stdnum expects a placeholder check char


def check(value: str, today: date | None = None) -> str:
    """The number, trimmed and with a capital X, or CitizenIdError naming the rule it breaks. `today` is the
    bureau's date (the latest possible birth date); digitise, which knows no bureau, uses the machine's."""
    value = value.strip().upper()
    if not SHAPE.fullmatch(value):
        raise CitizenIdError("citizen_id.format", "公民身份号码应为18位，前17位为数字，末位为数字或X（GB 11643）")
    expected = check_char(value[:17])
    if value[17] != expected:  # first: a mistyped digit is the commonest fault, and this names it
        raise CitizenIdError(
            "citizen_id.check_digit",
            f"公民身份号码校验码错误：按 ISO 7064 MOD 11-2 末位应为 {expected}，实为 {value[17]}",
        )
    if value[:2] not in ID_PREFIXES:
        raise CitizenIdError(
            "citizen_id.region", f"公民身份号码前两位 {value[:2]} 不是有效的省级行政区划代码（GB/T 2260）"
        )
    birth_date(value, today)
    return value


def birth_date(value: str, today: date | None = None) -> date:
    """The birth date the number encodes (characters 7–14), which must be a real date in a lifetime."""
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise CitizenIdError("citizen_id.birth_date", f"公民身份号码中的出生日期 {value[6:14]} 不是有效日期") from None
    if born.year < EARLIEST_BIRTH_YEAR or born > (today or date.today()):
        raise CitizenIdError("citizen_id.birth_date", f"公民身份号码中的出生日期 {value[6:14]} 超出合理范围")
    return born


def facts(value: str, today: date | None = None) -> CitizenIdFacts:
    """Region, birth date and sex (17th digit: odd for men) of a number of the right shape."""
    return CitizenIdFacts(value[:6], birth_date(value, today), "M" if int(value[16]) % 2 else "F")


FIRST_GENERATION = re.compile(r"\d{15}")


def upgrade(fifteen: str, today: date | None = None) -> str:
    """A first-generation number (15 digits, issued before 1999: region, YYMMDD, serial) in its 18-digit form,
    as GB 11643-1999 converts it: 19 before the two-digit year, the check character after; then checked as any
    ID. Old ledgers and files still hold the short form: it is what is written, this is who it is."""
    value = fifteen.strip()
    if not FIRST_GENERATION.fullmatch(value):
        raise CitizenIdError("citizen_id.first_generation", "15 位公民身份号码应为 15 位数字（一代证）")
    first17 = value[:6] + "19" + value[6:]
    return check(first17 + check_char(first17), today)


def is_valid(value: str, today: date | None = None) -> bool:
    try:
        check(value, today)
    except CitizenIdError:
        return False
    return True
