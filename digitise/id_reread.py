"""A citizen ID whose reading failed, read again from its own cell (issue 39).

A long handwritten number is where OCR loses a fact: a figure dropped or misread fails the check character
(GB 11643) or the length. The value's cell is cropped from the page, enlarged, and read again by both PP-OCR
models; the line takes the one valid number they agree on (encoding the page's birth date, when one was
read), otherwise it stays as read, invalid, for the 校对 screen — a re-read is a reading a person checks like
any other, never a guess (`readings.reread_id` chooses).

An 18-figure number written in a cell ruled for the 15 figures of the first cards, or by a large hand, runs
over the cell's end onto the next printed label (…0340参加工作时间 with 97 written over 参): the page's OCR
reads the label and loses the figures under it. Where the hand's ink has a colour of its own (blue-black or
brown on black print, as most entries on old forms are), the print is lifted from a second crop, which
reaches past the last figure read, so the figures written over the label are read alone. A hand in black
ink, like the print, cannot be told from it: only the cell as it is is read again.
"""

from pathlib import Path

import numpy as np
import PIL.Image
from PIL import ImageOps

from digitise import facts as page_facts
from digitise import id_frames, imaging, ocr, readings

# The readers of a failed ID's cell: both PP-OCR models (a bureau's own in place of v6 small).
REREADERS = ("paddle6", "paddle")
REREAD_HEIGHT = 96  # px: the cell's crop is enlarged (up to 3×) until its line is about this tall
OVERRUN = 1.5  # line heights past the last figure read: where figures written over the next label end
# Colour (the spread of a pixel's channels over the paper's, 0 for grey at any darkness) by which the hand's
# strokes must outdo the print's for the two inks to be told apart: aged paper and scanner noise give
# black print up to ~0.06; blue-black ink ~0.3–0.5, faded brown ~0.13 on the bench's and the pages.
INK_APART = 0.08


def reread_ids(page: PIL.Image.Image, lines: list[ocr.OcrLine], model_folder: Path | None) -> list[ocr.OcrLine]:
    """The page's lines, each citizen ID whose reading fails its check character or has the wrong length read
    again from its cell: the one valid number the re-reads give in place of what was read, else as read."""
    located = page_facts.locate(lines)
    sure = {n for f in located if f.fact == "citizen_id" and f.valid for n in f.lines}
    cells = [(n, cell) for n, line in enumerate(lines) if n not in sure and (cell := readings.id_cell(line.text))]
    if not cells:
        return lines
    births = tuple(page_facts.extract(page_facts.reading_text(lines)).birth_dates)
    out = list(lines)
    for n, (start, end) in cells:
        line = lines[n]
        box, crop = cell_crop(page, line, start, end)
        read = _reread(crop, model_folder)
        if (handwriting := hand_only(page, line, start, end)) is not None:
            read += _reread(handwriting, model_folder)
        number = readings.reread_id([text for text, _ in read], births)
        if number is not None:
            # Of the readings that gave it (or, filled by its check character, gave it but for one figure).
            conf = min(c for text, c in read if readings.reads_as(text, number, births))
            out[n] = line.replaced(start, end, number, box, conf)
        elif births and (number := by_frames(page, line, start, end, [line.text, *(t for t, _ in read)], births,
                                             model_folder)):  # fmt: skip
            # The figures were not read as such by any reader: as sure as the least sure reading of the cell.
            conf = min([line.confidence, *(c for _, c in read)])
            out[n] = line.replaced(start, end, number, box, conf)
    return out


