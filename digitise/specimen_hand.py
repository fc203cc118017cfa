"""Handwritten specimen pages: printed forms of the 1950s–1990s filled in by hand, with known entries.

Most personnel files are printed forms (干部履历表, 职工登记表, 工资审批表, 职工退休审批表 …) whose cells
were filled in with a fountain pen or a ballpoint, in blue-black or brown ink that has faded, on paper
that has yellowed. A page here is drawn the same way, and every choice a reader could lean on is drawn
independently of the others, from a seeded random generator:

  * the printed form: its title (size 5–12 mm, centred or set left or right, 10–45 mm from the top,
    sometimes under a 编号 line), ruled cells, printed labels, the form's own layout of fields;
  * the hand that fills it in, one of two built from openly licensed material: `strokes` — the
    stroke medians of Make Me a Hanzi (npm `hanzi-writer-data`, Arphic Public License) drawn with a
    jittered pen whose width follows the pressure, digits from our own stroke table; `wenkai` — the
    OFL font LXGW WenKai (Debian `fonts-lxgw-wenkai`), each glyph turned, scaled, sheared and moved;
  * the size of the writing (3.5–11 mm: from smaller than the print to as large as the title), its
    slant and baseline, the ink (blue-black, black, brown; fresh or faded), the paper (white to
    deeply yellowed, with stains and foxing);
  * dates in the three ways files write them (1957.6.13, 1957年6月13日, 一九五七年六月十三日) and
    citizen IDs of 15 digits (cards before 1999) and 18.

A page may have one digit of its birth date rewritten in another ink over the first (`altered`): what
the alteration check (疑似涂改) is measured on. The stroke data live in bench/handwriting/node_modules
(`npm ci` there; scripts/bootstrap.sh runs it).
"""

import json
import math
import random
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from digitise.specimen import A4_MM, SENTENCES, SpecimenPerson

STROKE_DATA = Path(__file__).resolve().parent.parent / "bench" / "handwriting" / "node_modules" / "hanzi-writer-data"
WENKAI = "/usr/share/fonts/truetype/lxgw-wenkai/LXGWWenKai-Regular.ttf"
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


# --- the hands ---------------------------------------------------------------------------------

# Digits and the few Latin marks a form's entries hold, as pen strokes in a 1024 box (y down).
DIGIT_STROKES: dict[str, list[list[tuple[int, int]]]] = {
    "0": [[(512, 120), (330, 220), (270, 512), (330, 800), (512, 900), (690, 800), (750, 512), (690, 220),
           (512, 120)]],
    "1": [[(430, 240), (540, 130), (530, 900)]],
    "2": [[(300, 300), (420, 150), (600, 140), (710, 280), (650, 480), (300, 880), (760, 870)]],
    "3": [[(310, 220), (500, 120), (680, 220), (620, 420), (470, 480)],
          [(470, 480), (690, 560), (700, 770), (500, 900), (290, 800)]],
    "4": [[(620, 900), (620, 130), (260, 640), (790, 640)]],
    "5": [[(690, 140), (360, 150), (320, 470), (560, 430), (720, 600), (660, 830), (460, 900), (300, 820)]],
    "6": [[(660, 170), (460, 220), (320, 520), (360, 820), (520, 900), (680, 790), (660, 580), (480, 530),
           (330, 650)]],
    "7": [[(290, 160), (740, 150), (470, 900)]],
    "8": [[(520, 480), (340, 350), (380, 170), (520, 120), (660, 190), (660, 360), (520, 480), (330, 640),
           (380, 860), (520, 910), (690, 840), (700, 640), (520, 480)]],
    "9": [[(680, 380), (520, 480), (350, 380), (380, 180), (540, 120), (690, 230), (680, 520), (600, 900)]],
    "X": [[(290, 170), (740, 880)], [(740, 170), (290, 880)]],
    ".": [[(470, 840), (500, 880), (470, 900)]],
    "〇": [[(512, 180), (320, 290), (280, 560), (400, 800), (600, 820), (740, 600), (700, 320), (512, 180)]],
}  # fmt: skip


