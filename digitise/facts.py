"""Facts read from a page's text: citizen ID numbers, dates as files write them, the name after 姓名,
and the labelled facts a benefit check looks for (三龄两历一身份: 出生日期, 参加工作时间, 入党时间,
学历 and 毕业时间, 民族, 籍贯).

They are compared with the dossier's retiree to catch pages filed in someone else's file — a
common fault when enterprises bound their files in a hurry — and assembled by the archive service
into a file's fact sheet, each statement with the text it was read from. An ID is valid by the one rule
the archive service checks IDs with too (digitise/citizen_id.py).
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from digitise import citizen_id, readings
from digitise.catalogue import RetireeFacts
from digitise.findings import Finding, Severity
from digitise.ocr import OcrLine

ID_PATTERN = re.compile(r"(?<![0-9])([1-9]\d{5}(?:19|20)\d{2}[01]\d[0-3]\d\d{3}[0-9Xx])(?![0-9])")
# The 15-digit number of the first cards (1984–1999): region, yymmdd, serial, no check character.
ID15_PATTERN = re.compile(r"(?<![0-9])([1-9]\d{5}\d{2}[01]\d[0-3]\d\d{3})(?![0-9Xx])")
# The printed labels a value may run into when OCR joins a form's cells (姓名何勇文化程度…).
NEXT_LABEL = "出生|民族|性别|籍贯|参加|文化|学历|婚姻|家庭|本人|入党|公民|身份|职务|年龄|原工资|现|退休|连续"
NAME_PATTERN = re.compile(rf"姓\s*名\s*[:：]?\s*([\u4e00-\u9fff]{{2,4}}?)(?={NEXT_LABEL}|性|别|出|民|籍|[\s:：，,]|$)")
BIRTH_PATTERN = re.compile(r"出生(?:日期|年月|时间)?\s*[:：]?\s*")
# 参加工作时间 (参加革命工作时间 on cadres' forms), what 连续工龄 and so a pension rest on
WORK_START_PATTERN = re.compile(r"参加(?:革命)?工作(?:时间|日期|年月)\s*[:：]?\s*")
PARTY_PATTERN = re.compile(r"入党(?:时间|日期|年月)\s*[:：]?\s*")
GRADUATION_PATTERN = re.compile(r"毕业(?:时间|日期|年月)\s*[:：]?\s*")
# The date labels of the fact sheet, by fact; a two-digit year (78.9) is a date only right after one.
DATE_LABELS = {
    "birth_date": BIRTH_PATTERN,
    "work_start": WORK_START_PATTERN,
    "party_joined": PARTY_PATTERN,
    "graduated": GRADUATION_PATTERN,
}
EDUCATION_PATTERN = re.compile(
    r"(?:文化程度|学历)\s*[:：]?\s*(研究生|大学本科|大学专科|大学|本科|大专|专科|中专|中技|技校|高中|初中|小学|扫盲|文盲)"
)
ETHNIC_GROUPS = (
    "汉 蒙古 回 藏 维吾尔 苗 彝 壮 布依 朝鲜 满 侗 瑶 白 土家 哈尼 哈萨克 傣 黎 傈僳 佤 畲 高山 拉祜 水 东乡 纳西 景颇 "
    "柯尔克孜 土 达斡尔 仫佬 羌 布朗 撒拉 毛南 仡佬 锡伯 阿昌 普米 塔吉克 怒 乌孜别克 俄罗斯 鄂温克 德昂 保安 裕固 京 "
    "塔塔尔 独龙 鄂伦春 赫哲 门巴 珞巴 基诺"
).split()
# Longest names first, so 土家 is not read as 土.
ETHNICITY_PATTERN = re.compile(
    r"民\s*族\s*[:：]?\s*(" + "|".join(sorted(ETHNIC_GROUPS, key=len, reverse=True)) + r")族?"
)
# 籍贯 runs until the next label of the form, as forms print them side by side.
NATIVE_PLACE_PATTERN = re.compile(rf"籍\s*贯\s*[:：]?\s*([\u4e00-\u9fff]{{2,9}}?)(?={NEXT_LABEL}|[\s,，。;；:：]|$)")
# What the fact sheet lists, in the order a benefit officer reads it.
FACT_KINDS = {
    "birth_date": "出生日期",
    "work_start": "参加工作时间",
    "party_joined": "入党时间",
    "education": "学历",
    "graduated": "毕业时间",
    "ethnicity": "民族",
    "native_place": "籍贯",
    "citizen_id": "公民身份号码",
}
DATE_KINDS = frozenset(DATE_LABELS)
# What a page's sidecar record lists with the box each value was read from: the fact sheet's facts and
# the person's name (which identifies the person, not a benefit; the sheet takes it from the register).
PAGE_FACT_KINDS = {"name": "姓名", **FACT_KINDS}

CN_DIGITS = {
    "〇": 0,
    "○": 0,
    "零": 0,
    "O": 0,
    "一": 1,
    "二": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
CN_NUM = "〇○零一二三四五六七八九十"
DATE_PATTERNS = (
    # 1962年3月15日, 1962年3月, 1962年
    re.compile(r"(?P<y>(?:19|20)\d{2})\s*年\s*(?:(?P<m>\d{1,2})\s*月\s*(?:(?P<d>\d{1,2})\s*日)?)?"),
    # 1962.03.15, 1962-3-15, 1962/03, 1962.03
    re.compile(r"(?<!\d)(?P<y>(?:19|20)\d{2})[.\-/](?P<m>\d{1,2})(?:[.\-/](?P<d>\d{1,2}))?(?!\d)"),
    # 一九六二年三月十五日
    re.compile(rf"(?P<cy>[{CN_NUM}]{{4}})年(?:(?P<cm>[{CN_NUM}]{{1,3}})月(?:(?P<cd>[{CN_NUM}]{{1,3}})日)?)?"),
    # 民国三十七年五月 (1948-05): Republican years, on the oldest materials
    re.compile(rf"民国(?P<ry>[{CN_NUM}]{{1,3}}|\d{{1,2}})年(?:(?P<rm>[{CN_NUM}]{{1,3}}|\d{{1,2}})月)?"),
)
# 78.9, 78年9月: a two-digit year, read as 19xx only right after a date label (elsewhere it is a number).
SHORT_DATE = re.compile(r"^(?P<y>[3-9]\d)\s*[.年]\s*(?P<m>\d{1,2})(?!\d)")


@dataclass(frozen=True)
class PageFacts:
    citizen_ids: list[str] = field(default_factory=list)  # check digit valid
    invalid_ids: list[str] = field(default_factory=list)  # 18 characters of the right shape, not a valid ID
    dates: list[str] = field(default_factory=list)  # "1962-03-15", "1962-03", "1962"
    names: list[str] = field(default_factory=list)
    birth_dates: list[str] = field(default_factory=list)  # dates written after 出生…
    work_start_dates: list[str] = field(default_factory=list)  # dates written after 参加工作时间…
    party_dates: list[str] = field(default_factory=list)  # after 入党时间
    graduation_dates: list[str] = field(default_factory=list)  # after 毕业时间
    education: list[str] = field(default_factory=list)  # after 文化程度 / 学历
    ethnicities: list[str] = field(default_factory=list)  # after 民族, without 族
    native_places: list[str] = field(default_factory=list)  # after 籍贯

    def as_dict(self) -> dict[str, list[str]]:
        return {
            "citizen_ids": [mask(i) for i in self.citizen_ids],
            "invalid_ids": [mask(i) for i in self.invalid_ids],
            "dates": self.dates,
            "names": self.names,
            "birth_dates": self.birth_dates,
            "work_start_dates": self.work_start_dates,
            "party_dates": self.party_dates,
            "graduation_dates": self.graduation_dates,
            "education": self.education,
            "ethnicities": self.ethnicities,
            "native_places": self.native_places,
        }


@dataclass(frozen=True)
class Statement:
    """One statement of a fact on a page: what the fact sheet lists, with the text it was read from."""

    kind: str  # a key of FACT_KINDS
    value: str  # an ISO date, partial as written (1978-09), or the words as written
    excerpt: str  # the label and value as read (cell rules and spaces removed)
    span: tuple[int, int] = (0, 0)  # where the value is written in the compacted text (cell rules removed)


@dataclass(frozen=True)
class LocatedFact:
    """A fact value on a page with where it was read: the page's OCR lines it sits on and its box."""

    fact: str  # a key of PAGE_FACT_KINDS
    value: str  # as Statement.value; a citizen ID in full
    excerpt: str
    lines: tuple[int, ...]  # indexes into the page's OCR lines
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 in page pixels: the value's characters, not its label
    confidence: float  # the OCR engine's, 0–100, over the value's characters
    valid: bool | None = None  # citizen IDs: whether the check digit holds (a misread digit breaks it)


