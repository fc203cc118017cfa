"""The catalogue proposed from the pages (卷内目录建议): where each material starts, its title, class,
date formed and page range — from what OCR saw, for the archivist to accept, edit or merge. Nothing
here enters a catalogue by itself.

A material starts on a page whose title line is in large type near the top (forms print their name
so). The title is matched against the usual names of materials (`material_titles.toml`, fuzzy, as OCR
may misread a character); the class comes from the matched name, else from words of the title. Pages
without a title line, and blank backs, continue the material before them. Its date is the latest
date its pages mention (the 填表日期 of a form is normally its last date).
"""

import re
import tomllib
from dataclasses import asdict, dataclass
from difflib import SequenceMatcher
from functools import cache
from pathlib import Path
from typing import Any

TITLES_FILE = Path(__file__).with_name("material_titles.toml")
TITLE_ZONE = 0.25  # a form's name is printed in the top quarter of the sheet
TITLE_SIZE = 1.35  # … in type at least this much taller than the page's ordinary lines, centred
MAX_TITLE_CHARS = 24
MIN_MATCH = 0.7  # similarity of a read title to a usual name to take the usual name

# When a title is not a usual name, words in it tell the class (1992 enterprise scheme, top classes).
CLASS_WORDS = (
    ("6", ("入党", "入团", "党员", "团员")),
    ("8", ("处分",)),
    ("7", ("奖励", "先进", "劳动模范", "立功")),
    ("5", ("政审", "政治审查")),
    ("2", ("自传", "思想汇报")),
    ("3", ("鉴定", "考核", "考察")),
    ("4", ("学历", "毕业", "职称", "技术等级", "专业技术", "学位")),
    ("9", ("招工", "工资", "退休", "退职", "调动", "合同", "转正", "定级", "复员", "转业", "保险", "待遇")),
    ("1", ("履历", "登记表", "简历")),
)


@cache
def titles_by_class() -> dict[int, list[str]]:
    """The usual material names by top class (1 … 10), as material_titles.toml lists them."""
    raw = tomllib.loads(TITLES_FILE.read_text(encoding="utf-8"))["titles"]
    return {int(n): list(titles) for n, titles in raw.items()}


@cache
def usual_titles() -> dict[str, str]:
    """Usual material name → top class ("1" … "10")."""
    return {title: str(n) for n, titles in titles_by_class().items() for title in titles}


@dataclass(frozen=True)
class ProposedMaterial:
    class_code: str  # top class of the scheme, "1" … "10"
    title: str
    first_page: int  # 1-based
    last_page: int
    date: str | None  # YYYY-MM, the latest date its pages mention
    pages: int  # pages with content (blank backs are not counted, as most catalogues count)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        return {"class": d.pop("class_code"), **d}


def title_line(
    lines: list[dict[str, Any]], page_width: int, page_height: int, ordinary: float | None = None
) -> dict[str, Any] | None:
    """The line that is the form's name: Chinese, short, printed large and centred near the top."""
    if not lines:
        return None
    if ordinary is None:
        heights = sorted(line["height"] for line in lines)
        ordinary = heights[len(heights) // 2]
    zone = page_height * TITLE_ZONE
    candidates = [
        line
        for line in lines
        if line["top"] < zone and line["height"] >= ordinary * TITLE_SIZE
        and 0 < len(_clean(line["text"])) <= MAX_TITLE_CHARS and re.search(r"[\u4e00-\u9fff]", line["text"])
        and abs(line["left"] + line["width"] / 2 - page_width / 2) < page_width * 0.15
    ]  # fmt: skip
    return max(candidates, key=lambda line: line["height"]) if candidates else None


def title_of_page(record: dict[str, Any]) -> str | None:
    """The form's name on a page: as the page worker found it, else from the page's OCR lines."""
    if record.get("blank"):
        return None
    if "title" in record:
        return record["title"]
    line = title_line(record.get("lines") or [], record["width"], record["height"])
    return _clean(line["text"]) if line else None


def clean(text: str) -> str:
    return _clean(text)


def classify(title: str) -> tuple[str, str]:
    """(title, class): the usual name it is (or nearly is, as OCR read it), else the words it holds."""
    usual = usual_titles()
    if title in usual:
        return title, usual[title]
    best, score = None, 0.0
    for known in usual:
        s = SequenceMatcher(None, title, known).ratio()
        if known in title:
            s = max(s, 0.9)
        if s > score:
            best, score = known, s
    if best is not None and score >= MIN_MATCH:
        return best, usual[best]
    for code, words in CLASS_WORDS:
        if any(w in title for w in words):
            return title, code
    return title, "10"


# The proposal's placeholder where no page title was read: a person names the material before it is saved.
UNRECOGNISED = "（未识别的材料）"


def propose(records: list[dict[str, Any]]) -> list[ProposedMaterial]:
    """The proposed catalogue of a run's pages (records in page order)."""
    found: list[dict[str, Any]] = []
    for r in records:
        title = title_of_page(r)
        facts = r.get("facts") or {}
        # A form states its person's birth date; that is never when the form was made.
        dates = sorted(set(facts.get("dates") or []) - set(facts.get("birth_dates") or []))
        if title is not None or not found:
            name, code = classify(title) if title else (UNRECOGNISED, "10")
            found.append({"class_code": code, "title": name, "first_page": r["page"], "last_page": r["page"],
                          "dates": list(dates), "pages": 0})  # fmt: skip
        else:
            found[-1]["last_page"] = r["page"]
            found[-1]["dates"] += dates
        found[-1]["pages"] += 0 if r.get("blank") else 1
    return [
        ProposedMaterial(
            f["class_code"],
            f["title"],
            f["first_page"],
            f["last_page"],
            _month(max(f["dates"], default=None)),
            max(f["pages"], 1),
        )
        for f in found
    ]


def _month(iso: str | None) -> str | None:
    return iso[:7] if iso else None


def _clean(text: str) -> str:
    return re.sub(r"[\s·.:：,，、()（）\[\]【】\"'“”]+", "", text)