@cache
def _medians(char: str) -> list[list[tuple[float, float]]] | None:
    if char in DIGIT_STROKES:
        return [[(float(x), float(y)) for x, y in s] for s in DIGIT_STROKES[char]]
    path = STROKE_DATA / f"{char}.json"
    if not path.exists():
        return None
    # Make Me a Hanzi's coordinates: 1024 box, y up, baseline at 900 → our y down.
    return [[(float(x), 900.0 - float(y)) for x, y in s] for s in json.loads(path.read_text())["medians"]]


def strokes_available() -> bool:
    return STROKE_DATA.is_dir()


@dataclass(frozen=True)
class Writer:
    """One person's hand on one page: what stays the same for every character they write."""

    hand: str
    size: float  # px, the height of a character
    slant: float  # shear, x per y
    weight: float  # pen width as a share of the size
    spacing: float  # advance as a share of the size
    jitter: float  # share of the size each stroke point wanders
    ink: tuple[int, int, int]


def _catmull(points: list[tuple[float, float]], steps: int = 6) -> list[tuple[float, float]]:
    if len(points) < 3:
        return points
    out = []
    pts = [points[0], *points, points[-1]]
    for i in range(1, len(pts) - 2):
        p0, p1, p2, p3 = pts[i - 1], pts[i], pts[i + 1], pts[i + 2]
        for t in np.linspace(0, 1, steps, endpoint=False):
            t2, t3 = t * t, t * t * t
            out.append(
                tuple(
                    0.5 * (2 * p1[k] + (-p0[k] + p2[k]) * t + (2 * p0[k] - 5 * p1[k] + 4 * p2[k] - p3[k]) * t2
                           + (-p0[k] + 3 * p1[k] - 3 * p2[k] + p3[k]) * t3)
                    for k in (0, 1)
                )
            )  # fmt: skip
    out.append(points[-1])
    return out


def _draw_strokes_char(
    mask: ImageDraw.ImageDraw, char: str, x: float, y: float, w: Writer, rng: random.Random
) -> float:
    """One character of the stroke hand at (x, y) top-left on a greyscale mask; its advance."""
    medians = _medians(char)
    size = w.size * rng.uniform(0.88, 1.1)
    if char in ".:：":
        size *= 1.0
    if medians is None:
        return size * 0.5
    angle = math.radians(rng.uniform(-5, 5))
    ca, sa = math.cos(angle), math.sin(angle)
    scale = size / 1024
    narrow = 0.62 if char in DIGIT_STROKES and char != "〇" else 1.0
    for stroke in medians:
        pts = []
        for px, py in stroke:
            px = (px - 512) * narrow + rng.gauss(0, w.jitter * 1024)
            py = py - 512 + rng.gauss(0, w.jitter * 1024)
            rx, ry = px * ca - py * sa, px * sa + py * ca
            rx += -w.slant * ry
            pts.append((x + size * narrow / 2 + rx * scale, y + size / 2 + ry * scale))
        smooth = _catmull(pts)
        width = max(1.0, w.weight * size * rng.uniform(0.8, 1.2))
        n = len(smooth)
        for i in range(n - 1):
            # Pressure: the pen lands and lifts thinner, heaviest a third of the way.
            t = i / max(1, n - 2)
            pressure = 0.55 + 0.45 * math.sin(math.pi * min(1.0, t * 1.3))
            r = width * pressure / 2
            (x0, y0), (x1, y1) = smooth[i], smooth[i + 1]
            mask.line((x0, y0, x1, y1), fill=255, width=max(1, round(2 * r)))
            mask.ellipse((x1 - r, y1 - r, x1 + r, y1 + r), fill=255)
    gap = rng.uniform(0.0, 0.12) * size
    return size * narrow * w.spacing + gap