def by_frames(
    page: PIL.Image.Image,
    line: ocr.OcrLine,
    start: int,
    end: int,
    texts: list[str],
    births: tuple[str, ...],
    model_folder: Path | None = None,
) -> str | None:
    """The ID the recognisers' per-frame scores of the cell solve (`id_frames.solved`), near what was read of
    it: the cell as it is, reaching OVERRUN past the last figure read, and with the print lifted where the
    hand's ink has a colour of its own; each read by both PP-OCR models' recognisers (v6 small or a bureau's
    own, v4)."""
    x0, y0, x1, y1 = _value_box(line, start, end)
    pad = line.height // 8
    reach = (max(0, x0 - line.height // 4), max(0, y0 - pad), min(page.width, x1 + round(OVERRUN * line.height)),
             min(page.height, y1 + pad))  # fmt: skip
    crops = [imaging.ocr_copy(page.crop(reach))]
    if (lifted := _lifted(page, line, start, end)) is not None:
        crops.append(lifted)
    score_sets = []
    for name in REREADERS:
        try:
            recogniser = getattr(ocr.engine(name, model_folder if name == "paddle6" else None), "recogniser", None)
            if recogniser is None:
                continue
            score_sets += [id_frames.frame_scores(recogniser(), crop) for crop in crops]
        except ocr.EngineMissing:
            continue
    runs = [run for text in texts for run in id_frames.figure_runs(text)]
    return id_frames.solved(score_sets, runs, births)


def cell_crop(
    page: PIL.Image.Image, line: ocr.OcrLine, start: int, end: int
) -> tuple[tuple[int, int, int, int], PIL.Image.Image]:
    """The box (page pixels) of a value's characters `start:end` on its line, and the OCR copy of it a little
    padded and enlarged, with a margin of paper around it (the detector wants some). The box, not the padded
    crop, is where the value is kept: the alteration check must not judge the cell rule beside it."""
    box = _value_box(line, start, end)
    crop = imaging.ocr_copy(page.crop(_padded(page, line, box)))
    return box, _for_reading(crop, line)


def hand_only(page: PIL.Image.Image, line: ocr.OcrLine, start: int, end: int) -> PIL.Image.Image | None:
    """The value's cell and OVERRUN beyond its last figure read, with the print lifted (what is as grey as the
    ID's printed label before it), for reading the figures written over the next
    label; None when the page is grey or the hand's ink is not clearly more coloured than the print."""
    lifted = _lifted(page, line, start, end)
    return None if lifted is None else _for_reading(lifted, line)


def _lifted(page: PIL.Image.Image, line: ocr.OcrLine, start: int, end: int) -> PIL.Image.Image | None:
    """`hand_only`'s crop at the page's scale, without the margin a detector wants."""
    found = readings.ID_LABEL.search(line.text, 0, start)
    if page.mode != "RGB" or found is None:
        return None
    chars = line.char_boxes()
    label = (chars[found.start()][0], line.top, chars[found.end() - 1][2], line.top + line.height)
    x0, y0, x1, y1 = _value_box(line, start, end)
    reach = (x0, y0, min(page.width, x1 + round(OVERRUN * line.height)), y1)
    left, top, right, bottom = _padded(page, line, (label[0], y0, reach[2], y1))
    rgb = np.asarray(page.crop((left, top, right, bottom)), dtype=np.float32)
    grey = rgb.mean(axis=2)
    paper = float(np.percentile(grey, 90))
    paper_rgb = np.median(rgb[grey >= np.percentile(grey, 70)], axis=0) + 1.0
    ratio = rgb / paper_rgb
    colour = ratio.max(axis=2) - ratio.min(axis=2)
    dark = grey < paper * 0.7
    in_label = dark.copy()
    in_label[:, label[2] - left :] = False
    in_value = dark.copy()
    in_value[:, : x0 - left] = False
    in_value[:, x1 - left :] = False
    if in_label.sum() < 50 or in_value.sum() < 50:
        return None
    print_colour = float(np.percentile(colour[in_label], 90))
    hand_colour = float(np.percentile(colour[in_value], 75))  # the value's box holds some print (rules) too
    if hand_colour - print_colour < INK_APART:
        return None
    # How much of the hand's ink each pixel holds, by its colour alone: print, at any darkness, holds none.
    ink = np.clip((colour - print_colour) / (hand_colour - print_colour), 0.0, 1.0) * (grey < paper * 0.95)
    hand = (paper * (1.0 - 0.65 * ink)).astype(np.uint8)[:, max(0, x0 - line.height // 4 - left) :]
    return PIL.Image.fromarray(hand)


def _value_box(line: ocr.OcrLine, start: int, end: int) -> tuple[int, int, int, int]:
    chars = line.char_boxes()
    return (chars[start][0], line.top, chars[end - 1][2], line.top + line.height)


def _padded(page: PIL.Image.Image, line: ocr.OcrLine, box: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    pad = line.height // 4
    return (max(0, box[0] - pad), max(0, box[1] - pad), min(page.width, box[2] + pad), min(page.height, box[3] + pad))


def _for_reading(crop: PIL.Image.Image, line: ocr.OcrLine) -> PIL.Image.Image:
    """A crop enlarged until its line is about REREAD_HEIGHT tall, on a margin of its paper."""
    factor = min(3.0, max(1.0, REREAD_HEIGHT / max(1, line.height)))
    crop = crop.resize((round(crop.width * factor), round(crop.height * factor)), PIL.Image.Resampling.LANCZOS)
    paper = int(np.percentile(np.asarray(crop), 90))
    return ImageOps.expand(crop, border=round(REREAD_HEIGHT / 2), fill=paper)


def _reread(crop: PIL.Image.Image, model_folder: Path | None) -> list[tuple[str, float]]:
    """Each line every re-reading engine reads on a cell's crop, with its confidence; an engine this machine
    lacks reads nothing."""
    read: list[tuple[str, float]] = []
    for name in REREADERS:
        try:
            lines = ocr.engine(name, model_folder if name == "paddle6" else None).read(crop, "chi_sim").lines
        except ocr.EngineMissing:
            continue
        read += [(ln.text, ln.confidence) for ln in lines]
    return read
