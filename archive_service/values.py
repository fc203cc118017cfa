"""Validated value types of the archive's domain.

Each check is a plain function raising ValueRuleError(code, message) so the same rule serves
pydantic schemas (API, web forms), register imports and the CLI. The field name is attached by
whoever knows it (pydantic's location, the register column).
"""

import enum
import re
import unicodedata
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from functools import cache
from typing import Annotated

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError
from stdnum.cn import uscc

from archive_service.db import bureau_today
from archive_service.errors import ArchiveError
from digitise import citizen_id
from digitise.citizen_id import PROVINCE_PREFIXES


class ValueRuleError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def check_region_code(value: str) -> str:
    """6-digit administrative division code (GB/T 2260): PP CC DD, known province prefix."""
    value = value.strip()
    if not re.fullmatch(r"\d{6}", value):
        raise ValueRuleError("region_code.format", "行政区划代码应为6位数字（GB/T 2260）")
    if value[:2] not in PROVINCE_PREFIXES:
        raise ValueRuleError("region_code.province", f"行政区划代码前两位 {value[:2]} 不是有效的省级代码（GB/T 2260）")
    return value


# ---- Citizen ID (GB 11643-1999) -------------------------------------------------------------


def citizen_id_check_char(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character over the first 17 digits."""
    return citizen_id.check_char(first17)


CitizenIdFacts = citizen_id.CitizenIdFacts


def check_citizen_id(value: str) -> str:
    """18-character citizen ID: the one rule of the whole code (digitise/citizen_id.py), which the pages'
    fact sheet and misfiled-page check use too; here with the bureau's today as the latest birth date."""
    try:
        return citizen_id.check(value, bureau_today())
    except citizen_id.CitizenIdError as e:
        raise ValueRuleError(e.code, e.message) from None


def upgrade_citizen_id(fifteen: str) -> str:
    """A first-generation 15-digit number in its 18-digit form: the same one rule (digitise/citizen_id.py)."""
    try:
        return citizen_id.upgrade(fifteen, bureau_today())
    except citizen_id.CitizenIdError as e:
        raise ValueRuleError(e.code, e.message) from None


def citizen_id_facts(value: str) -> CitizenIdFacts:
    try:
        return citizen_id.facts(value, bureau_today())
    except citizen_id.CitizenIdError as e:
        raise ValueRuleError(e.code, e.message) from None


def check_citizen_id_agrees(citizen_id: str, birth_date: date | None, sex: str | None) -> None:
    """The record's birth date and sex must be those encoded in the ID."""
    facts = citizen_id_facts(citizen_id)
    if birth_date is not None and birth_date != facts.birth_date:
        raise ValueRuleError(
            "citizen_id.birth_date_mismatch",
            f"出生日期 {birth_date.isoformat()} 与公民身份号码中的 {facts.birth_date.isoformat()} 不一致",
        )
    if sex is not None and sex != facts.sex:
        sexes = {"M": "男", "F": "女"}
        raise ValueRuleError(
            "citizen_id.sex_mismatch",
            f"性别“{sexes.get(sex, sex)}”与公民身份号码第17位所示的“{sexes[facts.sex]}”不一致",
        )


def mask_citizen_id(value: str | None) -> str:
    """Shown in lists and logs: region and last 4 only (personal-information protection). A file held before
    the system may still lack the ID (its ledger had none): 待补录."""
    if not value:
        return "待补录"
    return value[:6] + "********" + value[-4:]


_MARK = r"(?:</?mark>)?"
_ID_IN_SNIPPET = re.compile(_MARK + "".join(rf"\d{_MARK}" for _ in range(17)) + rf"[\dXx]{_MARK}")


def mask_ids_in(snippet: str) -> str:
    """Every 18-character citizen ID in a search snippet (HTML, possibly with <mark> inside the number where
    the query matched part of it) masked like `mask_citizen_id`; a highlighted one stays highlighted."""

    def masked(match: re.Match[str]) -> str:
        found = match.group(0)
        shown = mask_citizen_id(re.sub(r"</?mark>", "", found))
        return f"<mark>{shown}</mark>" if "<mark>" in found else shown

    return _ID_IN_SNIPPET.sub(masked, snippet)


# ---- Unified social credit code (GB 32100-2015) ---------------------------------------------

_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I, O, Z, S, V


def credit_code_check_char(first17: str) -> str:
    return str(uscc.calc_check_digit(first17))


def check_credit_code(value: str) -> str:
    """18-character unified social credit code with its GB 32100 check character."""
    value = value.strip().upper()
    if len(value) != 18 or any(c not in _USCC_CHARS for c in value):
        raise ValueRuleError(
            "credit_code.format",
            "统一社会信用代码应为18位，由数字和除 I、O、Z、S、V 以外的大写字母组成（GB 32100）",
        )
    if not value[2:8].isdigit():
        raise ValueRuleError("credit_code.region", "统一社会信用代码第3–8位应为登记管理机关行政区划码")
    expected = credit_code_check_char(value[:17])
    if value[17] != expected:
        raise ValueRuleError(
            "credit_code.check_digit",
            f"统一社会信用代码校验码错误：按 GB 32100 末位应为 {expected}，实为 {value[17]}",
        )
    return value


# ---- Telephone numbers (a contact's) -----------------------------------------------------------

_PHONE = re.compile(r"1[3-9]\d{9}|0\d{2,3}-?[1-9]\d{6,7}(?:-\d{1,6})?|[1-9]\d{6,7}(?:-\d{1,6})?")


def check_phone(value: str) -> str:
    """A mainland telephone number as people write it: a mobile (11 digits, 1 then 3–9), or a fixed line with or
    without its area code (010-66012345, 023 6381 2345, extension after '-'); spaces are dropped."""
    value = re.sub(r"[\s\u3000]", "", value).replace("－", "-")
    if not _PHONE.fullmatch(value):
        raise ValueRuleError(
            "phone.format", "电话号码应为 11 位手机号码，或带区号的固定电话（如 010-66012345，分机号用“-”隔开）"
        )
    return value


# ---- Archival code (档号, DA/T 13-2022) ------------------------------------------------------

_ARCHIVAL_CODE = re.compile(r"[A-Z0-9]{1,8}(?:-[A-Z0-9]{1,12}(?:·[A-Z0-9]{1,12})*){1,6}")


class SecrecyLevel(enum.StrEnum):
    """A file's 密级 (保守国家秘密法 第十条: 绝密、机密、秘密), with 涉密 for a file known to be classified whose level
    was never written down (the earlier yes/no flag, a register's 是). Any level but `none` keeps the file off the
    online service and off requesters' searches, and only an archivist receives it."""

    none = "none"
    unrated = "unrated"
    secret = "secret"
    confidential = "confidential"
    top_secret = "top_secret"

    @property
    def label(self) -> str:
        return SECRECY_LABELS[self]

    @property
    def classified(self) -> bool:
        return self is not SecrecyLevel.none


SECRECY_LABELS = {
    SecrecyLevel.none: "非密",
    SecrecyLevel.unrated: "涉密（密级未定）",
    SecrecyLevel.secret: "秘密",
    SecrecyLevel.confidential: "机密",
    SecrecyLevel.top_secret: "绝密",
}
# How registers and old ledgers write it: the levels by name; 涉密 or 是 for a level not given; the open words.
SECRECY_WORDS = {
    **{w: SecrecyLevel.none for w in ("", "无", "否", "非密", "公开", "内部", "一般", "普通")},
    **{w: SecrecyLevel.unrated for w in ("涉密", "是")},
    "秘密": SecrecyLevel.secret,
    "机密": SecrecyLevel.confidential,
    "绝密": SecrecyLevel.top_secret,
}


def read_secrecy(text: str) -> SecrecyLevel:
    """密级 as a sheet writes it (秘密, 机密, 绝密; 涉密 or 是; 无, 否, 公开 …), or the level's own key."""
    text = text.strip()
    if text in SecrecyLevel.__members__:
        return SecrecyLevel(text)
    if text in SECRECY_WORDS:
        return SECRECY_WORDS[text]
    raise ValueRuleError(
        "secrecy.format", f"密级应为 否（非密）、秘密、机密、绝密，或 是（涉密、密级未定），实为“{text}”"
    )


def check_archival_code(value: str) -> str:
    """档号: fonds code then 1–6 lower levels joined by '-', same-level parts by '·' (DA/T 13)."""
    value = value.strip().upper()
    if not _ARCHIVAL_CODE.fullmatch(value):
        raise ValueRuleError(
            "archival_code.format",
            "档号应以全宗号开头，各级代码以“-”连接、同级代码以“·”分隔，"
            "仅含大写字母和数字（DA/T 13），如 J001-RS-000123",
        )
    return value


def make_archival_code(fonds: str, person_no: int) -> str:
    """The bureau's personnel-file code: {全宗号}-RS-{人员编号:06d} (STANDARDS.md §4)."""
    return check_archival_code(f"{fonds}-RS-{person_no:06d}")


# ---- Partial dates of materials (材料形成时间) ------------------------------------------------


def formed_order(date_formed: str | None) -> str:
    """A partial date (YYYY[MM[DD]]) as a sort key: 1978 before 197809, undated after every dated one."""
    return date_formed or "99999999"


def written_partial_date(date_formed: str | None, sep: str = ".") -> str:
    """19780901 → 1978.09.01 and 197809 → 1978.09, as catalogues print them (1978-09 with sep="-")."""
    d = date_formed or ""
    return sep.join(part for part in (d[:4], d[4:6], d[6:8]) if part)


def check_partial_date(value: str) -> str:
    """YYYY, YYYYMM or YYYYMMDD: catalogues often know only the year or month a material was formed."""
    value = value.strip()
    if not re.fullmatch(r"\d{4}(\d{2}(\d{2})?)?", value):
        raise ValueRuleError("date_formed.format", "材料形成时间应为 YYYY、YYYYMM 或 YYYYMMDD")
    year, month, day = int(value[:4]), int(value[4:6] or 1), int(value[6:8] or 1)
    try:
        date(year, month, day)
    except ValueError:
        raise ValueRuleError("date_formed.invalid", f"材料形成时间 {value} 不是有效日期") from None
    return value


@cache
def _invisible() -> re.Pattern[str]:
    """Characters nobody sees: controls (but tab and line breaks), format characters — zero-width spaces,
    direction overrides, a byte-order mark — and lone surrogates. Format characters lie below U+30000 and in
    plane 14, so only those are scanned (once, when first needed)."""
    ranges = [(0x00, 0x08), (0x0B, 0x0C), (0x0E, 0x1F), (0x7F, 0x9F), (0xD800, 0xDFFF)]
    ranges += [
        (n, n) for block in (range(0x30000), range(0xE0000, 0xE1000)) for n in block
        if unicodedata.category(chr(n)) == "Cf"
    ]  # fmt: skip
    return re.compile("[" + "".join(f"\\U{a:08x}-\\U{b:08x}" for a, b in ranges) + "]")


def has_invisible(text: str) -> bool:
    """Whether `check_visible` would refuse the text (one look at a whole row before its cells). Text Python
    calls printable holds none of them (controls, format characters and surrogates are not printable), so
    only the rest is searched: a 100,000-row ledger is read without 100,000 searches of a long pattern."""
    return not text.isprintable() and _invisible().search(text) is not None


def policy_basis(text: str) -> str:
    """The basis a bureau's setting is made on (文件文号及条款): required, 2–200 characters, refused naming `basis`."""
    why = text.strip()
    if not 2 <= len(why) <= 200:
        raise ArchiveError("basis.required", "请写明依据（文件文号及条款，2–200 字）", "basis", 422)
    return why


def check_visible(text: str) -> str:
    """Text people type holds only what they can see. A name with a zero-width space is not found by a
    search for the name as typed, a direction override shows another text than the one stored, and
    PostgreSQL cannot store NUL at all (SQLite took it): one rule, on both databases, for every field."""
    found = None if text.isprintable() else _invisible().search(text)
    if found is not None:
        before = text[: found.start()][-8:]
        where = f"在“{before}”之后" if before else "在开头"
        raise ValueRuleError(
            "text.invisible_character", f"含有不可见字符（U+{ord(found.group()):04X}，{where}），请删除后重新输入"
        )
    return text


# ---- Money (元, to the 分) ---------------------------------------------------------------------------

MAX_YUAN = Decimal("100000000000")  # 1,000 亿元: beyond any fee of an archive; keeps fen inside a BIGINT


def check_yuan(value: object) -> Decimal:
    """An amount in 元 as people write it (1020, 1,020.00, ¥1020.5): a number, not negative, at most two
    decimals (分). Returned as a Decimal with exactly two places; stored as integer 分 (to_fen)."""
    if isinstance(value, bool) or value is None:
        raise ValueRuleError("money.format", "应为金额（元），如 1020 或 1020.00")
    if isinstance(value, float):  # a JSON number: its written form, not its binary approximation
        value = repr(value)
    written = str(value).strip().replace(",", "").replace("，", "").removeprefix("¥").removeprefix("￥")
    written = written.removesuffix("元").strip()
    if not re.fullmatch(r"-?\d+(\.\d+)?", written):
        raise ValueRuleError("money.format", "应为金额（元），如 1020 或 1020.00")
    amount = Decimal(written)
    if amount < 0:
        raise ValueRuleError("money.negative", "金额不能为负数")
    if amount != amount.quantize(Decimal("0.01")):
        raise ValueRuleError("money.decimals", "金额最多两位小数（到分）")
    if amount > MAX_YUAN:
        raise ValueRuleError("money.too_large", f"金额不能超过 {MAX_YUAN:,} 元")
    return amount.quantize(Decimal("0.01"))


def to_fen(yuan: Decimal) -> int:
    return int(yuan * 100)


def yuan_of(fen: int) -> Decimal:
    return (Decimal(fen) / 100).quantize(Decimal("0.01"))


def yuan_text(fen: int) -> str:
    """1,020.00: how a page and a workbook write an amount in 元."""
    return f"{yuan_of(fen):,.2f}"


def _pydantic(check):
    def run(value: str) -> str:
        try:
            return check(value)
        except ValueRuleError as e:
            raise PydanticCustomError(e.code, e.message) from None

    return AfterValidator(run)


CitizenId = Annotated[str, _pydantic(check_citizen_id)]
CreditCode = Annotated[str, _pydantic(check_credit_code)]
RegionCode = Annotated[str, _pydantic(check_region_code)]
ArchivalCode = Annotated[str, _pydantic(check_archival_code)]
PartialDate = Annotated[str, _pydantic(check_partial_date)]
VisibleText = Annotated[str, _pydantic(check_visible)]


def page_ranges(pages: Iterable[int]) -> str:
    """Page numbers as a person writes them: 1–4, 7, 9–10."""
    runs: list[list[int]] = []
    for p in sorted(set(pages)):
        if runs and p == runs[-1][1] + 1:
            runs[-1][1] = p
        else:
            runs.append([p, p])
    return ", ".join(f"{a}–{b}" if b > a else str(a) for a, b in runs)