def mask(citizen_id: str) -> str:
    """Sidecars and reports show the region and the last four only, like the counter does."""
    return citizen_id[:6] + "*" * 8 + citizen_id[-4:]


def cn_number(text: str) -> int:
    """一 → 1, 十 → 10, 十二 → 12, 二十 → 20, 二十五 → 25."""
    if "十" in text:
        tens, _, units = text.partition("十")
        return (CN_DIGITS.get(tens, 1) if tens else 1) * 10 + (CN_DIGITS.get(units, 0) if units else 0)
    return CN_DIGITS.get(text, 0)


def _partial(year: int, month: int | None, day: int | None) -> str:
    if month is None:
        return f"{year:04d}"
    if not 1 <= month <= 12:
        return f"{year:04d}"  # OCR misread the month: the year still stands
    if day is None:
        return f"{year:04d}-{month:02d}"
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return f"{year:04d}-{month:02d}"


def _number(text: str) -> int:
    return int(text) if text.isdigit() else cn_number(text)


def _written_dates(text: str) -> list[tuple[int, int, str]]:
    """(start, end, ISO date) of every date written in full (four-digit or Chinese-numeral year)."""
    found: list[tuple[int, int, str]] = []
    taken: list[range] = []
    for pattern in DATE_PATTERNS:
        for m in pattern.finditer(text):
            if any(m.start() in r for r in taken):
                continue
            groups = m.groupdict()
            if groups.get("y"):
                value = _partial(int(m["y"]), int(m["m"]) if m["m"] else None, int(m["d"]) if m["d"] else None)
            elif groups.get("ry"):
                month = groups.get("rm")
                value = _partial(1911 + _number(m["ry"]), _number(month) if month else None, None)
            else:
                year = int("".join(str(CN_DIGITS.get(c, 0)) for c in m["cy"]))
                value = _partial(year, cn_number(m["cm"]) if m["cm"] else None, cn_number(m["cd"]) if m["cd"] else None)
            if value:
                found.append((m.start(), m.end(), value))
                taken.append(range(m.start(), m.end()))
    return sorted(found)


