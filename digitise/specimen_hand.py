"""Handwritten specimen pages: printed forms of the 1950s–1990s filled in by hand, with known entries.

Most personnel files are printed forms (干部履历表, 职工登记表, 工资审批表, 职工退休审批表 …) whose cells
were filled in with a fountain pen or a ballpoint, in blue-black or brown ink that has faded, on paper
that has yellowed. A page here is drawn the same way, and every choice a reader could lean on is drawn
independently of the others, from a seeded random generator:

  * the printed form: its title (size 5–12 mm, centred or set left or right, 10–45 mm from the top,
    sometimes under a 编号 line), ruled cells, printed labels, the form's own layout of fields;
  * the hand that fills it in, one of two built from openly licensed material (digitise/specimen_pen.py):
    `strokes`, pen strokes along Make Me a Hanzi's stroke medians, or `wenkai`, the glyphs of an OFL font
    each turned, scaled, sheared and moved;
  * the size of the writing (3.5–11 mm: from smaller than the print to as large as the title), its
    slant and baseline, the ink (blue-black, black, brown; fresh or faded), the paper (white to
    deeply yellowed, with stains and foxing);
  * dates in the three ways files write them (1957.6.13, 1957年6月13日, 一九五七年六月十三日) and
    citizen IDs of 15 digits (cards before 1999) and 18.

A page may have one digit of its birth date rewritten in another ink over the first (`altered`): what
the alteration check (疑似涂改) is measured on. The stroke data live in bench/handwriting/node_modules
(`npm ci` there; scripts/bootstrap.sh runs it).

A page depends on its generator alone: a set of pages is drawn with one generator a page (`page_rng`), so page 7
of a seed is the same page whatever was drawn before it, in whatever order, in whatever process.
"""

import random
from dataclasses import dataclass, field
from datetime import date

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from digitise.specimen import A4_MM, SENTENCES, SpecimenPerson
from digitise.specimen_pen import Writer, estimate, noise, strokes_available, write

PRINT_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",  # 宋体, as most forms were set
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",  # 黑体 titles
    "/usr/share/fonts/truetype/arphic/uming.ttc",
)
HANDS = ("strokes", "wenkai")

# The forms and their printed fields, in the order they are printed (label, what is written in it).
# Each form its own layout: how many label–value pairs per row.
FORMS: dict[str, tuple[str, int, tuple[tuple[str, str], ...]]] = {
    "干部履历表": ("1", 2, (("姓名", "name"), ("性别", "sex"), ("出生年月", "birth"), ("民族", "ethnicity"),
                       ("籍贯", "native"), ("文化程度", "education"), ("参加工作时间", "work_start"),
                       ("身份证号码", "id"))),
    "职工登记表": ("1", 3, (("姓名", "name"), ("性别", "sex"), ("民族", "ethnicity"), ("出生日期", "birth"),
                       ("籍贯", "native"), ("文化程度", "education"), ("公民身份号码", "id"),
                       ("参加工作时间", "work_start"))),
    "工资审批表": ("9", 2, (("姓名", "name"), ("出生日期", "birth"), ("参加工作时间", "work_start"),
                       ("原工资", "wage"), ("公民身份号码", "id"), ("现工资", "wage2"))),
    "职工退休审批表": ("9", 1, (("姓名", "name"), ("出生日期", "birth"), ("公民身份号码", "id"),
                         ("参加工作时间", "work_start"), ("连续工龄", "years"), ("退休原因", "reason"))),
}  # fmt: skip
INKS = {  # fresh, as written; a page's ink is faded towards the paper by a drawn amount
    "blue-black": (28, 38, 92),
    "black": (25, 25, 28),
    "brown": (105, 62, 35),
    "blue": (30, 60, 150),
}
CN_DIGIT = "〇一二三四五六七八九"
NATIVE = ("河北保定", "山东济南", "江苏无锡", "浙江宁波", "河南开封", "湖北孝感", "辽宁沈阳")
EDUCATION = ("初中", "高中", "小学", "中专", "大专")


@dataclass
class HandPage:
    image: Image.Image
    text: str  # what the page says, in reading order, without whitespace (the CER's truth)
    dpi: int
    title: str
    class_code: str
    hand: str
    birth_written: str  # as written on the page
    id_written: str  # 15 or 18 digits
    work_start_iso: str  # as the fact rules give it (1975-09 or 1975-09-01)
    altered: bool = False
    altered_box: tuple[int, int, int, int] | None = None  # the rewritten digit, in sheet pixels before skew
    blank: bool = False
    has_seal: bool = False
    facts_box: dict[str, tuple[int, int, int, int]] = field(default_factory=dict)


