"""The Tesseract adapter of the OCR engine port (`digitise/ocr.py`), Tesseract wrapped in one place.

Every call is its own `tesseract` process (through pytesseract), limited to one thread: the
pipeline runs one page per core, and Tesseract's own OpenMP threads would only fight over them.
Tesseract cannot tell a page's orientation while reading it, so a doubtful read (low confidence)
is followed by its orientation and script detection (OSD).
"""

import os
import re
import tempfile
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytesseract
from PIL import Image

from digitise.imaging import median_3x3
from digitise.ocr import (
    LOW_CONFIDENCE,
    EngineMissing,
    Look,
    ModelFile,
    OcrLine,
    OcrWord,
    PageRead,
    confidence,
    join_words,
)

os.environ.setdefault("OMP_THREAD_LIMIT", "1")

# Skipping the inverted-text pass saves time; personnel files are dark print on light paper.
OCR_CONFIG = "--psm 3 -c tessedit_do_invert=0"
SPARSE_CONFIG = "--psm 11 -c tessedit_do_invert=0"  # sparse text: finds a lone line in large type (a title)


class Engine:
    name = "tesseract"
    title = "Tesseract"

    def __init__(self, name: str = "tesseract", model_folder: Path | None = None) -> None:
        pass  # one engine; Tesseract's traineddata come from the system package

    def version(self) -> str:
        return version()

    def model_files(self) -> list[ModelFile]:
        return []

    def languages(self) -> set[str]:
        return set(pytesseract.get_languages(config=""))

    def look(self, image: Image.Image, languages: str) -> Look:
        # Tesseract asks for the orientation only when the reading is doubtful: the page is read first.
        return Look.of(self.read(image, languages))

    def read(self, image: Image.Image, languages: str, *, sparse: bool = False) -> PageRead:
        lines = recognise(image, languages, SPARSE_CONFIG if sparse else OCR_CONFIG)
        if sparse or confidence(lines) >= LOW_CONFIDENCE:
            return PageRead(lines)
        turn, turn_confidence = detect_orientation(image)
        return PageRead(lines, turn, turn_confidence)


@lru_cache(maxsize=1)
def version() -> str:
    try:
        return str(pytesseract.get_tesseract_version())
    except pytesseract.TesseractNotFoundError as exc:
        raise EngineMissing("未安装 Tesseract（apt install tesseract-ocr tesseract-ocr-chi-sim）") from exc


def recognise(image: Image.Image, lang: str, config: str = OCR_CONFIG) -> list[OcrLine]:
    """Text lines of a page in reading order, words joined the way the language writes them."""
    # Scanner speckle becomes stray "characters" in Tesseract's layout analysis: a 3×3 median removes it.
    # The page goes to the program as an uncompressed BMP: pytesseract's own PNG costs 0.2 s a page.
    with tempfile.NamedTemporaryFile(suffix=".bmp") as page_file:
        Image.fromarray(median_3x3(np.asarray(image))).save(page_file, "BMP")  # L or RGB, as Pillow's filter took
        page_file.flush()
        data = pytesseract.image_to_data(page_file.name, lang=lang, config=config, output_type=pytesseract.Output.DICT)
    lines: dict[tuple[int, int, int], list[OcrWord]] = {}
    boxes: dict[tuple[int, int, int], tuple[int, int, int, int]] = {}
    for i, level in enumerate(data["level"]):
        key = (data["block_num"][i], data["par_num"][i], data["line_num"][i])
        box = (data["left"][i], data["top"][i], data["width"][i], data["height"][i])
        if level == 4:
            boxes[key] = box
        elif level == 5:
            text = data["text"][i].strip()
            if text:
                lines.setdefault(key, []).append(OcrWord(text, *box, float(data["conf"][i])))
    result = []
    for key, words in lines.items():
        left, top, width, height = boxes[key]
        result.append(OcrLine(join_words([w.text for w in words]), left, top, width, height, tuple(words)))
    return result


def detect_orientation(image: Image.Image) -> tuple[int, float]:
    """(degrees clockwise the page must be turned to read upright, Tesseract's confidence)."""
    try:
        osd = pytesseract.image_to_osd(image, config="--psm 0")
    except pytesseract.TesseractError:
        return 0, 0.0  # too little text to tell: leave the page as it is
    rotate = re.search(r"Rotate: (\d+)", osd)
    found = re.search(r"Orientation confidence: ([\d.]+)", osd)
    return (int(rotate.group(1)) if rotate else 0), (float(found.group(1)) if found else 0.0)
