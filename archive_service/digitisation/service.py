"""Digitising a dossier in custody: run `digitise/` on its scans, then keep what it made.

The pipeline runs outside any database transaction (it takes minutes); what it produced is then
recorded in one transaction: the scanner's files as archival masters (`{档号}-{NNNN}.ext`,
unchanged), the PDF/A use copy (`{档号}.pdf`), the sidecar (`{档号}.json`), each material's page
range, and the dossier's digitisation state. A failure in that transaction removes the objects
it stored (preservation's rollback hook), so nothing is half-recorded.
"""

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from archive_service.auth.models import User
from archive_service.auth.permissions import Action, require
from archive_service.dossiers.class_schemes import TOP_CLASS_NAMES
from archive_service.dossiers.models import DigitalObject, DigitisationState, Dossier, PageText
from archive_service.dossiers.service import catalogue_by_top_class
from archive_service.errors import ArchiveError
from archive_service.preservation.service import ingest
from digitise.catalogue import Catalogue, CatalogueEntry, RetireeFacts
from digitise.findings import Finding, Severity, errors, report
from digitise.options import DigitiseOptions
from digitise.pipeline import PIPELINE_VERSION, RunResult, digitise
from digitise.sources import media_type_of
from digitise.tesseract import version as tesseract_version
from storage import ObjectStore

Progress = Callable[[int, int], None]


@dataclass
class DigitisationOutcome:
    dossier: Dossier
    result: RunResult
    use_copy: DigitalObject | None

    @property
    def ok(self) -> bool:
        return self.use_copy is not None

    @property
    def report(self) -> str:
        return report(self.result.findings)


def catalogue_for(session: Session, dossier: Dossier) -> Catalogue:
    """The dossier's catalogue and retiree as the pipeline needs them (bookmarks, linkage, misfiling)."""
    entries = [
        CatalogueEntry(
            m.sequence, m.material_class.code, f"第{TOP_CLASS_NAMES[n]}类 {class_name}".strip(), m.title, m.pages
        )
        for n, class_name, materials in catalogue_by_top_class(session, dossier)
        for m in materials
    ]
    r = dossier.retiree
    return Catalogue(dossier.archival_code, tuple(entries), RetireeFacts(r.name, r.citizen_id, r.birth_date))


def digitise_dossier(
    session: Session,
    store: ObjectStore,
    actor: User,
    dossier: Dossier,
    scans: Sequence[Path],
    *,
    jobs: int | None = None,
    languages: str = "chi_sim+eng",
    progress: Progress | None = None,
    work_root: Path | None = None,
) -> DigitisationOutcome:
    require(actor, Action.digitise)
    if dossier.custodian_id != actor.organisation_id:
        raise ArchiveError("dossier.not_in_custody", "只能数字化本馆保管的档案", "archival_code", 403)
    if not scans:
        raise ArchiveError("scans.empty", "请给出扫描文件", "scans")
    # Finished pages are kept between attempts: a rerun after a crash or a corrected catalogue resumes.
    work_dir = (work_root or Path(tempfile.gettempdir())) / f"digitise-{dossier.archival_code}.work"
    options = DigitiseOptions(
        languages=languages,
        catalogue=catalogue_for(session, dossier),
        operator=f"{actor.display_name}（{actor.username}）",
        work_dir=work_dir,
    )
    if jobs:
        options = replace(options, jobs=jobs)
    if work_root:
        work_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="digitise-", dir=work_root) as tmp:
        out = Path(tmp) / f"{dossier.archival_code}.pdf"
        sidecar = Path(tmp) / f"{dossier.archival_code}.json"
        result = digitise(scans, out, options, sidecar=sidecar, progress=progress)
        if errors(result.findings):
            dossier.digitisation = DigitisationState.failed
            session.flush()
            return DigitisationOutcome(dossier, result, None)
        use_copy = _record(session, store, dossier, scans, result, out, sidecar, languages)
    return DigitisationOutcome(dossier, result, use_copy)


def _record(
    session: Session,
    store: ObjectStore,
    dossier: Dossier,
    scans: Sequence[Path],
    result: RunResult,
    pdf: Path,
    sidecar: Path,
    languages: str,
) -> DigitalObject:
    qc = [f.as_dict() for f in result.findings]
    for serial, scan in enumerate(scans, start=1):
        pages = sum(1 for p in result.pages if p["source"] == scan.name)
        ingest(
            session,
            store,
            dossier,
            scan,
            role="master_image",
            name=f"{dossier.archival_code}-{serial:04d}{scan.suffix.lower()}",
            media_type=media_type_of(scan),
            pages=pages,
            pipeline_version=PIPELINE_VERSION,
        )
    use_copy = ingest(
        session,
        store,
        dossier,
        pdf,
        role="use_copy",
        name=f"{dossier.archival_code}.pdf",
        media_type="application/pdf",
        pages=len(result.pages),
        pdfa_level="2b",
        ocr_engine=f"Tesseract {tesseract_version()}",
        ocr_languages=languages,
        page_confidence=result.page_confidence,
        qc_results=qc,
        pipeline_version=PIPELINE_VERSION,
    )
    ingest(
        session,
        store,
        dossier,
        sidecar,
        role="sidecar",
        name=f"{dossier.archival_code}.json",
        media_type="application/json",
        pipeline_version=PIPELINE_VERSION,
    )
    # The OCR text of each page, for full-text search (a new copy replaces the old one's text).
    session.execute(delete(PageText).where(PageText.dossier_id == dossier.id))
    session.add_all(PageText(dossier_id=dossier.id, page=n, text=t) for n, t in enumerate(result.page_texts, start=1))
    by_sequence = {m.sequence: m for m in result.materials}
    for material in dossier.materials:
        linked = by_sequence.get(material.sequence)
        material.first_page = linked.first_page if linked else None
        material.last_page = linked.last_page if linked else None
    dossier.digitisation = DigitisationState.done
    session.flush()
    return use_copy


def latest_use_copy(session: Session, dossier: Dossier) -> DigitalObject | None:
    return session.scalars(
        select(DigitalObject)
        .where(DigitalObject.dossier_id == dossier.id, DigitalObject.role == "use_copy")
        .order_by(DigitalObject.version.desc())
    ).first()


def findings_of(obj: DigitalObject) -> list[Finding]:
    return [Finding(**{**f, "severity": Severity(f["severity"])}) for f in obj.qc_results or []]
