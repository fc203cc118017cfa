"""A failed citizen ID solved from what the recogniser saw, frame by frame (issue 39).

PP-OCR's recogniser does not read a line character by character: it scores, for each narrow slice (frame) of
the line, every character of its alphabet and a gap (CTC), and its text is the best character of each frame,
repeats merged. A handwritten figure it misread or merged into its neighbour (33 read as 3, no gap seen between
them) or saw only faintly still has its share in those scores. So where an ID's reading fails its check
character, the numbers near what was read — one or two figures replaced by others, one figure added or
dropped — are scored against the frames of the ID's cell (the CTC probability of the whole number, every
character not a figure counted as gap: the label before it, a cell rule), and only numbers that pass GB 11643's
check character and encode the birth date the page states are candidates.

The best candidate is taken only when the frames prefer it to every other candidate by a wide margin
(MARGIN): a wrong valid ID is worse than none, so two numbers the frames cannot tell apart leave the reading
as it was, invalid, for the 校对 screen. Without a birth date read elsewhere on the page nothing is solved:
the check character alone would let a misread figure of the region code or serial make another person's
valid number. A 15-figure number has no check character: it is never solved here.
"""

import re
from collections.abc import Iterable
from typing import Any

import numpy as np
import PIL.Image

from digitise import citizen_id, readings

FIGURES = "0123456789X"
X_LIKE = "Xx×"
MARGIN = 12.0  # nats (≈ 160,000×) by which the frames must prefer the best valid number to the next one
TOP = 3  # alternatives per figure tried in two-figure changes (the frames' best other figures)


def frame_scores(recogniser: Any, crop: PIL.Image.Image) -> np.ndarray:
    """(frames × 12) log-probabilities the recogniser (rapidocr's TextRecognizer) gives a one-line crop: the
    gap (CTC blank and every character that is not a figure), 0–9, X."""
    grey = np.asarray(crop.convert("L"))
    pixels = np.repeat(grey[:, :, None], 3, axis=2)
    _, height, width = recogniser.rec_image_shape
    ratio = max(width / height, pixels.shape[1] / max(1, pixels.shape[0]))
    batch = recogniser.resize_norm_img(pixels, ratio)[None].astype(np.float32)
    probs = np.asarray(recogniser.session(batch))[0]
    chars = list(recogniser.postprocess_op.character)
    return folded(probs, chars)


def folded(probs: np.ndarray, chars: list[str]) -> np.ndarray:
    """The recogniser's (frames × alphabet) probabilities as (frames × 12) log-probabilities: gap, 0–9, X."""
    index: dict[str, list[int]] = {}
    for i, c in enumerate(chars):
        key = "X" if c in X_LIKE else c
        if key in FIGURES:
            index.setdefault(key, []).append(i)
    columns = [probs[:, index[f]].sum(axis=1) if f in index else np.zeros(len(probs)) for f in FIGURES]
    figures = np.stack(columns, axis=1)
    gap = np.clip(1.0 - figures.sum(axis=1), 0.0, 1.0)
    return np.log(np.clip(np.concatenate([gap[:, None], figures], axis=1), 1e-9, 1.0))


def best_path(scores: np.ndarray) -> str:
    """The figures the frames read at best (each frame's best class, repeats merged, gaps dropped)."""
    best = scores.argmax(axis=1)
    out = [FIGURES[k - 1] for n, k in enumerate(best) if k and (n == 0 or best[n - 1] != k)]
    return "".join(out)


def likelihood(scores: np.ndarray, numbers: list[str]) -> np.ndarray:
    """log P(number | frames) under CTC, for each number (all of one length), computed together."""
    labels = np.array([[FIGURES.index(c) + 1 for c in n] for n in numbers])
    count, length = labels.shape
    states = 2 * length + 1
    ext = np.zeros((count, states), dtype=int)
    ext[:, 1::2] = labels
    # A state may skip the gap before it when it is a figure unlike the figure two states back.
    skip = np.zeros((count, states), dtype=bool)
    skip[:, 3::2] = labels[:, 1:] != labels[:, :-1]
    skip[:, 1] = True
    neg = -1e30
    alpha = np.full((count, states), neg)
    alpha[:, 0] = scores[0, 0]
    alpha[:, 1] = scores[0, ext[:, 1]]
    for t in range(1, len(scores)):
        stay = alpha
        step = np.concatenate([np.full((count, 1), neg), alpha[:, :-1]], axis=1)
        jump = np.concatenate([np.full((count, 2), neg), alpha[:, :-2]], axis=1)
        jump = np.where(skip, jump, neg)
        alpha = np.logaddexp(np.logaddexp(stay, step), jump) + scores[t, ext]
    return np.logaddexp(alpha[:, -1], alpha[:, -2])


