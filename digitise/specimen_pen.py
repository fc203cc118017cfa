"""The hands that fill in the handwritten specimen forms (digitise/specimen_hand.py), one of two built from
openly licensed material: `strokes` — the stroke medians of Make Me a Hanzi (npm `hanzi-writer-data`, Arphic
Public License) drawn with a jittered pen whose width follows the pressure, digits from our own stroke table;
`wenkai` — the OFL font LXGW WenKai (Debian `fonts-lxgw-wenkai`), each glyph turned, scaled, sheared and moved.

Every random choice is drawn from the `random.Random` given, the ink's unevenness too (`noise`, not PIL's
`Image.effect_noise`, which draws from the C library's unseeded generator): a page drawn from one seed is the
same page in any process, in any order.
"""

import hashlib
import json
import math
import random
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

STROKE_DATA = Path(__file__).resolve().parent.parent / "bench" / "handwriting" / "node_modules" / "hanzi-writer-data"
WENKAI = "/usr/share/fonts/truetype/lxgw-wenkai/LXGWWenKai-Regular.ttf"

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
    patch_w = min(sheet.width - ox, round(estimate(text, w) * 1.6 + 4 * w.size))
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
    flow = noise((max(1, mask.width // 8), max(1, mask.height // 8)), 40, rng).resize(mask.size)
    alpha = Image.fromarray(
        (np.asarray(mask, dtype=np.float32) * (0.75 + np.asarray(flow, dtype=np.float32) / 1020)).clip(0, 255)
        .astype(np.uint8)
    ).filter(ImageFilter.GaussianBlur(0.6))  # fmt: skip
    sheet.paste(Image.new("RGB", mask.size, ink), (ox, oy), alpha)
    return (found[0] + ox, found[1] + oy, found[2] + ox, found[3] + oy)


def estimate(text: str, w: Writer) -> float:
    """About how wide `text` is in this hand, in px."""
    return sum(w.size * (0.62 if c.isascii() else 1.0) * w.spacing * 1.05 for c in text)


def noise(size: tuple[int, int], sigma: float, rng: random.Random) -> Image.Image:
    """Grey noise around 128 with spread `sigma` (as `Image.effect_noise` makes), seeded by `rng`'s state, which
    it leaves as it is: every other choice of a page is drawn where it was before the noise was seeded."""
    seed = hashlib.blake2b(repr(rng.getstate()).encode(), digest_size=8).digest()
    draw = np.random.default_rng(int.from_bytes(seed, "big")).normal(128.0, sigma, (size[1], size[0]))
    return Image.fromarray(draw.clip(0, 255).astype(np.uint8))
