"""The PP-OCR adapter of the OCR engine port (`digitise/ocr.py`): PaddleOCR's PP-OCRv4 Chinese models
run on the CPU by ONNX Runtime, through `rapidocr_onnxruntime`, whose wheel carries the detection,
direction and recognition models (nothing is downloaded at run time; bureaus' networks are offline).

The models are loaded once per worker process and each ONNX session keeps to one thread, so
`--jobs N` uses N cores and no more. Text is found on a small copy of the page (PP-OCR's detector
works best near the size it was trained at: on our pages 1280 px found lines 5× faster than 2000 px
and misread fewer characters), each line is read from a larger copy, and the lines on one printed
row (a form's label and its value) are joined into one line. The direction classifier's view of
every line, and the shape of the line boxes, tell whether the page is upside down or sideways.
"""

import os
from functools import cached_property
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from typing import Any

import numpy as np
from PIL import Image

from digitise.ocr import EngineMissing, OcrLine, OcrWord, PageRead, join_words

DETECT_SIDE = 1280  # px, the long side of the copy text lines are found on (about 110 dpi for A4)
READ_SIDE = 2000  # px, the long side of the copy lines are read from (about 170 dpi: small print stays legible)
MIN_SCORE = 0.5  # recogniser score (0–1) under which a box is noise, not text
TALL = 1.5  # a box this many times taller than wide is a line printed sideways
SURE_DIRECTION = 0.9  # the direction classifier's score for a line to count as upside down


class Engine:
    name = "paddle"
    title = "PP-OCR"

    def version(self) -> str:
        try:
            return f"v4（rapidocr {package_version('rapidocr_onnxruntime')}）"
        except PackageNotFoundError as exc:
            raise EngineMissing("未安装 PP-OCR（pip install rapidocr_onnxruntime）") from exc

    def languages(self) -> set[str]:
        return {"chi_sim", "eng"}  # the PP-OCRv4 Chinese model reads Chinese with Latin letters and digits

    @cached_property
    def _ocr(self) -> Any:
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        try:
            import cv2
            from rapidocr_onnxruntime import RapidOCR
        except ImportError as exc:
            raise EngineMissing(f"PP-OCR 无法加载（{exc}）") from exc
        cv2.setNumThreads(1)
        return RapidOCR(intra_op_num_threads=1, inter_op_num_threads=1)

    def read(self, image: Image.Image, languages: str, *, sparse: bool = False) -> PageRead:
        unknown = set(languages.split("+")) - self.languages()
        if unknown:
            raise ValueError(f"PP-OCR 不支持语言 {'、'.join(sorted(unknown))}")
        grey = image.convert("L")
        ocr = self._ocr
        small, small_factor = _reduced(grey, DETECT_SIDE)
        boxes, _ = ocr.text_det(small)
        if boxes is None or len(boxes) == 0:
            return PageRead([])
        pixels, factor = _reduced(grey, READ_SIDE)
        boxes = [(box * (factor / small_factor)).astype(np.float32) for box in ocr.sorted_boxes(boxes)]
        crops = ocr.get_crop_img_list(pixels, boxes)
        crops, directions, _ = ocr.text_cls(crops)
        turn, turn_confidence = _orientation(boxes, directions)
        found, _ = ocr.text_rec(crops, False)
        pieces = [
            _piece(box, text, float(score))
            for box, (text, score, *_rest) in zip(boxes, found, strict=True)
            if float(score) >= MIN_SCORE and text.strip()
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


def _orientation(boxes: list[np.ndarray], directions: list[list[Any]]) -> tuple[int, float]:
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
