"""Measuring and correcting one page image: skew, sideways pages, the scanner lid, blank backs, colour.

Measurements run on a ~100 dpi greyscale copy (fast, and enough for angles to 0.05°); corrections
are applied to the full image. Only what the standard allows is done to the use copy: turn,
straighten, crop with a margin, and take out scanner speckle — never stains, fading or holes.
"""

import io
from dataclasses import dataclass
from functools import cache
from types import ModuleType

import numpy as np
from PIL import Image


@cache
def _cv2() -> ModuleType:
    """OpenCV (rapidocr's own dependency), loaded on first use: the web process never needs it."""
    import cv2

    cv2.setNumThreads(1)  # pages run in parallel processes already
    return cv2


def median_3x3(grey: np.ndarray) -> np.ndarray:
    """Each pixel the median of its 3 × 3 neighbourhood, edges replicated: the pixels Pillow's MedianFilter(3)
    gives, from OpenCV's vectorised filter — 30–60× faster, and it ran three times on every page."""
    return _cv2().medianBlur(np.ascontiguousarray(grey), 3)


def minimum_5x5(grey: np.ndarray) -> np.ndarray:
    """Each pixel the darkest of its 5 × 5 neighbourhood (Pillow's MinFilter(5), by OpenCV's erosion)."""
    return _cv2().erode(np.ascontiguousarray(grey), np.ones((5, 5), np.uint8))


MEASURE_DPI = 100
SKEW_RANGE = 10.0  # degrees; a sheet fed worse than this is rescanned, not straightened


@dataclass(frozen=True)
class Tone:
    """Where paper and ink sit on the grey scale, and how much of the page is ink or colour."""

    paper: float
    ink_level: float  # median grey of the ink: near black for clean print, higher for faint
    ink_fraction: float
    midtone_fraction: float
    colour_fraction: float
    # Anything visibly darker than the paper (below 80 % of its grey), after despeckling: what tells a
    # blank back from a page. Faint carbon copies barely reach `ink_fraction`'s 60 % threshold.
    mark_fraction: float
    # Share of the marks whose colour is not the paper's own darkened (blue-black, brown, red ink): the
    # colour relative to the paper, so black print on yellowed paper is not coloured and faded blue is.
    coloured_ink: float = 0.0
    # Share of the strokes' darkest points (their cores, not their anti-aliased edges) lying clearly lighter
    # than the page's darkest ink: a hand in faded black ink on a black printed form. Clean print is one
    # darkness throughout.
    faded_ink: float = 0.0


def working_copy(image: Image.Image) -> Image.Image:
    """RGB or L, whatever the scanner delivered (bilevel, 16-bit, palette, CMYK, alpha)."""
    if image.mode in ("RGB", "L"):
        return image
    if image.mode in ("1", "LA", "I;16", "I;16B", "I;16L", "I", "F"):
        if image.mode in ("I;16", "I;16B", "I;16L", "I"):
            image = image.point(lambda v: v / 256)  # 16-bit grey to 8-bit
        return image.convert("L")
    return image.convert("RGB")


def measuring_copy(image: Image.Image, dpi: float) -> tuple[np.ndarray, float]:
    """A small greyscale array of the page and its scale relative to the full image."""
    scale = MEASURE_DPI / dpi if dpi else 850 / image.width
    scale = min(scale, 1.0)
    small = image.convert("L").resize(
        (max(1, round(image.width * scale)), max(1, round(image.height * scale))), Image.Resampling.BOX
    )
    return np.asarray(small, dtype=np.uint8), scale


