"""Scans for the digitisation tests, drawn with known text (digitise.specimen)."""

import random
from dataclasses import dataclass
from pathlib import Path

import pytest

from digitise.catalogue import Catalogue, CatalogueEntry, RetireeFacts
from digitise.options import DigitiseOptions
from digitise.pipeline import RunResult, digitise
from digitise.specimen import SpecimenPage, SpecimenPerson, draw_page, person, save_scan


@dataclass
class ScannedDossier:
    who: SpecimenPerson
    pages: list[SpecimenPage]
    files: list[Path]
    catalogue: Catalogue
    result: RunResult
    pdf: Path
    sidecar: Path


def catalogue_for(who: SpecimenPerson, counts: list[int]) -> Catalogue:
    names = [
        ("1", "第一类 履历材料", "1-1", "职工登记表"),
        ("9", "第九类 工资、任免等材料", "9-1", "工资审批表"),
        ("9", "第九类 工资、任免等材料", "9-2", "退休审批表"),
    ]
    entries = tuple(
        CatalogueEntry(seq, code, cls, title, n) for (code, cls, seq, title), n in zip(names, counts, strict=True)
    )
    return Catalogue("J102-RS-000042", entries, RetireeFacts(who.name, who.citizen_id, who.birth_date))


@pytest.fixture(scope="session")
def scanned_dossier(tmp_path_factory: pytest.TempPathFactory) -> ScannedDossier:
    """One dossier through the whole pipeline with the real default OCR engine: run once, looked at by many tests.

    Page 1 colour with a red seal and photo, skewed 2.5°; page 2 a blank back; page 3 fed upside
    down; page 4 clean black print; page 5 someone else's form (misfiled).
    """
    rng = random.Random(20261123)
    who = person(rng)
    stranger = person(rng)
    pages = [
        draw_page(rng, who, skew=2.5, photo=True, lines=6),
        draw_page(rng, who, blank=True),
        draw_page(rng, who, skew=-0.8, upside_down=True, lines=6),
        draw_page(rng, who, seal=False, noise=0, skew=0.4, lines=6),
        draw_page(rng, stranger, seal=False, lines=4),
    ]
    scans = tmp_path_factory.mktemp("scans")
    files = [save_scan(p, scans / f"scan-{i + 1:03d}.tif") for i, p in enumerate(pages)]
    catalogue = catalogue_for(who, [1, 2, 1])  # 4 pages with content: the blank back is not counted
    out = tmp_path_factory.mktemp("out")
    options = DigitiseOptions(jobs=2, catalogue=catalogue, operator="测试员")
    result = digitise(files, out / "dossier.pdf", options, sidecar=out / "dossier.json")
    return ScannedDossier(who, pages, files, catalogue, result, out / "dossier.pdf", out / "dossier.json")


@pytest.fixture
def blank_scan(tmp_path: Path):
    """Blank sheets are processed without OCR, so tests of file handling stay fast."""

    def make(name: str, dpi: int = 300, **save) -> Path:
        page = draw_page(random.Random(name), person(random.Random(1)), blank=True, dpi=dpi, noise=0)
        path = tmp_path / name
        if save:
            page.image.save(path, dpi=(dpi, dpi), **save)
            return path
        return save_scan(page, path)

    return make
