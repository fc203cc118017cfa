"""Tesseract, the one external program of the pipeline, wrapped in one place (as OCRmyPDF does).

Every call is its own `tesseract` process (through pytesseract), limited to one thread: the
pipeline runs one page per core, and Tesseract's own OpenMP threads would only fight over them.
"""

import os
import re
from dataclasses import dataclass
from functools import lru_cache

import pytesseract
from PIL import Image

os.environ.setdefault("OMP_THREAD_LIMIT", "1")

# Skipping the inverted-text pass saves time; personnel files are dark print on light paper.
OCR_CONFIG = "--psm 3 -c tessedit_do_invert=0"
SPARSE_CONFIG = "--psm 11 -c tessedit_do_invert=0"  # sparse text: finds a lone line in large type (a title)


class TesseractMissing(RuntimeError):
    pass


@dataclass(frozen=True)
class OcrWord:
    text: str
    left: int
    top: int
    width: int
    height: int
    confidence: float


@dataclass(frozen=True)
class OcrLine:
    """One line of text as printed, with its box in image pixels."""

    text: str
    left: int
    top: int
    width: int
    height: int
    words: tuple[OcrWord, ...]

    @property
    def confidence(self) -> float:
        chars = sum(len(w.text) for w in self.words)
        return sum(w.confidence * len(w.text) for w in self.words) / chars if chars else 0.0


@lru_cache(maxsize=1)
def version() -> str:
    try:
        return str(pytesseract.get_tesseract_version())
    except pytesseract.TesseractNotFoundError as exc:
        raise TesseractMissing("tesseract is not installed (apt install tesseract-ocr tesseract-ocr-chi-sim)") from exc


def languages() -> set[str]:
    return set(pytesseract.get_languages(config=""))


def recognise(image: Image.Image, lang: str, config: str = OCR_CONFIG) -> list[OcrLine]:
    """Text lines of a page in reading order, words joined the way the language writes them."""
    data = pytesseract.image_to_data(image, lang=lang, config=config, output_type=pytesseract.Output.DICT)
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
    confidence = re.search(r"Orientation confidence: ([\d.]+)", osd)
    return (int(rotate.group(1)) if rotate else 0), (float(confidence.group(1)) if confidence else 0.0)


def is_cjk(char: str) -> bool:
    code = ord(char)
    return (
        0x4E00 <= code <= 0x9FFF  # unified ideographs
        or 0x3400 <= code <= 0x4DBF  # extension A
        or 0x3000 <= code <= 0x303F  # CJK punctuation
        or 0xFF00 <= code <= 0xFFEF  # full-width forms (，：（）)
    )


def join_words(words: list[str]) -> str:
    """Chinese is written without spaces: Tesseract's word split inside Chinese is not kept."""
    out = ""
    for word in words:
        if out and not (is_cjk(out[-1]) or is_cjk(word[0])):
            out += " "
        out += word
    return out
