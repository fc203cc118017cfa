"""The OCR engine port: what the pipeline asks of an engine, and the engines it can be given by name.

As OCRmyPDF has its `OcrEngine` plugin interface, the pipeline, the service and the text layer
only ever see this module: an engine reads a page image into lines with boxes (and word boxes
where it has them), with confidences on one scale (0–100, Tesseract's), and says which way the
page must be turned when it can tell. Adapters: `digitise/tesseract.py` (Tesseract `chi_sim`) and
`digitise/paddle.py` (PP-OCRv4 and v6 through ONNX Runtime, models inside the `rapidocr_onnxruntime`
and `rapidocr` wheels, or a bureau's own folder). The engine and its model folder are run options and
part of a run's fingerprint, so a resumed run never mixes two.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from importlib import import_module
from pathlib import Path
from typing import Final, Protocol

from PIL import Image

MAX_CONFIDENCE = 100.0  # no reading is surer (`confidence`'s scale)
LOW_CONFIDENCE = 60.0  # below this the read is doubtful: the page may be upside down or sideways, or faint
DEFAULT_ENGINE: Final = "paddle-cascade"  # chosen by measurement (bench/digitise.py, bench/RESULTS.md: issue 39 rule)
# name → adapter module (its `Engine(name, model_folder)`)
ENGINES = {
    "paddle": "digitise.paddle",
    "paddle6": "digitise.paddle",
    "paddle-cascade": "digitise.paddle",
    "tesseract": "digitise.tesseract",
}


class EngineMissing(RuntimeError):
    """The engine cannot run on this machine (a program or package is not installed)."""


@dataclass(frozen=True)
class ModelFile:
    """A model file an engine reads with, as the sidecar names it."""

    file: str
    sha256: str


@dataclass(frozen=True)
class OcrWord:
    text: str
    left: int
    top: int
    width: int
    height: int
    confidence: float  # 0–100


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
        return confidence([self])

    @property
    def box(self) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1) in image pixels, as the sidecar writes boxes."""
        return (self.left, self.top, self.left + self.width, self.top + self.height)

    def char_boxes(self) -> list[tuple[int, int, int, int, float]]:
        """(x0, y0, x1, y1, confidence) of each character of `text`: a word's characters share its box
        evenly (Chinese is written on an even grid); a space joined between words gets the gap."""
        out: list[tuple[int, int, int, int, float]] = []
        at = 0
        for word in self.words:
            found = self.text.find(word.text, at)
            if found < 0:
                continue
            for _gap in range(at, found):  # a space join_words put between two words
                x = out[-1][2] if out else word.left
                out.append((x, word.top, word.left, word.top + word.height, word.confidence))
            step = word.width / max(1, len(word.text))
            for i in range(len(word.text)):
                x0 = word.left + round(i * step)
                out.append((x0, word.top, word.left + round((i + 1) * step), word.top + word.height, word.confidence))
            at = found + len(word.text)
        while len(out) < len(self.text):  # text the words do not account for: the line's end
            out.append((self.left + self.width, self.top, self.left + self.width, self.top + self.height, 0.0))
        return out

    def replaced(self, start: int, end: int, text: str, box: tuple[int, int, int, int], conf: float) -> "OcrLine":
        """The line with `text[start:end]` read again as `text` from the page's `box` (a value re-read from its
        own crop): the words around it keep their boxes, a word cut by it keeps its part outside."""
        chars = self.char_boxes()
        words: list[tuple[int, OcrWord]] = []
        at = 0
        for word in self.words:
            found = self.text.find(word.text, at)
            if found < 0:
                continue
            at = found + len(word.text)
            for a, b in ((found, min(at, start)), (max(found, end), at)):
                if a < b:
                    x0, x1 = chars[a][0], chars[b - 1][2]
                    words.append((a, OcrWord(self.text[a:b], x0, word.top, x1 - x0, word.height, word.confidence)))
        x0, y0, x1, y1 = box
        words.append((start, OcrWord(text, x0, y0, x1 - x0, y1 - y0, conf)))
        words.sort(key=lambda w: w[0])
        left, top = min(self.left, x0), min(self.top, y0)
        right, bottom = max(self.left + self.width, x1), max(self.top + self.height, y1)
        line_text = self.text[:start] + text + self.text[end:]
        return OcrLine(line_text, left, top, right - left, bottom - top, tuple(w for _, w in words))

    def scaled(self, factor: float) -> "OcrLine":
        """The same line on an image `factor` times the size (a line read on a reduced copy)."""

        def s(v: int) -> int:
            return round(v * factor)

        words = tuple(OcrWord(w.text, s(w.left), s(w.top), s(w.width), s(w.height), w.confidence) for w in self.words)
        return OcrLine(self.text, s(self.left), s(self.top), s(self.width), s(self.height), words)