def page_rng(seed: int, index: int) -> random.Random:
    """The generator of page `index` of the set drawn from `seed`: each page depends on these two alone, not on
    how many draws the pages before it took (one generator for the whole set made a page's ID length or date
    form hang on every choice before it) nor on the order the pages are drawn in."""
    return random.Random(f"hand-page/{seed}/{index}")


def written_date(when: date, style: int, day: bool = True) -> str:
    """The three ways files write a date: 1957.6.13, 1957年6月13日, 一九五七年六月十三日."""
    if style == 0:
        return f"{when.year}.{when.month}.{when.day}" if day else f"{when.year}.{when.month}"
    if style == 1:
        return f"{when.year}年{when.month}月{when.day}日" if day else f"{when.year}年{when.month}月"
    year = "".join(CN_DIGIT[int(d)] for d in str(when.year))
    return f"{year}年{_cn(when.month)}月{_cn(when.day)}日" if day else f"{year}年{_cn(when.month)}月"


def _cn(n: int) -> str:
    if n < 10:
        return CN_DIGIT[n]
    tens, units = divmod(n, 10)
    return ("十" if tens == 1 else CN_DIGIT[tens] + "十") + (CN_DIGIT[units] if units else "")


def id15(person: SpecimenPerson) -> str:
    """The 15-digit number of a card issued before 1999: region, yymmdd, serial (no check character)."""
    return person.citizen_id[:6] + person.citizen_id[8:17]


# --- the page --------------------------------------------------------------------------------------


