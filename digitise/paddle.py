"""The PP-OCR adapters of the OCR engine port (`digitise/ocr.py`): PaddleOCR's Chinese models run on the
CPU by ONNX Runtime through `rapidocr` (3.x). Every model file comes from a wheel or from a folder the
bureau put on the machine (`digitise/models.py`); nothing is downloaded at run time.

Three engines, one reading procedure:

  * `paddle` — PP-OCRv4 mobile detection and recognition (the files in the `rapidocr_onnxruntime`
    wheel): fast, good on print, poor on handwriting (PaddleOCR's figure: 29.8 % of handwritten lines);
  * `paddle6` — PP-OCRv6 small detection and recognition (in the `rapidocr` wheel), or the larger
    models a bureau dropped in (`DigitiseOptions.ocr_models`): reads handwriting (57.6 %), ~2.4× the CPU;
  * `paddle-cascade` — v4 finds and reads every line; a line it is not sure of (score under
    CASCADE_SCORE) is read again by the v6 recogniser, whose reading is kept.

The models are loaded once per worker process and each ONNX session keeps to one thread, so
`--jobs N` uses N cores and no more. Text is found on a small copy of the page (PP-OCR's detector
works best near the size it was trained at: on our pages 1280 px found lines 5× faster than 2000 px
and misread fewer characters), each line is read from a larger copy, and the lines on one printed
row (a form's label and its value) are joined into one line. The direction classifier's view of
every line, and the shape of the line boxes, tell whether the page is upside down or sideways.
v5 and later models write some characters in traditional forms (時): `digitise/chinese_forms.py`
turns them into the simplified ones before anything keeps the text.
"""

import os
from dataclasses import dataclass
from functools import cached_property
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from digitise import models
from digitise.chinese_forms import simplified
from digitise.ocr import (
    EngineMissing,
    Look,
    ModelFile,
    OcrLine,
    OcrWord,
    PageRead,
    join_words,
    without_spaces_in_chinese,
)

DETECT_SIDE = 1280  # px, the long side of the copy text lines are found on (about 110 dpi for A4)
READ_SIDE = 2000  # px, the long side of the copy lines are read from (about 170 dpi: small print stays legible)
MIN_SCORE = 0.5  # recogniser score (0–1) under which a box is noise, not text
CASCADE_SCORE = 0.9  # a v4 reading under this score is read again by v6 (bench/digitise.py measured the split)
TALL = 1.5  # a box this many times taller than wide is a line printed sideways
SURE_DIRECTION = 0.9  # the direction classifier's score for a line to count as upside down


@dataclass(frozen=True)
class _Stage:
    """Which model set finds the lines, which reads them, and which (if any) reads the doubtful ones again."""

    detect: str  # "v4" | "v6"
    read: str
    reread: str | None = None


STAGES = {
    "paddle": _Stage("v4", "v4"),
    "paddle6": _Stage("v6", "v6"),
    "paddle-cascade": _Stage("v4", "v4", "v6"),
}


class Engine:
    title = "PP-OCR"

    def __init__(self, name: str = "paddle", model_folder: Path | None = None) -> None:
        self.name = name
        self.stage = STAGES[name]
        self.model_folder = model_folder

    def version(self) -> str:
        try:
            rapid = package_version("rapidocr")
        except PackageNotFoundError as exc:
            raise EngineMissing("未安装 PP-OCR（pip install rapidocr onnxruntime）") from exc
        used = {self.stage.detect, self.stage.read, self.stage.reread} - {None}
        sets = [self._set(v).label for v in ("v4", "v6") if v in used]
        return f"{' + '.join(sets)}（rapidocr {rapid}）"

    def languages(self) -> set[str]:
        return {"chi_sim", "eng"}  # the Chinese models read Chinese with Latin letters and digits

    def model_files(self) -> list[ModelFile]:
        used = {self.stage.detect, self.stage.read, self.stage.reread} - {None}
        return [f for v in ("v4", "v6") if v in used for f in self._set(v).files()]

    def _set(self, which: str) -> models.ModelSet:
        if which == "v4":
            return models.v4_mobile()
        return models.bureau_models(self.model_folder) if self.model_folder else models.v6_small()

    @cached_property
    def _loaded(self) -> dict[str, Any]:
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        try:
            import cv2
        except ImportError as exc:
            raise EngineMissing(f"PP-OCR 无法加载（{exc}）") from exc
        cv2.setNumThreads(1)
        loaded: dict[str, Any] = {}
        for which in {self.stage.detect, self.stage.read, self.stage.reread} - {None}:
            assert which is not None
            loaded[which] = models.load(self._set(which))
        return loaded

    def recogniser(self) -> Any:
        """rapidocr's TextRecognizer of the model that reads the lines (`digitise/id_frames.py` reads its
        per-frame scores)."""
        return self._loaded[self.stage.read].rec

    def read(self, image: Image.Image, languages: str, *, sparse: bool = False) -> PageRead:
        return self.look(image, languages).read()

    def look(self, image: Image.Image, languages: str) -> Look:
        """The lines found on the page and the direction classifier's view of each give its orientation; the
        lines are read (the recogniser, most of a page's time) only when the reading is asked for."""
        unknown = set(languages.split("+")) - self.languages()
        if unknown:
            raise ValueError(f"PP-OCR 不支持语言 {'、'.join(sorted(unknown))}")
        from rapidocr.utils.process_img import get_rotate_crop_image

        loaded = self._loaded
        finder, reader = loaded[self.stage.detect], loaded[self.stage.read]
        grey = image.convert("L")
        small, small_factor = _reduced(grey, DETECT_SIDE)
        found_boxes = finder.det(small).boxes
        if found_boxes is None or len(found_boxes) == 0:
            return Look.of(PageRead([]))
        pixels, factor = _reduced(grey, READ_SIDE)
        boxes = [(np.asarray(box) * (factor / small_factor)).astype(np.float32) for box in found_boxes]
        crops = [get_rotate_crop_image(pixels, box.copy()) for box in boxes]
        turned = reader.cls(crops)
        crops, directions = turned.img_list, turned.cls_res
        turn, turn_confidence = _orientation(boxes, directions)
        return Look(turn, turn_confidence, lambda: self._recognise(boxes, crops, factor, turn, turn_confidence))

    def _recognise(
        self, boxes: list[np.ndarray], crops: list[np.ndarray], factor: float, turn: int, turn_confidence: float
    ) -> PageRead:
        from rapidocr.ch_ppocr_rec import TextRecInput

        loaded = self._loaded
        read = loaded[self.stage.read].rec(TextRecInput(img=crops))
        texts, scores = list(read.txts or ()), [float(s) for s in read.scores]
        if self.stage.reread:
            doubtful = [i for i, s in enumerate(scores) if s < CASCADE_SCORE]
            if doubtful:
                again = loaded[self.stage.reread].rec(TextRecInput(img=[crops[i] for i in doubtful]))
                for i, text, score in zip(doubtful, again.txts or (), again.scores, strict=True):
                    texts[i], scores[i] = text, float(score)
        pieces = [
            _piece(box, simplified(without_spaces_in_chinese(text)), score)
            for box, text, score in zip(boxes, texts, scores, strict=True)
            if score >= MIN_SCORE and text.strip()
        ]
        lines = [line.scaled(1 / factor) for line in _rows(pieces)]
        return PageRead(lines, turn, turn_confidence)


