"""The catalogue proposed from the pages (卷内目录建议): where each material starts, its title, class,
date formed and page range — from what OCR saw, for the archivist to accept, edit or merge. Nothing
here enters a catalogue by itself.

A material starts on a page that names a form in its upper part: each line there is matched against
the usual names of materials (`material_titles.toml`, fuzzy, as OCR may misread a character; a line
holding a usual name, 国营红星机械厂职工登记表, names it) — wherever the title is set and whatever its
size, since a hand may write as large as the print. A page naming no usual form still starts one when
its title line is in large type, short and centred (a form of its own), or when its printed labels
(姓名, 出生日期, 原工资 …) are another form's. Pages that continue a form, and blank backs, belong to the
material before them. The class comes from the matched name, else from words of the title. A
material's date is the latest date its pages mention (the 填表日期 of a form is normally its last).
"""

import re
import tomllib
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from difflib import SequenceMatcher
from functools import cache
from pathlib import Path
from typing import Any

from digitise.page_record import PageLine, PageRecord

TITLES_FILE = Path(__file__).with_name("material_titles.toml")
TITLE_ZONE = 0.3  # a form's name is printed in the top part of the sheet (under a letterhead, a 编号 line)
TITLE_SIZE = 1.35  # … in type at least this much taller than the page's ordinary lines, centred
MAX_TITLE_CHARS = 24
MIN_MATCH = 0.7  # similarity of a read title to a usual name to take the usual name
NAMED_MATCH = 0.8  # … and of a line anywhere in the title zone to be taken as the form's name
# The printed labels of personnel forms: two pages whose labels differ are two forms.
FORM_LABELS = (
    "姓名",
    "性别",
    "民族",
    "籍贯",
    "出生日期",
    "出生年月",
    "文化程度",
    "参加工作时间",
    "公民身份号码",
    "身份证号码",
    "家庭出身",
    "本人成分",
    "政治面貌",
    "婚姻状况",
    "原工资",
    "现工资",
    "工资等级",
    "连续工龄",
    "退休原因",
    "工作单位",
    "职务",
    "入党时间",
    "入团时间",
    "奖励",
    "处分",
    "家庭成员",
    "社会关系",
    "本人简历",
    "审批意见",
    "介绍人",
)
NEW_FORM_OVERLAP = 0.34  # labels shared (Jaccard) under which an untitled page is another form

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


def named_line(lines: Sequence[PageLine], page_height: int) -> tuple[PageLine, str] | None:
    """The line in the title zone that names a usual form, and the name: the best match, the higher on a tie."""
    best: tuple[float, float, PageLine, str] | None = None
    for line in lines:
        if line.top >= page_height * TITLE_ZONE:
            continue
        text = _clean(line.text)
        if not 2 <= len(text) <= 40 or not re.search(r"[\u4e00-\u9fff]", text):
            continue
        for known in usual_titles():
            score = 1.0 if known in text else SequenceMatcher(None, text, known).ratio()
            if score >= NAMED_MATCH and (best is None or (score, -line.top) > best[:2]):
                best = (score, -line.top, line, known)
    return (best[2], best[3]) if best else None


def form_labels(lines: Sequence[PageLine]) -> frozenset[str]:
    """The printed labels a page holds (its form's fingerprint)."""
    text = _clean("".join(line.text for line in lines))
    return frozenset(label for label in FORM_LABELS if label in text)


def title_line(
    lines: Sequence[PageLine], page_width: int, page_height: int, ordinary: float | None = None
) -> PageLine | None:
    """The line that is the form's name: one naming a usual form anywhere near the top, else a line of
    Chinese, short, printed large and centred near the top."""
    if not lines:
        return None
    named = named_line(lines, page_height)
    if named:
        return named[0]
    if ordinary is None:
        heights = sorted(line.height for line in lines)
        ordinary = heights[len(heights) // 2]
    zone = page_height * TITLE_ZONE
    candidates = [
        line
        for line in lines
        if line.top < zone and line.height >= ordinary * TITLE_SIZE
        and 0 < len(_clean(line.text)) <= MAX_TITLE_CHARS and re.search(r"[\u4e00-\u9fff]", line.text)
        and abs(line.left + line.width / 2 - page_width / 2) < page_width * 0.15
    ]  # fmt: skip
    return max(candidates, key=lambda line: line.height) if candidates else None


def title_of_page(record: PageRecord) -> str | None:
    """The form's name on a page, as the page worker found it (from its lines, or its title zone read again)."""
    return None if record.blank else record.title


def title_text(line: PageLine, page_height: int) -> str:
    """A named form's usual name (a letterhead or 编号 run into the line is not the title), else the line."""
    named = named_line([line], page_height)
    return named[1] if named else _clean(line.text)


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


def propose(records: Sequence[PageRecord]) -> list[ProposedMaterial]:
    """The proposed catalogue of a run's pages (records in page order)."""
    found: list[dict[str, Any]] = []
    labels: frozenset[str] = frozenset()
    for r in records:
        title = title_of_page(r)
        # A form states its person's birth date; that is never when the form was made.
        dates = sorted(set(r.facts.dates) - set(r.facts.birth_dates)) if r.facts else []
        page_labels = form_labels(r.lines) if not r.blank else labels
        other_form = len(page_labels) >= 3 and len(labels) >= 2 and _overlap(page_labels, labels) < NEW_FORM_OVERLAP
        if not r.blank:
            labels = page_labels
        if title is not None or not found or other_form:
            name, code = classify(title) if title else (UNRECOGNISED, "10")
            found.append({"class_code": code, "title": name, "first_page": r.page, "last_page": r.page,
                          "dates": list(dates), "pages": 0})  # fmt: skip
        else:
            found[-1]["last_page"] = r.page
            found[-1]["dates"] += dates
        found[-1]["pages"] += 0 if r.blank else 1
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


def _overlap(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / max(1, len(a | b))


def _month(iso: str | None) -> str | None:
    return iso[:7] if iso else None


def _clean(text: str) -> str:
    return re.sub(r"[\s·.:：,，、()（）\[\]【】\"'“”]+", "", text)