def page_box(gray: np.ndarray) -> tuple[int, int, int, int] | None:
    """The sheet's box on a darker scanner lid, or None when the scan shows no lid (already cropped)."""
    h, w = gray.shape
    k = max(2, min(h, w) // 40)
    corners = np.concatenate(
        [gray[:k, :k].ravel(), gray[:k, -k:].ravel(), gray[-k:, :k].ravel(), gray[-k:, -k:].ravel()]
    )
    bed = float(np.median(corners))
    paper = float(np.median(gray[h // 4 : 3 * h // 4, w // 4 : 3 * w // 4]))
    if paper - bed < 40:
        return None
    sheet = gray > (paper + bed) / 2
    rows = np.where(sheet.mean(axis=1) > 0.5)[0]
    cols = np.where(sheet.mean(axis=0) > 0.5)[0]
    if len(rows) == 0 or len(cols) == 0:
        return None
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def ink_mask(gray: np.ndarray) -> np.ndarray:
    paper = float(np.percentile(gray, 90))
    return gray < paper * 0.6


def _profile_score(ys: np.ndarray, xs: np.ndarray, angle: float, height: int) -> float:
    shifted = ys - xs * np.tan(np.radians(angle))
    hist = np.bincount((shifted - shifted.min()).astype(np.int64), minlength=height)
    return float(np.dot(hist, hist))


def estimate_skew(gray: np.ndarray) -> tuple[float, float]:
    """(skew in degrees, counter-clockwise positive, sharpness of the best text-line profile).

    Projection profiles: when the lines of text are level, the row sums of ink are most peaked.
    """
    h, w = gray.shape
    inner = gray[h // 10 : h - h // 10, w // 10 : w - w // 10]  # keep sheet edges and lid out
    ys, xs = np.nonzero(ink_mask(inner))
    if len(ys) < 200:
        return 0.0, 0.0
    ys, xs = ys.astype(np.float64), xs.astype(np.float64)
    best, step = 0.0, 0.5
    span = SKEW_RANGE
    for _ in range(3):  # coarse to fine: 0.5°, 0.1°, 0.02°
        angles = np.arange(best - span, best + span + step / 2, step)
        scores = [_profile_score(ys, xs, a, inner.shape[0]) for a in angles]
        best = float(angles[int(np.argmax(scores))])
        span, step = step, step / 5
    flat = _profile_score(ys, xs, best, inner.shape[0])
    # Shearing by +a levels lines that run down to the right, i.e. a page turned clockwise by a.
    return round(-best, 2) + 0.0, flat / max(1.0, float(len(ys)))


def tone(image: Image.Image, gray: np.ndarray) -> Tone:
    paper = float(np.percentile(gray, 90))
    # Stroke darkness needs full resolution: at 100 dpi thin strokes average out to grey.
    full = np.asarray(image.convert("L"))[::2, ::2]
    fh, fw = full.shape
    full = full[fh // 20 : fh - fh // 20, fw // 20 : fw - fw // 20]  # not the lid kept around the sheet
    strokes = full[full < paper * 0.6]
    cleaned = median_3x3(gray)
    h, w = cleaned.shape
    inner = cleaned[h // 20 : h - h // 20, w // 20 : w - w // 20]  # binding holes and edges are not content
    ink_pixels = inner[inner < paper * 0.6]
    ink = ink_pixels.size / max(1, inner.size)
    marks = float((inner < paper * 0.8).mean())
    ink_level = float(np.percentile(strokes, 25)) if strokes.size else paper
    mid = float(((inner >= paper * 0.3) & (inner < paper * 0.8)).mean())
    colour = coloured = 0.0
    if image.mode == "RGB":
        hsv = np.asarray(image.resize((w, h), Image.Resampling.BOX).convert("HSV"))
        saturated = (hsv[..., 1] > 90) & (hsv[..., 2] > 70)
        colour = float(saturated[h // 20 : h - h // 20, w // 20 : w - w // 20].mean())
        coloured = _coloured_ink(np.asarray(image)[::2, ::2], full, paper)
    return Tone(paper, ink_level, ink, mid, colour, marks, coloured, _faded_ink(full, paper))


FADED_BY = 0.2  # of the paper's brightness: how much lighter than the darkest ink a faded stroke's core lies


def _faded_ink(grey: np.ndarray, paper: float) -> float:
    """Share of stroke cores (points darkest within 5 × 5 at 150 dpi) lighter than the darkest ink by FADED_BY."""
    cores = grey[(grey == minimum_5x5(grey)) & (grey < paper * 0.8)]
    if cores.size < 200:
        return 0.0
    levels = cores / max(1.0, paper)
    return float((levels > np.percentile(levels, 10) + FADED_BY).mean())


def _coloured_ink(rgb: np.ndarray, grey: np.ndarray, paper: float) -> float:
    """Share of the marks whose colour, divided by the paper's, is not grey (ink of a colour, not black)."""
    fh, fw = rgb.shape[:2]
    rgb = rgb[fh // 20 : fh - fh // 20, fw // 20 : fw - fw // 20].astype(np.float32)
    marks = grey < paper * 0.75
    if marks.sum() < 200:
        return 0.0
    light = grey >= np.percentile(grey, 60)  # >=: on clean white paper the 60th percentile is 255
    paper_rgb = np.median(rgb[light], axis=0) + 1.0
    ratio = rgb[marks] / paper_rgb
    chroma = ratio.max(axis=1) - ratio.min(axis=1)
    return float((chroma > 0.15).mean())


def turn(image: Image.Image, degrees_clockwise: int) -> Image.Image:
    if degrees_clockwise % 360 == 0:
        return image
    return image.rotate(-degrees_clockwise, expand=True)


def straighten(image: Image.Image, skew: float, fill: int) -> Image.Image:
    if abs(skew) < 0.05:
        return image
    colour = fill if image.mode == "L" else (fill, fill, fill)
    # Bilinear: a third of bicubic's time, and no visible difference at 300 dpi for turns under 10°.
    return image.rotate(-skew, resample=Image.Resampling.BILINEAR, expand=True, fillcolor=colour)


def crop_to_sheet(
    image: Image.Image, box_small: tuple[int, int, int, int], scale: float, margin_px: int
) -> Image.Image:
    left, top, right, bottom = (round(v / scale) for v in box_small)
    return image.crop(
        (
            max(0, left - margin_px),
            max(0, top - margin_px),
            min(image.width, right + margin_px),
            min(image.height, bottom + margin_px),
        )
    )


def ocr_copy(image: Image.Image) -> Image.Image:
    """What the OCR engine reads: the red channel drops red seals and letterheads that sit over the text.
    Anything more (despeckling, scaling) is the engine adapter's business: what helps one costs the other."""
    if image.mode != "RGB":
        return image.convert("L")
    # PP-OCRv6 still reads a seal's words in the red channel: ink much redder than it is green is lifted
    # to white (black text under a seal is dark in every channel and stays; brown ink is not that red).
    red, green = (np.asarray(image.getchannel(c), dtype=np.int16) for c in "RG")
    return Image.fromarray(np.where(red - green > 60, 255, red).astype(np.uint8))


USE_COPY_DPI = 200  # colour and grey pages of the use copy: DA/T 31-2017's scanning floor (≥ 200 dpi)


def use_copy_image(image: Image.Image, dpi: float) -> Image.Image:
    """A colour or grey page as the use copy holds it: at USE_COPY_DPI (Lanczos) when scanned finer. On grainy
    paper JPEG spends its bits on the grain, not the writing; at 200 dpi such a page shrinks by ~40 %. The
    master keeps every pixel; OCR, the text layer's boxes and the sidecar stay in the page's own pixels."""
    if dpi <= USE_COPY_DPI:
        return image
    scale = USE_COPY_DPI / dpi
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS)


def encode_jpeg(image: Image.Image, quality: int) -> bytes:
    # No despeckling here: at these qualities it saves under 6 % and costs more than the OCR's share.
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=quality, optimize=True)
    return buf.getvalue()


def encode_g4(image: Image.Image) -> bytes:
    """Bilevel page as raw CCITT G4 data (one strip), black coded as black, for a PDF CCITTFaxDecode stream."""
    grey = Image.fromarray(median_3x3(np.asarray(image.convert("L"))))
    paper = float(np.percentile(np.asarray(grey.resize((max(1, grey.width // 8), max(1, grey.height // 8)))), 90))
    # libtiff codes 0 bits as the fax "white" runs, and Pillow writes mode "1" as MinIsBlack (black = 0):
    # left as it is, ink is coded as white and every viewer shows a negative. Ink is therefore given
    # the 1 bits, so the data read as the fax convention a PDF's CCITTFaxDecode (BlackIs1 false) expects.
    # Already 0 or 255: no dithering to do (Pillow's default Floyd–Steinberg pass gives the same bits, slower).
    ink_is_1 = grey.point(lambda v: 0 if v > paper * 0.7 else 255).convert("1", dither=Image.Dither.NONE)
    buf = io.BytesIO()
    ink_is_1.save(buf, "TIFF", compression="group4", strip_size=2**31 - 1)
    buf.seek(0)
    with Image.open(buf) as tiff:
        tags = tiff.tag_v2  # type: ignore[attr-defined]
        offsets, counts = tags[273], tags[279]  # StripOffsets, StripByteCounts
        photometric = tags.get(262)
    if photometric != 1:  # the inversion above holds for MinIsBlack only
        raise RuntimeError(f"G4 encoder wrote photometric interpretation {photometric}, expected 1")
    if len(offsets) != 1:
        raise RuntimeError("G4 encoder wrote more than one strip")
    data = buf.getvalue()
    return data[offsets[0] : offsets[0] + counts[0]]