@dataclass(frozen=True)
class PageRead:
    """What an engine read on a page: its lines in reading order and, when the engine can tell that
    the page is not upright, the turn (degrees clockwise) that would make it so, with a confidence."""

    lines: list[OcrLine]
    turn: int = 0
    turn_confidence: float = 0.0


@dataclass
class Look:
    """A page looked at before it is read: the turn (degrees clockwise) that would make it upright, with a
    confidence, as `read` would report them, and its reading when asked for (made once). An engine that tells
    the orientation from less than a whole read (PP-OCR: the lines found and the direction classifier's view of
    them) leaves a page that must be turned unread as fed: it is read once, turned."""

    turn: int
    turn_confidence: float
    reading: Callable[[], PageRead]
    _read: PageRead | None = field(default=None, init=False, repr=False)

    def read(self) -> PageRead:
        if self._read is None:
            self._read = self.reading()
        return self._read

    @classmethod
    def of(cls, read: PageRead) -> "Look":
        """A look at a page already read (an engine that tells the orientation from its reading)."""
        return cls(read.turn, read.turn_confidence, lambda: read)


class OcrEngine(Protocol):
    name: str  # as the option spells it: "paddle", "tesseract"
    title: str  # as people know it: "PP-OCR", "Tesseract"

    def version(self) -> str:
        """The engine and model versions, as kept in the sidecar and shown on the dossier page."""
        ...

    def model_files(self) -> list[ModelFile]:
        """The model files it reads with and their SHA-256 sums (the sidecar's `run.models`)."""
        ...

    def languages(self) -> set[str]:
        """Language codes it reads, in Tesseract's spelling (chi_sim, eng)."""
        ...

    def read(self, image: Image.Image, languages: str, *, sparse: bool = False) -> PageRead:
        """Lines of a greyscale page image in reading order. `sparse`: a zone of scattered text (a title)
        rather than a page of running text, for engines whose layout analysis needs telling."""
        ...

    def look(self, image: Image.Image, languages: str) -> Look:
        """The page's orientation, and its reading on demand: `look(...).read()` is what `read` gives."""
        ...


@cache
def engine(name: str, model_folder: Path | None = None) -> OcrEngine:
    """The engine by name (with a bureau's model folder, for the engines that take one), one instance per
    process (an engine may hold loaded models)."""
    if name not in ENGINES:
        raise ValueError(f"unknown OCR engine {name!r}; choose one of {', '.join(sorted(ENGINES))}")
    adapter: OcrEngine = import_module(ENGINES[name]).Engine(name, model_folder)
    return adapter


def label(name: str, model_folder: Path | None = None) -> str:
    """How people see the engine's name (the dossier page, the PDF's creator tool)."""
    found = engine(name, model_folder)
    return f"{found.title} {found.version()}"


def confidence(lines: list[OcrLine]) -> float:
    """Mean confidence per character read (0 when nothing was read)."""
    chars = sum(len(w.text) for line in lines for w in line.words)
    if chars == 0:
        return 0.0
    return sum(w.confidence * len(w.text) for line in lines for w in line.words) / chars


def is_cjk(char: str) -> bool:
    code = ord(char)
    return (
        0x4E00 <= code <= 0x9FFF  # unified ideographs
        or 0x3400 <= code <= 0x4DBF  # extension A
        or 0x3000 <= code <= 0x303F  # CJK punctuation
        or 0xFF00 <= code <= 0xFFEF  # full-width forms (，：（）)
    )


def without_spaces_in_chinese(text: str) -> str:
    """A recogniser's text with the spaces it puts between Chinese characters (赵娜 性别) taken out."""
    out = ""
    for i, c in enumerate(text):
        if c.isspace():
            before, after = out[-1:] or " ", text[i + 1 : i + 2] or " "
            if is_cjk(before) or is_cjk(after) or after.isspace():
                continue
        out += c
    return out


def join_words(words: list[str]) -> str:
    """Chinese is written without spaces: an engine's word split inside Chinese is not kept."""
    out = ""
    for word in words:
        if out and not (is_cjk(out[-1]) or is_cjk(word[0])):
            out += " "
        out += word
    return out
