"""A 卷内目录 as people type or send it: the fields of an entry, and every row checked at once — class in the
dossier's scheme (第九类 or 9), title, date formed as files write it, counts and page range — each problem
named by row and field. Nothing here saves: `catalogue.save_catalogue` and the batch import
(`transfers/catalogues.py`) keep the entries only when there is no problem."""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service.dossiers.class_schemes import SCHEMES
from archive_service.dossiers.models import MaterialClass
from archive_service.errors import ArchiveError
from archive_service.uploads import cell_text
from archive_service.values import ValueRuleError, check_partial_date, check_visible
from digitise import proposal as proposal_step
from digitise.facts import CN_DIGITS, CN_NUM, cn_number

MAX_ENTRIES = 500  # one file; a real 卷内目录 has tens to a couple of hundred entries

# The fields of one entry, in the order the form and the workbook show them, with their Chinese names.
FIELDS = {
    "class_code": "类号",
    "title": "材料名称",
    "date_formed": "形成时间",
    "copies": "份数",
    "pages": "页数",
    "remarks": "备注",
    "first_page": "起始页",
    "last_page": "终止页",
}


# Usual material names by top class (1…10), for completion on the form: the same table the pipeline's
# proposal recognises (digitise/material_titles.toml), so one list of names serves both.
common_titles = proposal_step.titles_by_class


@dataclass(frozen=True)
class Problem:
    row: int  # 1-based entry of the list (the workbook's sheet row when imported)
    field: str
    code: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "field": self.field,
            "column": FIELDS.get(self.field, self.field),
            **{"code": self.code, "message": self.message},
        }


@dataclass(frozen=True)
class Entry:
    """One checked row of a catalogue to save."""

    row: int
    material_id: int | None  # the entry it corrects; None for a new one
    material_class: MaterialClass
    title: str
    date_formed: str | None
    copies: int
    pages: int
    remarks: str
    first_page: int | None
    last_page: int | None


def scheme_classes(session: Session, scheme: str) -> dict[str, MaterialClass]:
    """The scheme's classes in their order (1, 2 … 10, 4-1 after 4), never as their codes sort (1, 10, 2)."""
    query = select(MaterialClass).where(MaterialClass.scheme_code == scheme).order_by(MaterialClass.sort_key)
    return {c.code: c for c in session.scalars(query)}


