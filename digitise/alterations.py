"""Signs of alteration (疑似涂改) on the colour master: a date, name or ID whose strokes are not all of one pen.

Benefit fraud most often rewrites a digit of a birth or work-start date. The pen that rewrites it is
rarely the pen that wrote the rest: its ink differs in colour or in how dark it lies, and a figure
written over another leaves more ink in one place than the hand leaves anywhere else. On the page
image (the straightened colour scan, in the pixels the sidecar's boxes use) each value's box is taken
apart into the glyphs its ink forms (runs of columns with ink), the printed cell rules are left out,
and each glyph's ink is described by its colour *relative to the paper* (so yellowed paper does not
colour black ink) and its darkness. A glyph whose ink stands apart from the value's other glyphs by
more than the hand's own spread flags the value — a hint for a person, never a verdict.

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
        if _stands_apart(crop):
            out.append({"fact": fact.fact, "value": fact.value, "box": list(fact.box)})
    return out


def _stands_apart(crop: np.ndarray) -> bool:
    rgb = crop.astype(np.float32)
    grey = rgb.mean(axis=2)
    paper_level = float(np.percentile(grey, 85))
    ink = grey < paper_level * 0.72
    ink &= ~_rules(ink)
    if ink.sum() < MIN_INK * MIN_GLYPHS:
        return False
    paper = np.median(rgb[grey >= paper_level * 0.92], axis=0) + 1.0 if (grey >= paper_level * 0.92).any() else None
    if paper is None:
        return False
    ratio = rgb / paper  # the ink's colour relative to the paper: black ink is grey whatever the paper's tint
    features = []
    for start, stop in _glyph_columns(ink):
        part = ink[:, start:stop]
        if part.sum() < MIN_INK:
            continue
        r = ratio[:, start:stop][part]
        colour = r - r.mean(axis=1, keepdims=True)  # chromaticity: the hue, not how dark
        features.append((np.median(colour, axis=0), float(np.median(r.mean(axis=1)))))
    if len(features) < MIN_GLYPHS:
        return False
    colours = np.array([f[0] for f in features])
    darkness = np.array([f[1] for f in features])
    centre = np.median(colours, axis=0)
    apart = np.linalg.norm(colours - centre, axis=1)
    dark_apart = np.abs(darkness - np.median(darkness))
    spread = float(np.median(apart)) + 0.01
    dark_spread = float(np.median(dark_apart)) + 0.02
    by_colour = (apart > COLOUR_APART) & (apart > SPREAD_TIMES * spread)
    by_darkness = (dark_apart > DARKNESS_APART) & (dark_apart > SPREAD_TIMES * dark_spread)
    return bool((by_colour | by_darkness).any())


def _rules(ink: np.ndarray) -> np.ndarray:
    """The printed cell rules inside a box: columns inked over most of its height, rows over most of its width."""
    h, w = ink.shape
    rules = np.zeros_like(ink)
    rules[:, ink.mean(axis=0) > 0.75] = True
    rules[ink.mean(axis=1) > 0.6, :] = True
    return rules & ink


def _glyph_columns(ink: np.ndarray) -> list[tuple[int, int]]:
    """Runs of columns holding ink, split at blank columns: the glyphs (or their parts) of a written value."""
    filled = ink.sum(axis=0) > 0
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