def dates_in(text: str) -> list[str]:
    return [value for _, _, value in _written_dates(text)]


def date_spans(text: str) -> list[tuple[int, int, str]]:
    """Where `text` writes a date and which (ISO, partial as written): every form files use, and the dates
    after a date label as OCR misreads them or with a two-digit year (78.9). For search: a page is found by
    any of them."""
    spans = _written_dates(text)
    for label in DATE_LABELS.values():
        for m in label.finditer(text):
            start = rules.end() if (rules := CELL_RULES.match(text, m.end())) else m.end()
            read = _cell_date(text[start : start + 16])
            if read and not any(s <= start < e for s, e, _ in spans):
                spans.append((start, start + read[1], read[0]))
    return sorted(spans)


# A form's ruled cell lines, as OCR reads them between a label and its value (姓名：｜王伟, 姓名：「王伟).
CELL_RULES = re.compile(r"[\s|｜丨¦「」『』\[\]【】]+")


def statements(text: str) -> list[Statement]:
    """Every labelled fact the page states, in page order within each kind."""
    compact = CELL_RULES.sub("", text)
    return _statements(compact, _citizen_ids(compact)[0])


def _statements(compact: str, citizen_ids: list[str]) -> list[Statement]:
    found: list[Statement] = []
    for kind, label in DATE_LABELS.items():
        for m in label.finditer(compact):
            if (read := _date_after(compact, m.end())) is not None:
                value, end = read
                found.append(Statement(kind, value, compact[m.start() : end], (m.end(), end)))
    for kind, pattern in (
        ("education", EDUCATION_PATTERN),
        ("ethnicity", ETHNICITY_PATTERN),
        ("native_place", NATIVE_PLACE_PATTERN),
    ):
        found += [Statement(kind, m[1], m[0], m.span(1)) for m in pattern.finditer(compact)]
    valid = set(citizen_ids)
    found += [Statement("citizen_id", i, i, span) for i, span in _id_spans(compact) if i in valid]
    return found