@cache
def _wenkai(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(WENKAI, size)


def _draw_font_char(layer: Image.Image, char: str, x: float, y: float, w: Writer, rng: random.Random) -> float:
    size = max(8, round(w.size * rng.uniform(0.9, 1.1)))
    font = _wenkai(size)
    box = font.getbbox(char)
    cell = Image.new("L", (size * 2, size * 2), 0)
    ImageDraw.Draw(cell).text((size // 2, size // 2), char, font=font, fill=255)
    if w.weight > 0.075:  # a broad nib: thicken
        cell = cell.filter(ImageFilter.MaxFilter(3))
    cell = cell.transform(
        cell.size,
        Image.Transform.AFFINE,
        (1, w.slant + rng.uniform(-0.05, 0.05), -w.slant * size, 0, 1, 0),
        resample=Image.Resampling.BILINEAR,
    )
    cell = cell.rotate(rng.uniform(-5, 5), resample=Image.Resampling.BILINEAR)
    dy = rng.gauss(0, w.size * 0.04)
    layer.paste(255, (round(x - size // 2), round(y - size // 2 + dy)), cell)
    advance = (box[2] - box[0]) if char.isascii() else size
    return advance * w.spacing + rng.uniform(0.0, 0.1) * size + (size * 0.12 if char.isascii() else 0)


def write(
    sheet: Image.Image, text: str, x: float, y: float, w: Writer, rng: random.Random, ink: tuple[int, int, int]
) -> tuple[int, int, int, int]:
    """Write `text` by hand on the sheet from (x, y) (top-left of the first character); the box written."""
    # Drawn on a patch around the entry (a whole-sheet layer per entry costs seconds a page).
    ox, oy = max(0, round(x - w.size)), max(0, round(y - w.size))
    patch_w = min(sheet.width - ox, round(_estimate(text, w) * 1.6 + 4 * w.size))
    patch_h = min(sheet.height - oy, round(4 * w.size))
    mask = Image.new("L", (max(1, patch_w), max(1, patch_h)), 0)
    draw = ImageDraw.Draw(mask)
    x, y = x - ox, y - oy
    cx = x
    baseline_drift = rng.uniform(-0.03, 0.03)  # the line climbs or sinks as the hand moves right
    for char in text:
        cy = y + (cx - x) * baseline_drift + rng.gauss(0, w.size * 0.03)
        if w.hand == "strokes" and (_medians(char) is not None):
            cx += _draw_strokes_char(draw, char, cx, cy, w, rng)
        else:
            cx += _draw_font_char(mask, char, cx, cy, w, rng)
    found = mask.getbbox() or (round(x), round(y), round(x) + 1, round(y) + 1)
    # Ink is uneven: the pen runs dry and floods; a faded page less so.
    flow = Image.effect_noise((max(1, mask.width // 8), max(1, mask.height // 8)), 40).resize(mask.size)
    alpha = Image.fromarray(
        (np.asarray(mask, dtype=np.float32) * (0.75 + np.asarray(flow, dtype=np.float32) / 1020)).clip(0, 255)
        .astype(np.uint8)
    ).filter(ImageFilter.GaussianBlur(0.6))  # fmt: skip
    sheet.paste(Image.new("RGB", mask.size, ink), (ox, oy), alpha)
    return (found[0] + ox, found[1] + oy, found[2] + ox, found[3] + oy)


# --- the page --------------------------------------------------------------------------------------


def _paper(width: int, height: int, rng: random.Random) -> Image.Image:
    """Paper from fresh white to deeply yellowed, with broad stains and foxing."""
    age = rng.uniform(0, 1)
    base = np.array([246, 244, 238]) * (1 - age) + np.array([226, 204, 158]) * age
    low = np.asarray(Image.effect_noise((max(2, width // 64), max(2, height // 64)), 30).resize((width, height)))
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
            if _estimate(value, writer) > room:  # a long entry is written smaller, as people do
                w = Writer(**{**writer.__dict__, "size": writer.size * room / _estimate(value, writer)})
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
        if _estimate(sentence, small_writer) > right - left - px(6):
            sentence = sentence[
                : max(4, int(len(sentence) * (right - left - px(6)) / _estimate(sentence, small_writer)))
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
    image = _add_noise(image, rng.choice((3.0, 6.0, 10.0)), rng)
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


def _estimate(text: str, w: Writer) -> float:
    return sum(w.size * (0.62 if c.isascii() else 1.0) * w.spacing * 1.05 for c in text)


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