def check_rows(
    classes: dict[str, MaterialClass],
    scheme: str,
    rows: Sequence[dict[str, Any]],
    own: set[int] | frozenset[int] = frozenset(),
) -> tuple[list[Entry], list[Problem]]:
    """Every problem of every row at once; the entries only when there are none. A row is numbered by its
    place in the list, or by its `_row` (the sheet row of an imported workbook)."""
    entries: list[Entry] = []
    problems: list[Problem] = []
    if len(rows) > MAX_ENTRIES:
        first = rows[0].get("_row", 1) if rows else 1
        problems.append(Problem(first, "materials", "catalogue.too_long", f"一份档案的目录最多 {MAX_ENTRIES} 条"))
        return [], problems
    seen_ids: set[int] = set()
    for place, raw in enumerate(rows, start=1):
        n = int(raw.get("_row", place))
        found: list[Problem] = []

        def fail(field: str, code: str, message: str, n: int = n, found: list[Problem] = found) -> None:
            found.append(Problem(n, field, code, message))

        for key in ("title", "remarks"):  # free text (the other cells are codes, dates and numbers)
            try:
                check_visible(cell_text(raw.get(key)))
            except ValueRuleError as e:
                fail(key, e.code, e.message)
        material_id = _int_or_none(raw.get("id"))
        if material_id is not None and (material_id not in own or material_id in seen_ids):
            fail("id", "material.unknown", f"第 {n} 条所改的目录条目不属于本档案或重复出现")
        if material_id is not None:
            seen_ids.add(material_id)
        code = cell_text(raw.get("class_code")).replace("第", "").replace("类", "")
        code = str(cn_number(code)) if re.fullmatch(rf"[{CN_NUM}]{{1,2}}", code) else code
        material_class = classes.get(code)
        if not code:
            fail("class_code", "class_code.required", "类号必填")
        elif material_class is None:
            named = SCHEMES[scheme][0] if scheme in SCHEMES else scheme  # the scheme's name, not its key
            fail("class_code", "class_code.unknown", f"类号“{code}”不属于本档案的分类方案（{named}）")
        title = cell_text(raw.get("title"))
        if not title:
            fail("title", "title.required", "材料名称必填")
        elif title == proposal_step.UNRECOGNISED:
            fail("title", "title.unrecognised", "材料名称未识别：请对照页面填写材料名称（建议目录中的占位不能保存）")
        elif len(title) > 200:
            fail("title", "title.length", "材料名称最多 200 字")
        date_formed = None
        if typed := cell_text(raw.get("date_formed")):
            try:
                date_formed = check_partial_date(normalise_partial_date(typed))
            except ValueRuleError as e:  # named as typed: 1978.13, not the 197813 it was read as
                wrong = "不是有效日期" if e.code == "date_formed.invalid" else "不是年、年月或年月日"
                fail("date_formed", e.code, f"形成时间“{typed}”{wrong}（应如 1978、1978.9、1978.9.1）")
        counts: dict[str, int | None] = {}
        for key, required in (("copies", False), ("pages", True), ("first_page", False), ("last_page", False)):
            text = cell_text(raw.get(key))
            if not text:
                if required:
                    fail(key, f"{key}.required", f"{FIELDS[key]}必填")
                counts[key] = 1 if key == "copies" else None
            elif not re.fullmatch(r"\d{1,5}", text) or int(text) < 1:
                fail(key, f"{key}.positive", f"{FIELDS[key]}应为不小于 1 的整数，实为“{text}”")
                counts[key] = None
            else:
                counts[key] = int(text)
        first, last = counts["first_page"], counts["last_page"]
        if (first is None) != (last is None) and not any(p.field in ("first_page", "last_page") for p in found):
            fail("first_page" if first is None else "last_page", "page_range.partial", "起止页须同时填写或同时不填")
        elif first is not None and last is not None and last < first:
            fail("last_page", "page_range.order", f"终止页 {last} 小于起始页 {first}")
        remarks = cell_text(raw.get("remarks"))[:200]
        if found:
            problems.extend(found)
            continue
        assert material_class is not None and counts["pages"] is not None and counts["copies"] is not None
        entries.append(
            Entry(
                n,
                material_id,
                material_class,
                title,
                date_formed,
                counts["copies"],
                counts["pages"],
                remarks,
                first,
                last,
            )
        )
    return (entries if not problems else []), problems


def catalogue_error(problems: Sequence[Problem]) -> ArchiveError:
    return ArchiveError.listing("catalogue.invalid", "目录", [p.as_dict() for p in problems], "materials", "条")


# ---- cells as people type them ------------------------------------------------------------------


def normalise_partial_date(text: str) -> str:
    """1978年9月1日, 1978.9.1, 1978-09, 1978/9, 19780901, 一九七八年九月 → YYYY[MM[DD]]."""
    t = text.strip()
    if re.fullmatch(rf"[{CN_NUM}]{{4}}年.*", t):  # the numerals as digitise.facts reads them on pages
        t = "".join(str(CN_DIGITS.get(c, c)) for c in t[:4]) + t[4:]
        t = re.sub(rf"[{CN_NUM}]+", lambda m: str(cn_number(m[0])), t)
    m = re.fullmatch(r"(\d{4})(?:[.\-/年](\d{1,2})(?:[.\-/月](\d{1,2})日?)?月?)?年?", t)
    if m:
        return m[1] + (f"{int(m[2]):02d}" if m[2] else "") + (f"{int(m[3]):02d}" if m[3] else "")
    return t


def _int_or_none(value: Any) -> int | None:
    text = cell_text(value)
    return int(text) if re.fullmatch(r"\d{1,9}", text) else None
