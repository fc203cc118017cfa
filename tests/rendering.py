"""Look at a PDF as a person would: render its pages with Poppler and compare them with the scans.

Structure checks (filters, colour spaces, page counts) passed while every CCITT G4 page showed
white on black, so these checks render the pages and compare what is seen: the mean tone of the
sheet and a coarse picture of where the ink lies. The centre of each image is compared, which
leaves out the scanner lid that the pipeline crops away.
"""

import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

RENDER_DPI = 50
GRID = (14, 20)  # coarse cells across and down: layout survives, deskew and crop shifts do not matter
MAX_TONE_DIFFERENCE = 40.0  # of 255: bilevel paper turns pure white (+10…+20); a negative differs by ~220
MAX_COARSE_DIFFERENCE = 40.0


def render(pdf: Path | bytes, dpi: int = RENDER_DPI) -> list[Image.Image]:
    """Every page of the PDF as Poppler draws it (pdftoppm), in greyscale."""
    with tempfile.TemporaryDirectory(prefix="render-") as tmp:
        if isinstance(pdf, bytes):
            path = Path(tmp) / "in.pdf"
            path.write_bytes(pdf)
        else:
            path = pdf
        subprocess.run(["pdftoppm", "-r", str(dpi), "-gray", "-png", str(path), f"{tmp}/p"], check=True)
        pages = sorted(Path(tmp).glob("p-*.png"))
        return [Image.open(p).convert("L").copy() for p in pages]


def _centre(image: Image.Image) -> np.ndarray:
    grey = image.convert("L")
    w, h = grey.size
    inner = grey.crop((w // 10, h // 10, w - w // 10, h - h // 10))
    return np.asarray(inner.resize(GRID, Image.Resampling.BOX), dtype=float)


@dataclass(frozen=True)
class Likeness:
    tone_difference: float  # rendered mean minus source mean, of 255
    coarse_difference: float  # mean absolute difference of the coarse grids, of 255

    @property
    def alike(self) -> bool:
        return abs(self.tone_difference) <= MAX_TONE_DIFFERENCE and self.coarse_difference <= MAX_COARSE_DIFFERENCE


def likeness(rendered: Image.Image, source: Image.Image, rotation: int = 0) -> Likeness:
    """How a rendered page compares with its scan (turned as the pipeline turned it)."""
    if rotation:
        source = source.rotate(-rotation, expand=True)
    a, b = _centre(rendered), _centre(source)
    return Likeness(float(a.mean() - b.mean()), float(np.abs(a - b).mean()))


def assert_pages_look_like(
    pdf: Path | bytes, sources: Sequence[Image.Image], rotations: Sequence[int] | None = None, *, first: int = 1
) -> list[Image.Image]:
    """Pages first … first+len(sources)-1 of the PDF look like their scans; returns all rendered pages."""
    pages = render(pdf)
    rotations = rotations or [0] * len(sources)
    bad = []
    for n, (source, rotation) in enumerate(zip(sources, rotations, strict=True), start=first):
        found = likeness(pages[n - 1], source, rotation)
        if not found.alike:
            bad.append(f"page {n}: tone {found.tone_difference:+.0f}, coarse {found.coarse_difference:.0f}")
    assert not bad, "rendered pages do not look like their scans: " + "; ".join(bad)
    return pages