def _id_spans(compact: str) -> list[tuple[str, tuple[int, int]]]:
    """Citizen IDs as written, 18 characters or the old 15 digits, with where they are: anywhere by their
    shape, and in the cell after an ID label read through OCR's look-alikes (readings.id_at), where one
    misread digit is corrected by the check character and the page's birth date."""
    found = [(m[1].upper(), m.span(1)) for m in ID_PATTERN.finditer(compact)]
    found += [(m[1], m.span(1)) for m in ID15_PATTERN.finditer(compact)]
    births: tuple[str, ...] | None = None
    for label in readings.ID_LABEL.finditer(compact):
        births = births if births is not None else tuple(_labelled_dates(compact, BIRTH_PATTERN))
        if read := readings.id_at(compact[: label.end() + 24], label.end(), births):
            value, end = read
            found = [f for f in found if f[1][1] <= label.end() or f[1][0] >= end] + [(value, (label.end(), end))]
    return sorted(found, key=lambda f: f[1])


def _labelled_dates(compact: str, label: re.Pattern[str]) -> list[str]:
    return [read[0] for m in label.finditer(compact) if (read := _date_after(compact, m.end()))]


def upgraded(number: str) -> str:
    """A 15-digit number as the 18-character ID it became (GB 11643-1999: 19 before the year, check character)."""
    if len(number) != 15:
        return number
    first17 = number[:6] + "19" + number[6:]
    return first17 + citizen_id.check_char(first17)


def _citizen_ids(compact: str) -> tuple[list[str], list[str]]:
    """(valid, invalid) 18-character IDs, each once."""
    valid: list[str] = []
    invalid: list[str] = []
    for candidate, _ in _id_spans(compact):
        (valid if citizen_id.is_valid(upgraded(candidate)) else invalid).append(candidate)
    return list(dict.fromkeys(valid)), list(dict.fromkeys(invalid))


