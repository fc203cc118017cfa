"""Typed options of one digitisation run. Defaults are our profile of DA/T 31-2017 (STANDARDS.md Part A)."""

import os
from dataclasses import dataclass, field
from pathlib import Path

from digitise.catalogue import Catalogue
from digitise.ocr import DEFAULT_ENGINE


@dataclass(frozen=True)
class DigitiseOptions:
    engine: str = DEFAULT_ENGINE  # the OCR engine by name (digitise/ocr.py ENGINES)
    # A folder of larger PP-OCR models the bureau obtained offline, with their SHA256SUMS (digitise/models.py);
    # used by the engines that read with v6 in place of v6 small. None: the models inside the wheels.
    ocr_models: Path | None = None
    languages: str = "chi_sim+eng"
    jobs: int = field(default_factory=lambda: os.cpu_count() or 1)
    min_dpi: int = 200  # below: hard failure (DA/T 31 9.4)
    recommended_dpi: int = 300  # below: warning (OCR and small print need 300)
    max_residual_skew: float = 1.0  # degrees after correction (local rules 1°–3°; we hold 1°)
    crop_margin_mm: float = 2.5  # keep 2–3 mm outside the page edge (DA/T 31 10.3)
    jpeg_quality: int = 60  # colour and grey pages; no national figure exists (STANDARDS §1.5)
    max_image_pixels: int = 150_000_000  # A2 at 600 dpi; beyond that a file is refused as a bomb
    # Pages in one run. A retiree's file has tens to a few hundred pages; a 50,000-page PDF held every bureau's
    # digitisation for hours before anything counted its pages. Counted before any page is worked on.
    max_pages: int = 3000
    operator: str = ""
    time_zone: str = ""  # the zone of the PDF's own dates (the bureau's, e.g. Asia/Shanghai); "": the machine's
    catalogue: Catalogue | None = None
    work_dir: Path | None = None  # where finished pages wait for a resumed run; default OUT.pdf.work
    # The pages in this order, as (file name, 1-based frame), instead of file by file: a rebuilt copy
    # puts a supplementary material's new scans at its place in the catalogue. Every page exactly once.
    page_order: tuple[tuple[str, int], ...] | None = None
    # Pages of the inputs that are not in this file any more (another person's page, taken out by the archivist):
    # left out of the copy, so `page_order` lists every page but these.
    left_out: tuple[tuple[str, int], ...] = ()

    def fingerprint(self) -> str:
        """What makes a finished page reusable by a resumed run: the settings that shape a page."""
        shaping = (self.engine, self.ocr_models, self.languages, self.min_dpi, self.max_residual_skew)
        return "|".join(map(str, (*shaping, self.crop_margin_mm, self.jpeg_quality)))
