"""Signs of alteration (疑似涂改) on the colour master: a date, name or ID whose strokes are not all of one pen.

Benefit fraud most often rewrites a digit of a birth or work-start date. The pen that rewrites it is
rarely the pen that wrote the rest: its ink differs in colour or in how dark it lies, and a figure
written over another leaves more ink in one place than the hand leaves anywhere else. On the page
image (the straightened colour scan, in the pixels the sidecar's boxes use) each value's box is taken
apart into the glyphs its ink forms (runs of columns with ink) within its own cell — the printed rules,
what lies beyond them (a label, the next cell) and the stubs of rules above and below are left out —
and each glyph's ink is described by its colour *relative to the paper* (so yellowed paper does not
colour black ink) and its darkness. A glyph whose ink stands apart from the value's other glyphs by
more than the hand's own spread flags the value, and so does a glyph partly in another ink (a figure
written over another) — a hint for a person, never a verdict.

Measured in bench/digitise.py on pages with one date digit rewritten in another ink (recall) and on the
unaltered values of every page (false flags); figures in bench/RESULTS.md.
"""

from collections.abc import Sequence

import numpy as np
from PIL import Image

from digitise.facts import LocatedFact

CHECKED_FACTS = frozenset({"name", "birth_date", "work_start", "party_joined", "graduated", "citizen_id"})
MIN_GLYPHS = 3  # a value of fewer glyphs has no "rest" to stand apart from
MIN_INK = 30  # pixels of ink a glyph needs for its colour to be judged
COLOUR_APART = 0.14  # paper-relative colour distance of a glyph from the value's median (hand's spread ~0.03)
DARKNESS_APART = 0.3  # … or its ink this much darker/lighter (share of the paper's brightness)
SPREAD_TIMES = 5.0  # and in either case this many times the value's own spread between glyphs
SMALL_GLYPH = 0.35  # a glyph with less ink than this share of the value's typical one is not judged
OVER_SHARE = 0.15  # written over: this share of one glyph's ink in a colour apart from the value's …
OVER_INK = 0.3  # … and at least this share of a typical glyph's ink (not a few tinted edge pixels)


def suspected(page: Image.Image, facts: Sequence[LocatedFact]) -> list[dict[str, object]]:
    """The sidecar's `suspected_alterations` of a page: [{"fact", "value", "box"}] for each value whose
    glyphs are not of one ink. Colour pages only: a grey or bilevel scan cannot show another ink."""
    if page.mode != "RGB":
        return []
    pixels = np.asarray(page)
    out: list[dict[str, object]] = []
    for fact in facts:
        if fact.fact not in CHECKED_FACTS:
            continue
        x0, y0, x1, y1 = fact.box
        pad = max(2, (y1 - y0) // 6)
        crop = pixels[max(0, y0 - pad) : y1 + pad, max(0, x0) : x1]
        if crop.size == 0:
            continue
        if _stands_apart(crop, pad):
            out.append({"fact": fact.fact, "value": fact.value, "box": list(fact.box)})
    return out


def _stands_apart(crop: np.ndarray, pad: int = 0) -> bool:
    rgb = crop.astype(np.float32)
    grey = rgb.mean(axis=2)
    paper_level = float(np.percentile(grey, 85))
    ink = _value_ink(grey < paper_level * 0.72, pad)
    if ink.sum() < MIN_INK * MIN_GLYPHS:
        return False
    paper = np.median(rgb[grey >= paper_level * 0.92], axis=0) + 1.0 if (grey >= paper_level * 0.92).any() else None
    if paper is None:
        return False
    ratio = rgb / paper  # the ink's colour relative to the paper: black ink is grey whatever the paper's tint
    chroma = ratio - ratio.mean(axis=2, keepdims=True)  # the hue, not how dark
    glyphs = [(start, stop) for start, stop in _glyph_columns(ink) if ink[:, start:stop].sum() >= MIN_INK]
    typical = float(np.median([ink[:, a:b].sum() for a, b in glyphs])) if glyphs else 0.0
    # A dot or a comma is not judged: its few pixels are mostly edge, tinted by the paper.
    judged = [(a, b) for a, b in glyphs if ink[:, a:b].sum() >= typical * SMALL_GLYPH]
    if len(judged) < MIN_GLYPHS:
        return False
    colours = np.array([np.median(chroma[:, a:b][ink[:, a:b]], axis=0) for a, b in judged])
    darkness = np.array([float(np.median(ratio[:, a:b][ink[:, a:b]].mean(axis=1))) for a, b in judged])
    centre = np.median(colours, axis=0)
    apart = np.linalg.norm(colours - centre, axis=1)
    dark_apart = np.abs(darkness - np.median(darkness))
    spread = float(np.median(apart)) + 0.01
    dark_spread = float(np.median(dark_apart)) + 0.02
    by_colour = (apart > COLOUR_APART) & (apart > SPREAD_TIMES * spread)
    by_darkness = (dark_apart > DARKNESS_APART) & (dark_apart > SPREAD_TIMES * dark_spread)
    if (by_colour | by_darkness).any():
        return True
    # A figure written over another: part of one glyph in another ink, too little to move its median.
    other_ink = (np.linalg.norm(chroma - centre, axis=2) > COLOUR_APART) & ink
    for a, b in judged:
        over = int(other_ink[:, a:b].sum())
        if over >= OVER_SHARE * ink[:, a:b].sum() and over >= OVER_INK * typical:
            return True
    return False


def _value_ink(ink: np.ndarray, pad: int) -> np.ndarray:
    """The ink of the written value alone: the printed cell rules inside its box (columns inked over most of
    its height, rows over most of its width) left out, and with them whatever lies beyond a rule — a box
    read from OCR's even split of a line can reach into the label or the next cell (现工资), whose print
    is another ink — and the stubs of rules above and below that reach into the padding."""
    h, w = ink.shape
    columns = ink.mean(axis=0) > 0.75
    out = ink.copy()
    out[:, columns] = False
    out[ink.mean(axis=1) > 0.6, :] = False
    cells = _runs(~columns)
    if len(cells) > 1:  # the value's own cell: the one holding most of its ink
        a, b = max(cells, key=lambda c: int(out[:, c[0] : c[1]].sum()))
        out[:, :a] = False
        out[:, b:] = False
    if pad:
        for a, b in _runs(np.asarray(out.any(axis=0))):
            inside = out[pad : h - pad, a:b].sum()
            if inside < 0.2 * out[:, a:b].sum():  # nothing of it within the box's own rows: a rule's stub
                out[:, a:b] = False
    return out


def _runs(filled: np.ndarray) -> list[tuple[int, int]]:
    """Runs of True in a row of flags, as (start, stop)."""
    runs, start = [], None
    for x, on in enumerate(filled):
        if on and start is None:
            start = x
        elif not on and start is not None:
            runs.append((start, x))
            start = None
    if start is not None:
        runs.append((start, len(filled)))
    return runs


def _glyph_columns(ink: np.ndarray) -> list[tuple[int, int]]:
    """Runs of columns holding ink, split at blank columns: the glyphs (or their parts) of a written value."""
    return _runs(ink.sum(axis=0) > 0)