def locate(lines: Sequence[OcrLine]) -> list[LocatedFact]:
    """Every fact value the page's lines state, with its box and the OCR's confidence in it: what the
    sidecar keeps for a person to check each value against the image (校对) and the alteration check reads."""
    # Where each character of the compacted text (as `statements` reads it) was on the page.
    origin = [(n, i) for group in reading_order(lines) for n, i in group if not CELL_RULES.fullmatch(lines[n].text[i])]
    compact = "".join(lines[n].text[i] for n, i in origin)
    valid, invalid = _citizen_ids(compact)
    stated: list[tuple[str, str, str, tuple[int, int], bool | None]] = [
        (s.kind, s.value, s.excerpt, s.span, s.kind == "citizen_id" or None) for s in _statements(compact, valid)
    ]
    stated += [("citizen_id", i, i, span, False) for i, span in _id_spans(compact) if i in invalid]
    stated += [("name", m[1], m[0], m.span(1), None) for m in NAME_PATTERN.finditer(compact)]
    boxes = [line.char_boxes() for line in lines]
    out = []
    for kind, value, excerpt, (start, end), valid_id in stated:
        chars = [boxes[n][i] for n, i in origin[start:end]]
        if not chars:
            continue
        box = (min(c[0] for c in chars), min(c[1] for c in chars), max(c[2] for c in chars), max(c[3] for c in chars))
        on = tuple(sorted({n for n, _ in origin[start:end]}))
        conf = round(sum(c[4] for c in chars) / len(chars), 1)
        out.append(LocatedFact(kind, value, excerpt, on, box, conf, valid_id))
    order = list(PAGE_FACT_KINDS)
    return sorted(out, key=lambda f: (order.index(f.fact), f.box[1], f.box[0]))


# A printed label standing in a cell of its own, as a row of labels over a row of values prints them.
LABEL_CELL = re.compile(
    r"(?:姓名|性别|民族|籍贯|文化程度|学历|婚姻状况|家庭出身|本人成分|职务|职别|原工资|现工资|连续工龄|退休原因|"
    r"出生(?:日期|年月|时间)?|参加(?:革命)?工作(?:时间|日期|年月)|入党(?:时间|日期|年月)|毕业(?:时间|日期|年月)|"
    r"(?:公民)?身份证?(?:号码|号)?)[:：]?"
)


def reading_order(lines: Sequence[OcrLine]) -> list[list[tuple[int, int]]]:
    """The page's characters, as (line, character) indexes, in the order facts are read: line by line, except
    that a row of printed labels over a row of values (a multi-column form: the label row, then the value row,
    where text order puts every value after all the row's labels) is read as one label and the value written
    beneath it in its column, then the next — paired by where the lines' words are on the page."""
    order: list[list[tuple[int, int]]] = []
    n = 0
    while n < len(lines):
        columns = _label_columns(lines[n], lines[n + 1]) if n + 1 < len(lines) else None
        if columns is None:
            order.append([(n, i) for i in range(len(lines[n].text))])
            n += 1
            continue
        for (start, end), values in columns:
            order.append([(n, i) for i in range(start, end)] + [(n + 1, i) for a, b in values for i in range(a, b)])
        n += 2
    return order


def reading_text(lines: Sequence[OcrLine]) -> str:
    """The page's text in `reading_order`, one line per line read (and per label with its value beneath)."""
    return "\n".join("".join(lines[n].text[i] for n, i in group) for group in reading_order(lines))


def _word_spans(line: OcrLine) -> list[tuple[int, int, int, int]]:
    """(start, end) in the line's text and (left, right) on the page of each word."""
    spans, at = [], 0
    for word in line.words:
        found = line.text.find(word.text, at)
        if found < 0 or not word.text.strip():
            continue
        at = found + len(word.text)
        spans.append((found, at, word.left, word.left + word.width))
    return spans


def _label_columns(labels: OcrLine, below: OcrLine) -> list[tuple[tuple[int, int], list[tuple[int, int]]]] | None:
    """Each label of a row of two or more labels alone in their cells with the words of the line just beneath
    whose middle is in its column (between the middles of its neighbours); None when `labels` is not such a row
    or `below` not a row of values under it."""
    cells = _word_spans(labels)
    if len(cells) < 2 or not all(LABEL_CELL.fullmatch(labels.text[a:b].strip()) for a, b, _, _ in cells):
        return None
    gap = below.top - (labels.top + labels.height)
    if below.top < labels.top + labels.height / 2 or gap > 3 * labels.height:
        return None
    values = _word_spans(below)
    if not values or any(LABEL_CELL.match(below.text[a:b].strip()) for a, b, _, _ in values):
        return None
    middles = [(x0 + x1) / 2 for _, _, x0, x1 in cells]
    bounds = [(m0 + m1) / 2 for m0, m1 in zip(middles, middles[1:], strict=False)]
    columns: list[tuple[tuple[int, int], list[tuple[int, int]]]] = [((a, b), []) for a, b, _, _ in cells]
    for a, b, x0, x1 in values:
        columns[sum((x0 + x1) / 2 >= bound for bound in bounds)][1].append((a, b))
    return columns