def nearby(read: str, alternatives: list[str]) -> set[str]:
    """18-character numbers near a reading of 16–19 figures: one or two figures changed (the second among
    the frames' `alternatives` for each place, or any figure for one change), one added or dropped, and one
    added or dropped with one changed."""
    out: set[str] = set()

    def changed(s: str, any_figure: bool) -> Iterable[str]:
        for i in range(len(s)):
            for f in FIGURES[:10] if any_figure else alternatives[i] if i < len(alternatives) else "":
                if f != s[i]:
                    yield s[:i] + f + s[i + 1 :]

    if len(read) == 18:
        out.add(read)
        singles = set(changed(read, True))
        out |= singles
        out |= {d for s in changed(read, False) for d in changed(s, False)}
    elif len(read) == 17:
        grown = {read[:i] + f + read[i:] for i in range(18) for f in FIGURES[:10]}
        out |= grown | {d for g in grown for d in changed(g, False)}
    elif len(read) == 19:
        shrunk = {read[:i] + read[i + 1 :] for i in range(19)}
        out |= shrunk | {d for s in shrunk for d in changed(s, True)}
    elif len(read) == 16:
        out |= {read[:i] + f + read[i:j] + g + read[j:] for i in range(17) for j in range(i, 17)
                for f in FIGURES[:10] for g in FIGURES[:10]}  # fmt: skip
    out |= {n[:17] + "X" for n in out}  # the check character may be X, which no change of a figure gives
    return {n for n in out if len(n) == 18 and "X" not in n[:17]}


RUN = re.compile(r"[0-9]+X?")


def figure_runs(text: str) -> list[str]:
    """Runs of 16–19 figures (the last may be X) in a reading of an ID's cell, look-alikes read as figures."""
    s = readings.shadow(text).replace("〇", "0")
    s = "".join("X" if c in readings.X_LIKE else c for c in s)
    return [m.group() for m in RUN.finditer(s) if 16 <= len(m.group()) <= 19]


def solved(score_sets: list[np.ndarray], readings: list[str], birth_dates: tuple[str, ...]) -> str | None:
    """The one valid ID encoding the page's birth date that the frames of an ID's cell (`score_sets`, one per
    crop and reader) prefer by MARGIN to every other such one, among the numbers near what each read
    (`readings`, and each set's own best path), and that they also rank first among the valid numbers of every
    birth date; None when there is no birth date, no candidate, or no clear winner."""
    found = ranked(score_sets, readings, birth_dates)
    if not found or (len(found) > 1 and found[0][1] - found[1][1] < MARGIN):
        return None
    # The page's birth date only narrows the rivals, never promotes a number: the winner must be the one the
    # frames rank first among every valid number near the readings, whatever birth date it encodes. Else a birth
    # date misread, or rewritten by a forger, makes a valid ID that agrees with it (another person's number,
    # confirming the forgery).
    unbound = ranked(score_sets, readings, None)
    return found[0][0] if unbound and unbound[0][0] == found[0][0] else None


def ranked(
    score_sets: list[np.ndarray],
    readings: list[str],
    birth_dates: tuple[str, ...] | None,
) -> list[tuple[str, float]]:
    """The valid IDs near what was read that encode one of the page's birth dates, best first, each with its
    log-likelihood summed over the frames of every crop and reader; `birth_dates` None: every valid ID near what
    was read."""
    born = {d.replace("-", "") for d in birth_dates or () if len(d) == 10}
    if (birth_dates is not None and not born) or not score_sets:
        return []
    candidates: set[str] = set()
    for scores in score_sets:
        alternatives = _alternatives(scores)
        for read in {best_path(scores), *readings}:
            candidates |= {n for n in nearby(read, alternatives)
                           if (birth_dates is None or n[6:14] in born) and citizen_id.is_valid(n)}  # fmt: skip
    ordered = sorted(candidates)
    if not ordered:
        return []
    total = np.sum([likelihood(scores, ordered) for scores in score_sets], axis=0)
    return sorted(zip(ordered, (float(t) for t in total), strict=True), key=lambda pair: -pair[1])


def _alternatives(scores: np.ndarray) -> list[str]:
    """For each figure of the best path, the TOP figures the frames it spans score highest after it."""
    best = scores.argmax(axis=1)
    spans: list[list[int]] = []
    for n, k in enumerate(best):
        if k and (n == 0 or best[n - 1] != k):
            spans.append([n])
        elif k:
            spans[-1].append(n)
    out = []
    for span in spans:
        peak = scores[span, 1:].max(axis=0)
        out.append("".join(FIGURES[k] for k in np.argsort(-peak)[1 : TOP + 1]))
    return out