def _reduced(grey: Image.Image, side: int) -> tuple[np.ndarray, float]:
    """The page with its long side at most `side` px, as the three-channel array the models take."""
    factor = min(1.0, side / max(grey.size))
    if factor < 1.0:
        grey = grey.resize((round(grey.width * factor), round(grey.height * factor)), Image.Resampling.LANCZOS)
    return np.repeat(np.asarray(grey)[:, :, None], 3, axis=2), factor


def _piece(box: np.ndarray, text: str, score: float) -> OcrWord:
    xs, ys = box[:, 0], box[:, 1]
    left, top = int(xs.min()), int(ys.min())
    return OcrWord(text.strip(), left, top, int(xs.max()) - left, int(ys.max()) - top, round(score * 100, 2))


def _rows(pieces: list[OcrWord]) -> list[OcrLine]:
    """Boxes on one printed row, left to right, as one line (a form's label and value read together)."""
    rows: list[list[OcrWord]] = []
    for piece in sorted(pieces, key=lambda p: p.top + p.height / 2):
        centre = piece.top + piece.height / 2
        row = rows[-1] if rows else None
        if row and abs(centre - (row[0].top + row[0].height / 2)) < min(piece.height, row[0].height) / 2:
            row.append(piece)
        else:
            rows.append([piece])
    lines = []
    for row in rows:
        row.sort(key=lambda p: p.left)
        left, top = min(p.left for p in row), min(p.top for p in row)
        right, bottom = max(p.left + p.width for p in row), max(p.top + p.height for p in row)
        lines.append(OcrLine(join_words([p.text for p in row]), left, top, right - left, bottom - top, tuple(row)))
    return lines


def _orientation(boxes: list[np.ndarray], directions: list[Any]) -> tuple[int, float]:
    """(degrees clockwise to turn the page upright, confidence 0–100) from the boxes and the classifier.

    Most lines tall and narrow: the page lies on its side; the classifier, shown each such line turned a
    quarter anticlockwise, says which side. Otherwise most lines classed as upside down: turned 180°."""
    sizes = [(float(np.ptp(b[:, 0])), float(np.ptp(b[:, 1]))) for b in boxes]
    weights = [w * h for w, h in sizes]
    total = sum(weights) or 1.0
    tall = [h > TALL * w for w, h in sizes]
    flipped = [label == "180" and float(score) >= SURE_DIRECTION for label, score in directions]
    tall_share = sum(wt for wt, t in zip(weights, tall, strict=True) if t) / total
    if tall_share > 0.5:
        sideways = [(wt, f) for wt, t, f in zip(weights, tall, flipped, strict=True) if t]
        flipped_share = sum(wt for wt, f in sideways if f) / (sum(wt for wt, _ in sideways) or 1.0)
        turn = 90 if flipped_share > 0.5 else 270
        return turn, round(100 * tall_share * max(flipped_share, 1 - flipped_share), 1)
    flipped_share = sum(wt for wt, t, f in zip(weights, tall, flipped, strict=True) if f and not t) / total
    if flipped_share > 0.5:
        return 180, round(100 * flipped_share, 1)
    return 0, 0.0