def extract(text: str) -> PageFacts:
    compact = CELL_RULES.sub("", text)
    valid, invalid = _citizen_ids(compact)
    stated: dict[str, list[str]] = {}
    for s in _statements(compact, valid):
        stated.setdefault(s.kind, []).append(s.value)
    return PageFacts(
        citizen_ids=valid,
        invalid_ids=invalid,
        dates=dates_in(compact),
        names=list(dict.fromkeys(NAME_PATTERN.findall(compact))),
        birth_dates=stated.get("birth_date", []),
        work_start_dates=stated.get("work_start", []),
        party_dates=stated.get("party_joined", []),
        graduation_dates=stated.get("graduated", []),
        education=stated.get("education", []),
        ethnicities=stated.get("ethnicity", []),
        native_places=stated.get("native_place", []),
    )


def _date_after(compact: str, at: int) -> tuple[str, int] | None:
    """The date written right after a field's label at `at` (within the next 16 characters), and where it
    ends: read through OCR's look-alikes at the start of the cell (readings.date_at), else the first date
    written in full within it."""
    after = compact[at : at + 16]
    if read := _cell_date(after):
        return read[0], at + read[1]
    if following := _written_dates(after):
        _, end, value = following[0]
        return value, at + end
    return None


def _cell_date(cell: str) -> tuple[str, int] | None:
    """The date a cell's value starts with, and where it ends: four-figure years through OCR's look-alikes,
    or a two-digit year (78.9), which only a date label makes a date."""
    if read := readings.date_at(cell):
        return read
    short = SHORT_DATE.match(readings.shadow(cell))
    if short and 1 <= int(short["m"]) <= 12:
        return f"19{short['y']}-{int(short['m']):02d}", short.end()
    return None


def compare(page: int, facts: PageFacts, retiree: RetireeFacts) -> list[Finding]:
    """Warnings for a page whose person is not the dossier's retiree."""
    findings = []
    # A file held before the system may not know its retiree's ID yet: no page can be told apart by it.
    wanted = retiree.citizen_id.upper()
    others = [i for i in facts.citizen_ids if upgraded(i) != wanted] if retiree.citizen_id else []
    if others:
        findings.append(
            Finding(
                "misfiled.citizen_id",
                Severity.warning,
                f"本页身份证号 {mask(others[0])} 与档案本人 {mask(retiree.citizen_id)} 不符，疑为他人材料误装",
                page=page,
                measured=[mask(i) for i in others],
                rule=mask(retiree.citizen_id),
            )
        )
    # OCR often reads the gap after a name as an extra character (何涛人), so a name that starts
    # with the retiree's is the retiree.
    other_names = [n for n in facts.names if not n.startswith(retiree.name)]
    if other_names and len(other_names) == len(facts.names):
        findings.append(
            Finding(
                "misfiled.name",
                Severity.warning,
                f"本页姓名“{other_names[0]}”与档案本人“{retiree.name}”不符，请核对是否误装",
                page=page,
                measured=other_names,
                rule=retiree.name,
            )
        )
    if retiree.birth_date:
        want = retiree.birth_date.isoformat()
        wrong = [d for d in facts.birth_dates if not want.startswith(d)]
        if wrong:
            findings.append(
                Finding(
                    "misfiled.birth_date",
                    Severity.warning,
                    f"本页出生日期 {wrong[0]} 与档案本人 {want} 不符，请核对",
                    page=page,
                    measured=wrong,
                    rule=want,
                )
            )
    return findings
