import hashlib
import pickle
import random
import shutil
import tempfile
from functools import cache
from pathlib import Path

import pytest
from sqlalchemy import select

from archive_service import adapters, db
from archive_service.auth.models import User
from archive_service.config import get_settings
from archive_service.digitisation.service import _record, catalogue_for
from archive_service.dossiers.models import Dossier
from digitise.options import DigitiseOptions
from digitise.pipeline import digitise
from digitise.specimen import draw_page, person, save_scan
from tests.conftest import made_once_per_run

SCAN_DIR = Path(tempfile.mkdtemp(prefix="test-scans-"))


@cache
def blank_scans(count: int, dpi: int = 200) -> tuple[Path, ...]:
    """Blank sheets at 200 dpi: no OCR, so a whole dossier's worth stays quick (and earns a warning)."""
    page = draw_page(random.Random(1), person(random.Random(1)), blank=True, dpi=dpi, noise=0)
    return tuple(save_scan(page, SCAN_DIR / f"{count}-{i + 1:03d}.tif") for i in range(count))


def one_sheet_per_entry(session, dossier: Dossier) -> int:
    """The file's catalogue entries made one page each (committed); returns its pages. For tests of the path a
    file takes, which need a catalogue of several entries but not the demo file's 28 sheets (12 instead: each
    sheet through the pipeline is ~0.35 s of CPU)."""
    for material in dossier.materials:
        material.pages = 1
    dossier.pages = len(dossier.materials)
    session.commit()
    return dossier.pages


_pipeline_runs: dict[tuple, tuple] = {}


@pytest.fixture
def digitised(demo, tmp_path_factory) -> Dossier:
    """The first 西城 dossier, digitised (blank sheets), committed.

    The pipeline runs once per catalogue in a run, in whichever worker asks first (its 28 pages took 9 s of
    CPU, made again in each worker); every test records its output again (test_digitisation covers the whole
    path every time).
    """
    return _digitised_first_file(tmp_path_factory, one_sheet_each=False)


@pytest.fixture
def digitised_short(demo, tmp_path_factory) -> Dossier:
    """`digitised`, its catalogue entries one page each first (one_sheet_per_entry): for tests that make the
    file's copy again (a rebuild, a supplement), which then work on 12 pages instead of 28."""
    return _digitised_first_file(tmp_path_factory, one_sheet_each=True)


def _digitised_first_file(tmp_path_factory: pytest.TempPathFactory, one_sheet_each: bool) -> Dossier:
    with db.get_sessionmaker()() as session:
        actor = session.scalar(select(User).where(User.username == "archivist"))
        dossier = session.scalars(
            select(Dossier).where(Dossier.custodian_id == actor.organisation_id).order_by(Dossier.id)
        ).first()
        if one_sheet_each:
            one_sheet_per_entry(session, dossier)
        scans = blank_scans(sum(m.pages for m in dossier.materials))
        store = adapters.open_store(get_settings())
        key = (dossier.archival_code, tuple((m.sequence, m.pages) for m in dossier.materials))
        if key not in _pipeline_runs:
            catalogue = catalogue_for(session, dossier)

            def run(folder: Path) -> None:
                options = DigitiseOptions(catalogue=catalogue, jobs=2, work_dir=folder / "work")
                result = digitise(scans, folder / "copy.pdf", options, sidecar=folder / "copy.json")
                assert result.written, result.findings
                (folder / "run.pickle").write_bytes(pickle.dumps((result, options)))

            name = "digitised-" + hashlib.sha256(repr((catalogue, len(scans))).encode()).hexdigest()[:16]
            made = made_once_per_run(tmp_path_factory, name, run)
            out = SCAN_DIR / f"run-{len(_pipeline_runs)}"
            shutil.copytree(made, out)  # the worker's own: recording may write a corrected copy beside it
            result, options = pickle.loads((out / "run.pickle").read_bytes())
            _pipeline_runs[key] = (result, out / "copy.pdf", out / "copy.json", options)
        result, pdf, sidecar, options = _pipeline_runs[key]
        _record(session, store, dossier, scans, result, pdf, sidecar, options)
        session.commit()
        session.refresh(dossier)
        session.expunge_all()
        return dossier
