"""A date or a citizen ID as OCR reads it out of the cell after its printed label.

Printed labels are read well; the handwritten value in the cell beside them is where OCR goes wrong,
and one wrong character loses the whole fact: 〇 read as 0 (一九六0年), 一 as a dash (—九七八年),
年 as 午 or 车, 月 as 日 or 用, O for 0 and l for 1, X as Y, the 日 or a separator not seen at all
(1960年4月19, 1957613), a stray dot inside the year (1.960年), its leading 1 lost (九五五年). So a
value right after its label is read through what each misread character most likely was — only there,
where a date or an ID is expected, never in running text.

A citizen ID's check character (GB 11643, the one rule in digitise/citizen_id.py) corrects one misread
digit when exactly one change of a digit into a look-alike gives a valid number (or, failing that,
exactly one that also encodes the birth date the page states); otherwise the number stays as read
and invalid, for a person to check.
"""

import re
from datetime import date

from digitise import citizen_id

CN_VALUE = {"〇": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
# What OCR reads in place of a date's characters, within a value only.
LOOKALIKES = {
    **dict.fromkeys("OoDQ°○零〇", "〇"),
    **dict.fromkeys("lIi!", "1"),
    **dict.fromkeys("Zz", "2"),
    **dict.fromkeys("Ss$", "5"),
    "b": "6",
    "G": "6",
    "B": "8",
    **dict.fromkeys("gq", "9"),
    **dict.fromkeys("—–ー_", "一"),
    "=": "二",
    "+": "十",
    **dict.fromkeys("午车牛丰乍", "年"),
    **dict.fromkeys("用目冃丹", "月"),
    **dict.fromkeys("曰口", "日"),
    **dict.fromkeys("．·。，,、/／-", "."),
    **{chr(0xFF10 + n): str(n) for n in range(10)},  # full-width figures
}
NUMERALS = set("0123456789") | set(CN_VALUE)
YEAR_MARKS = set("年.一")  # 一: a dash between the parts read as 一 (1960—4—19)
MONTH_MARKS = set("月日.一")  # 日 for 月 only where a day follows
LEADING = set(".:：")
X_LIKE = set("XxYy×K※乂メ")
# Digits OCR confuses on handwriting, for correcting one digit of an ID by its check character.
DIGIT_LOOKALIKES = {
    "0": "689",
    "1": "742",
    "2": "731",
    "3": "852",
    "4": "91",
    "5": "639",
    "6": "508",
    "7": "12",
    "8": "3069",
    "9": "4085",
}
EARLIEST_YEAR = citizen_id.EARLIEST_BIRTH_YEAR
DASH = re.compile(r"(?<=[0-9])一(?=[0-9])")


def shadow(text: str) -> str:
    """`text` with every look-alike replaced by what it stands for in a date, one character for one (a dash
    between two figures, read as 一, is a separator)."""
    return DASH.sub(".", "".join(LOOKALIKES.get(c, c) for c in text))


def _digit(c: str) -> int:
    return int(c) if c.isdigit() else CN_VALUE[c]


def _run(s: str, at: int) -> str:
    end = at
    while end < len(s) and s[end] in NUMERALS:
        end += 1
    return s[at:end]


def _number(run: str) -> int | None:
    """A month or day: 4, 04, 四, 十九, 二十, 三十一 (a run mixing scripts is read digit by digit)."""
    if "十" in run:
        tens, _, units = run.partition("十")
        if len(tens) > 1 or len(units) > 1:
            return None
        return (_digit(tens) if tens else 1) * 10 + (_digit(units) if units else 0)
    if not 1 <= len(run) <= 2:
        return None
    return int("".join(str(_digit(c)) for c in run))


def _year(s: str, at: int) -> tuple[int, int] | None:
    """The four-figure year at `at` (in either script, mixed as OCR mixes them; a stray dot inside it
    skipped when a 年 follows; a cell rule read as 1 in front of it skipped), and where it ends."""
    run = _run(s, at)
    if len(run) < 4 and at + len(run) < len(s) and s[at + len(run)] == ".":
        rest = _run(s, at + len(run) + 1)
        after = at + len(run) + 1 + len(rest)
        if len(run) + len(rest) == 4 and after < len(s) and s[after] == "年" and (year := _plausible(run + rest)):
            return year, after
    for skip in (0, 1):
        figures = run[skip : skip + 4]
        if len(figures) == 4 and (year := _plausible(figures)):
            return year, at + skip + 4
    # The leading 1 not seen (九五五年, 973.4.25): a three-figure year is not one a file holds.
    if len(run) == 3 and at + 3 < len(s) and s[at + 3] in "年." and (year := _plausible("1" + run)):
        return year, at + 3
    return None


def _plausible(figures: str) -> int:
    if "十" in figures:
        return 0
    year = int("".join(str(_digit(c)) for c in figures))
    return year if EARLIEST_YEAR <= year <= date.today().year else 0


def date_at(text: str, at: int = 0) -> tuple[str, int] | None:
    """The date written at `at` in `text` (a cell's value), as an ISO date partial as written (1957,
    1957-06, 1957-06-13), and where it ends; None when no year is written there."""
    s = shadow(text)
    while at < len(s) - 1 and s[at] in LEADING:
        at += 1
    found = _year(s, at)
    if found is None:
        return None
    year, i = found
    end = i
    if i < len(s) and s[i] in YEAR_MARKS:
        i += 1
        end = i if s[i - 1] == "年" else end
    run = _run(s, i)
    if not run:
        return _iso(year, None, None), end
    if len(run) >= 3 and "十" not in run:  # the marks were not seen: 1957613, 1957年613
        split = _split(year, run)
        if split is None:
            return _iso(year, None, None), end
        end = i + len(run)
        return _iso(year, *split), end + (end < len(s) and s[end] in "日月")
    month = _number(run)
    if month is None or not 1 <= month <= 12:
        return _iso(year, None, None), end
    i = end = i + len(run)
    day = None
    if i < len(s) and s[i] in MONTH_MARKS:
        day_run = _run(s, i + 1)
        day = _number(day_run) if day_run else None
        if day is not None and 1 <= day <= 31:
            end = i + 1 + len(day_run)
            end += end < len(s) and s[end] in "日月"
        else:
            day = None
            end = i + (s[i] == "月")
    return _iso(year, month, day), end


def _split(year: int, run: str) -> tuple[int, int] | None:
    """Month and day of figures written without their marks (613 → 6, 13), when only one split is a date."""
    splits = []
    for cut in (1, 2):
        month, day = _number(run[:cut]), _number(run[cut:])
        if month and day and 1 <= month <= 12 and _real(year, month, day):
            splits.append((month, day))
    return splits[0] if len(splits) == 1 else None


def _real(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def _iso(year: int, month: int | None, day: int | None) -> str:
    if month is None:
        return f"{year:04d}"
    if day is None or not _real(year, month, day):
        return f"{year:04d}-{month:02d}"
    return date(year, month, day).isoformat()


ID_LABEL = re.compile(r"身份证?(?:号码|号)?[:：]?")


def id_at(text: str, at: int, birth_dates: tuple[str, ...] = ()) -> tuple[str, int] | None:
    """The citizen ID written at `at` (the cell after its label): 18 characters or the 15 digits of the
    first cards, look-alikes read as digits, stray dots skipped, one misread digit corrected where its
    check character says which (see `corrected`); and where it ends."""
    s = shadow(text)
    figures: list[str] = []
    i = at
    while i < len(s) and len(figures) < 18:
        c = s[i]
        if c.isdigit() or c == "〇":
            figures.append("0" if c == "〇" else c)
        elif c in X_LIKE and len(figures) == 17:
            figures.append("X")
        elif not (c == "." and figures):
            break
        i += 1
    number = "".join(figures)
    if len(number) == 18:
        return corrected(number, birth_dates), i
    if len(number) == 15 and number.isdigit():
        return number, i
    return None


def corrected(number: str, birth_dates: tuple[str, ...] = ()) -> str:
    """An 18-character ID as read, or the one valid ID a single look-alike digit away from it — encoding the
    page's birth date where one was read (a fix that makes a valid number of another birth date is none)."""
    if citizen_id.is_valid(number):
        return number
    candidates = []
    for n, c in enumerate(number):
        for other in DIGIT_LOOKALIKES.get(c, ""):
            candidate = number[:n] + other + number[n + 1 :]
            if citizen_id.is_valid(candidate):
                candidates.append(candidate)
    born = {d.replace("-", "") for d in birth_dates if len(d) == 10}
    if born:  # the page's own birth date says which, and refuses a fix that makes another person's number
        candidates = [c for c in candidates if c[6:14] in born]
    return candidates[0] if len(candidates) == 1 else number


def ids_read(text: str, birth_dates: tuple[str, ...] = ()) -> list[str]:
    """Every citizen ID a re-read of an ID's cell gives (the crop may hold the end of its label): a whole
    run of 18 characters or 15 digits, look-alikes read as digits, that is a valid number (15 digits: as
    the 18-character ID it became). A run of any other length is no reading: digits are never made up."""
    return [n for n in _whole_runs(text, birth_dates) if citizen_id.is_valid(n if len(n) == 18 else _upgraded(n))]


def _whole_runs(text: str, birth_dates: tuple[str, ...] = ()) -> list[str]:
    """Every whole run of 18 characters or 15 digits in `text`, valid or not (as `id_at` reads it)."""
    s = shadow(text)
    found: list[str] = []
    for at, c in enumerate(s):
        if not (c.isdigit() or c == "〇") or (at and (s[at - 1].isdigit() or s[at - 1] == "〇")):
            continue
        read = id_at(s, at, birth_dates)
        if read is None:
            continue
        number, end = read
        if end < len(s) and (s[end].isdigit() or s[end] == "〇" or s[end] in X_LIKE):
            continue  # 19 figures or more: not a number as written
        found.append(number)
    return found


def _upgraded(fifteen: str) -> str:
    first17 = fifteen[:6] + "19" + fifteen[6:]
    return first17 + citizen_id.check_char(first17)


def reread_id(readings: list[str], birth_dates: tuple[str, ...] = ()) -> str | None:
    """The citizen ID an ID's cell re-read by other readers says (the cell as each reader read it), when the
    page's own reading failed its check character or its length: the one valid number they give — and,
    where the page states a birth date, the one that encodes it. None when none, or two disagreeing, are
    valid: the value stays as the page read it, flagged for the 校对 screen. Two 18-figure readings that
    differ in one place only also give the number with that figure filled by the check character
    (`one_in_doubt`), one more candidate that must be the only one."""
    born = {d.replace("-", "") for d in birth_dates if len(d) == 10}
    numbers = {n for text in readings for n in ids_read(text, birth_dates)}
    numbers |= one_in_doubt([n for text in readings for n in _whole_runs(text)], birth_dates)
    if born:
        numbers = {n for n in numbers if (n[6:14] if len(n) == 18 else "19" + n[6:12]) in born}
    return numbers.pop() if len(numbers) == 1 else None


def one_in_doubt(numbers: list[str], birth_dates: tuple[str, ...]) -> set[str]:
    """The valid numbers that two readings of one 18-character ID, equal but at one position, give with that
    position filled by the check character: ISO 7064 MOD 11-2 has at most one value for one unknown position
    (its weights are all non-zero mod 11), so where two readers disagree on one figure and agree on the other
    17, the check character says which figure it was — as a check digit is meant to restore one illegible
    figure. Only with a birth date read elsewhere on the page, which a filled number must encode: readers who
    agree on a wrong figure elsewhere would make a valid, wrong number, and the birth date catches most of
    those (`reread_id` keeps only numbers that encode it)."""
    if not any(len(d) == 10 for d in birth_dates):
        return set()
    long = sorted({n for n in numbers if len(n) == 18})
    filled: set[str] = set()
    for a, b in ((a, b) for i, a in enumerate(long) for b in long[i + 1 :]):
        apart = [i for i in range(18) if a[i] != b[i]]
        if len(apart) != 1:
            continue
        at = apart[0]
        options = "0123456789X" if at == 17 else "0123456789"
        filled |= {c for d in options if citizen_id.is_valid(c := a[:at] + d + a[at + 1 :])}
    return filled


def reads_as(text: str, number: str, birth_dates: tuple[str, ...] = ()) -> bool:
    """Whether a re-read's text gives `number` (as `reread_id` takes it): whole, or but for one figure."""
    return any(len(n) == len(number) and sum(a != b for a, b in zip(n, number, strict=True)) <= 1
               for n in _whole_runs(text, birth_dates))  # fmt: skip


VALUE_GAP = set(" .|｜丨¦「」『』[]【】")  # what may sit between an ID's figures as OCR reads a cell


def id_cell(line: str) -> tuple[int, int] | None:
    """Where, in one OCR line, the value after an ID label is written (from its first figure to its last), when
    at least 6 figures are read there: the span a re-read of the cell replaces."""
    label = ID_LABEL.search(line)
    if label is None:
        return None
    s = shadow(line)
    first = last = -1
    figures = 0
    for i in range(label.end(), len(s)):
        c = s[i]
        if c.isdigit() or c == "〇" or (c in X_LIKE and figures >= 14):
            first = i if first < 0 else first
            last, figures = i, figures + 1
        elif c not in VALUE_GAP:
            break
    return (first, last + 1) if figures >= 6 else None