def _paper(width: int, height: int, rng: random.Random) -> Image.Image:
    """Paper from fresh white to deeply yellowed, with broad stains and foxing."""
    age = rng.uniform(0, 1)
    base = np.array([246, 244, 238]) * (1 - age) + np.array([226, 204, 158]) * age
    low = np.asarray(noise((max(2, width // 64), max(2, height // 64)), 30, rng).resize((width, height)))
    shade = (low.astype(np.float32) - 128) / 128 * 10 * (0.3 + age)
    pixels = np.clip(base[None, None, :] + shade[:, :, None] * np.array([1.0, 1.05, 1.3]), 0, 255).astype(np.uint8)
    paper = Image.fromarray(pixels)
    draw = ImageDraw.Draw(paper, "RGBA")
    for _ in range(rng.randint(0, int(30 * age))):  # foxing
        fx, fy, r = rng.randrange(width), rng.randrange(height), rng.uniform(2, 9) * width / 2480
        draw.ellipse((fx - r, fy - r, fx + r, fy + r), fill=(150, 100, 50, rng.randint(30, 90)))
    if rng.random() < 0.4 * age:  # a water stain's tide line
        sx, sy, r = rng.randrange(width), rng.randrange(height), rng.uniform(0.08, 0.2) * width
        draw.ellipse((sx - r, sy - r, sx + r, sy + r), outline=(160, 120, 70, 60), width=max(2, width // 600))
    return paper


def _faded(ink: tuple[int, int, int], paper: tuple[int, int, int], fade: float) -> tuple[int, int, int]:
    return tuple(round(i + (p - i) * fade) for i, p in zip(ink, paper, strict=True))  # type: ignore[return-value]


def draw_hand_page(
    rng: random.Random,
    who: SpecimenPerson,
    *,
    title: str | None = None,
    hand: str | None = None,
    altered: bool = False,
    dpi: int = 300,
    skew: float | None = None,
    seal: bool | None = None,
    ink: str | None = None,
    fade: float | None = None,
    labels_above: bool = False,
) -> HandPage:
    """One printed form filled in by hand, as a flatbed scanner delivers it (RGB, dark lid around it);
    `ink` (a key of INKS) and `fade` (0–1, towards the paper) as drawn unless given. `labels_above`: each row
    of the form is a row of labels over a row of value cells (the value written below its label)."""
    from digitise.specimen import _add_noise, _draw_seal, _on_scanner_bed

    px = lambda mm: round(mm / 25.4 * dpi)  # noqa: E731
    width, height = px(A4_MM[0]), px(A4_MM[1])
    sheet = _paper(width, height, rng)
    centre = np.asarray(sheet)[height // 2, width // 2]
    paper_rgb = (int(centre[0]), int(centre[1]), int(centre[2]))
    draw = ImageDraw.Draw(sheet)
    title = title or rng.choice(list(FORMS))
    class_code, per_row, fields = FORMS[title]
    hand = hand or rng.choice(HANDS)
    if hand == "strokes" and not strokes_available():
        hand = "wenkai"
    printed_ink = (30, 28, 30) if rng.random() < 0.7 else (40, 45, 70)
    print_font = rng.choice(PRINT_FONTS)
    text: list[str] = []

    # The title: any size, set centred or off-centre, high or low on the sheet.
    title_mm = rng.uniform(5, 12)
    title_font = ImageFont.truetype(rng.choice(PRINT_FONTS[:2]), px(title_mm))
    tw = draw.textlength(title, font=title_font)
    top = px(rng.uniform(10, 45))
    if rng.random() < 0.3:  # a file number above, as some forms print it
        small = ImageFont.truetype(print_font, px(3.2))
        draw.text((px(25), top), "编号：", font=small, fill=printed_ink)
        text.append("编号：")
        top += px(7)
    align = rng.choice(("centre", "centre", "left", "right"))
    tx = {"centre": (width - tw) / 2, "left": px(rng.uniform(22, 40)), "right": width - tw - px(rng.uniform(22, 40))}
    draw.text((tx[align], top), title, font=title_font, fill=printed_ink)
    text.append(title)

    # The writer of this page.
    label_mm = rng.uniform(3.2, 4.5)
    label_font = ImageFont.truetype(print_font, px(label_mm))
    writer = Writer(
        hand,
        size=px(rng.uniform(3.5, min(11.0, title_mm + 1))),
        slant=rng.uniform(-0.05, 0.25),
        weight=rng.uniform(0.05, 0.11),
        spacing=rng.uniform(0.95, 1.2),
        jitter=rng.uniform(0.004, 0.012),
        ink=rng.choice(list(INKS.values())),
    )
    drawn_fade = rng.uniform(0.0, 0.5)
    if ink:
        writer = Writer(**{**writer.__dict__, "ink": INKS[ink]})
    written_ink = _faded(writer.ink, paper_rgb, drawn_fade if fade is None else fade)

    birth_style, work_style = rng.randrange(3), rng.randrange(3)
    birth_text = written_date(who.birth_date, birth_style)
    work = date(who.work_start.year, who.work_start.month, rng.randint(1, 28))
    work_day = rng.random() < 0.5
    work_text = written_date(work, work_style, day=work_day)
    work_iso = work.isoformat() if work_day else f"{work:%Y-%m}"
    id_text = id15(who) if rng.random() < 0.4 else who.citizen_id
    values = {
        "name": who.name,
        "sex": "男" if who.sex == "M" else "女",
        "birth": birth_text,
        "ethnicity": "汉",
        "native": rng.choice(NATIVE),
        "education": rng.choice(EDUCATION),
        "work_start": work_text,
        "id": id_text,
        "wage": f"{rng.randint(38, 90)}.{rng.randint(0, 9)}元",
        "wage2": f"{rng.randint(45, 120)}.{rng.randint(0, 9)}元",
        "years": f"{rng.randint(20, 40)}年",
        "reason": "年满六十周岁" if who.sex == "M" else "年满五十周岁",
    }

    # The ruled table: rows of label and value cells; a row tall enough for the hand's size.
    left, right = px(20), width - px(20)
    y = top + px(title_mm) + px(rng.uniform(8, 16))
    row_h = max(px(label_mm) + px(5), round(writer.size * 1.5))
    rows = [fields[i : i + per_row] for i in range(0, len(fields), per_row)]
    line_w = max(2, dpi // 120)
    facts_box: dict[str, tuple[int, int, int, int]] = {}
    birth_box: tuple[int, int, int, int] | None = None
    birth_origin: tuple[float, float] | None = None
    label_h = px(label_mm) + px(4) if labels_above else 0  # the row of labels over the values' row
    for row in rows:
        draw.rectangle((left, y, right, y + label_h + row_h), outline=printed_ink, width=line_w)
        if labels_above:
            draw.line((left, y + label_h, right, y + label_h), fill=printed_ink, width=line_w)
        cell_w = (right - left) / len(row)
        for k, (label, key) in enumerate(row):
            x0 = left + k * cell_w
            if k:
                draw.line((x0, y, x0, y + label_h + row_h), fill=printed_ink, width=line_w)
            lw = draw.textlength(label, font=label_font)
            ly = y + ((label_h or row_h) - px(label_mm)) / 2
            draw.text((x0 + px(2), ly), label, font=label_font, fill=printed_ink)
            split = x0 if labels_above else x0 + lw + px(4)
            if not labels_above:
                draw.line((split, y, split, y + row_h), fill=printed_ink, width=line_w)
            value = values[key]
            # Written where the pen landed: not always centred, sometimes crowding the rule.
            vx = split + px(rng.uniform(1.5, 6))
            vy = y + label_h + (row_h - writer.size) / 2 + rng.uniform(-0.12, 0.12) * writer.size
            room = x0 + cell_w - vx - px(1)
            w = writer
            if estimate(value, writer) > room:  # a long entry is written smaller, as people do
                w = Writer(**{**writer.__dict__, "size": writer.size * room / estimate(value, writer)})
                vy = y + label_h + (row_h - w.size) / 2
            box = write(sheet, value, vx, vy, w, rng, written_ink)
            facts_box[key] = box
            if key == "birth":
                birth_box, birth_origin = box, (vx, vy)
            text.append(label + value)
        y += label_h + row_h
    # A running remark in the same hand, and the printed foot of the form.
    note_font = label_font
    draw.text((left, y + px(6)), "本人简历及主要表现：", font=note_font, fill=printed_ink)
    text.append("本人简历及主要表现：")
    y += px(6) + px(label_mm) + px(4)
    small_writer = Writer(**{**writer.__dict__, "size": min(writer.size, px(6))})
    for sentence in rng.sample(SENTENCES, rng.randint(1, 3)):
        if y + small_writer.size * 1.6 > height - px(45):
            break
        if estimate(sentence, small_writer) > right - left - px(6):
            sentence = sentence[
                : max(4, int(len(sentence) * (right - left - px(6)) / estimate(sentence, small_writer)))
            ]
        write(sheet, sentence, left + px(3), y, small_writer, rng, written_ink)
        text.append(sentence)
        y += small_writer.size * 1.6
    foot = "以上情况属实"
    draw.text((left, height - px(rng.uniform(30, 40))), foot, font=label_font, fill=printed_ink)
    text.append(foot)

    altered_box = None
    if altered and birth_box and birth_origin:
        altered_box = _rewrite_a_digit(sheet, birth_text, birth_box, writer, rng, written_ink, paper_rgb)
    has_seal = rng.random() < 0.35 if seal is None else seal
    if has_seal:
        _draw_seal(sheet, (width - px(rng.uniform(45, 70)), height - px(rng.uniform(45, 70))), px(19), dpi)
    skew = rng.uniform(-2.5, 2.5) if skew is None else skew
    image = _on_scanner_bed(sheet, dpi, skew, rng)
    amount = rng.choice((3.0, 6.0, 10.0))
    image = _add_noise(image, amount, rng, noise(image.size, amount, rng))
    truth = "".join("".join(t.split()) for t in text)
    return HandPage(
        image,
        truth,
        dpi,
        title,
        class_code,
        hand,
        birth_text,
        id_text,
        work_iso,
        altered and altered_box is not None,
        altered_box,
        False,
        has_seal,
        facts_box,
    )


def _rewrite_a_digit(
    sheet: Image.Image,
    written: str,
    box: tuple[int, int, int, int],
    writer: Writer,
    rng: random.Random,
    ink: tuple[int, int, int],
    paper: tuple[int, int, int],
) -> tuple[int, int, int, int] | None:
    """A digit of the written date written over in another pen: the new stroke in a different ink, heavier,
    over the old one (what a forger does to move a birth year)."""
    digits = [i for i, c in enumerate(written) if c.isdigit() or c in CN_DIGIT]
    if not digits:
        return None
    i = rng.choice(digits[2:] or digits)  # not the 19 of the year: the decade, year, month or day
    # Where the character sits: the box split by the characters' estimated widths.
    widths = [0.62 if c.isascii() else 1.0 for c in written]
    x0 = box[0] + (box[2] - box[0]) * sum(widths[:i]) / sum(widths)
    x1 = box[0] + (box[2] - box[0]) * sum(widths[: i + 1]) / sum(widths)
    other = rng.choice([c for name, c in INKS.items() if c != writer.ink])
    new_ink = _faded(other, paper, rng.uniform(0.0, 0.15))
    old = written[i]
    new = str((int(old) + rng.randint(1, 8)) % 10) if old.isdigit() else CN_DIGIT[(CN_DIGIT.index(old) + 3) % 10]
    heavier = Writer(**{**writer.__dict__, "weight": writer.weight * rng.uniform(1.1, 1.5), "ink": other})
    size = writer.size
    done = write(sheet, new, x0 + (x1 - x0 - size * (0.62 if new.isascii() else 1)) / 2, box[1] + rng.uniform(-2, 2),
                 heavier, rng, new_ink)  # fmt: skip
    return (min(done[0], round(x0)), min(done[1], box[1]), max(done[2], round(x1)), max(done[3], box[3]))
