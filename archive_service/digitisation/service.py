"""Digitising a dossier in custody: run `digitise/` on its scans, then keep what it made.

The pipeline runs outside any database transaction (it takes minutes); what it produced is then
recorded in one transaction: the scanner's files as archival masters (`{档号}-{NNNN}.ext`,
unchanged), the PDF/A use copy (`{档号}.pdf`), the sidecar (`{档号}.json`), each material's page
range, and the dossier's digitisation state. A failure in that transaction removes the objects
it stored (preservation's rollback hook), so nothing is half-recorded.
"""

import io
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import pikepdf
from PIL import Image
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from archive_service.auth.models import User
from archive_service.auth.permissions import Action, require
from archive_service.config import get_settings, page_folder
from archive_service.db import in_bureau_time
from archive_service.digitisation import page_counts
from archive_service.digitisation.misfiled_models import PageCheck, PageOutcome
from archive_service.dossiers.class_schemes import TOP_CLASS_NAMES
from archive_service.dossiers.models import DigitalObject, DigitisationState, Dossier, PageText
from archive_service.dossiers.service import catalogue_by_top_class, get_dossier
from archive_service.errors import ArchiveError
from archive_service.jobs.models import Job, JobKind
from archive_service.jobs.queue import enqueue
from archive_service.preservation.models import still_stored
from archive_service.preservation.service import ingest, stage_upload
from archive_service.uploads import saved_scans, scan_frames
from archive_service.verification.layer import corrected_text_layers, page_texts, page_widths
from archive_service.verification.models import ReadingCheck
from digitise import ocr
from digitise.catalogue import Catalogue, CatalogueEntry, MaterialPages, RetireeFacts
from digitise.findings import Finding, Severity, errors, report
from digitise.models import ModelFolderError
from digitise.options import DigitiseOptions
from digitise.pdf import replace_bookmarks, replace_text_layer
from digitise.pipeline import PIPELINE_VERSION, PagesDone, RunResult, bookmarks, digitise
from digitise.sources import media_type_of, page_images, pages_of, sha256_of_file
from storage import ObjectStore

if TYPE_CHECKING:
    from fastapi import UploadFile


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
    return Catalogue(dossier.archival_code, tuple(entries), RetireeFacts(r.name, r.citizen_id or "", r.birth_date))


def digitise_dossier(
    session: Session,
    store: ObjectStore,
    actor: User,
    dossier: Dossier,
    scans: Sequence[Path],
    *,
    jobs: int | None = None,
    languages: str = "chi_sim+eng",
    engine: str | None = None,  # empty: the service's ARCHIVE_OCR_ENGINE
    progress: PagesDone | None = None,
    work_root: Path | None = None,
    page_order: tuple[tuple[str, int], ...] | None = None,
    left_out: tuple[tuple[str, int], ...] = (),
    before_storing: Callable[[list[Path]], None] | None = None,
) -> DigitisationOutcome:
    """Run the pipeline on the scans and record what it made. `before_storing` is told the files about
    to be stored (a job notes their content keys first, so a crash mid-way leaves no orphan object)."""
    require(actor, Action.digitise)
    if dossier.custodian_id != actor.organisation_id:
        raise ArchiveError("dossier.not_in_custody", "只能数字化本馆保管的档案", "archival_code", 403)
    if not scans:
        raise ArchiveError("scans.empty", "请给出扫描文件", "scans")
    # Finished pages are kept between attempts: a rerun after a crash or a corrected catalogue resumes.
    # Under the installation's own work directory: two installations on one host (or two test workers)
    # may hold files with the same 档号.
    work_root = work_root or get_settings().digitise_work_dir
    work_dir = page_folder(work_root, dossier.archival_code)
    options = DigitiseOptions(
        engine=engine or get_settings().ocr_engine,
        ocr_models=get_settings().ocr_models,
        languages=languages,
        catalogue=catalogue_for(session, dossier),
        operator=f"{actor.display_name}（{actor.username}）",
        time_zone=get_settings().time_zone,
        work_dir=work_dir,
        page_order=page_order,
        left_out=left_out,
    )
    if jobs:
        options = replace(options, jobs=jobs)
    work_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="digitise-", dir=work_root) as tmp:
        out = Path(tmp) / f"{dossier.archival_code}.pdf"
        sidecar = Path(tmp) / f"{dossier.archival_code}.json"
        try:
            result = digitise(scans, out, options, sidecar=sidecar, progress=progress)
        except ModelFolderError as exc:
            raise ArchiveError("ocr_models.invalid", str(exc), "ocr_models") from exc
        if errors(result.findings):
            dossier.digitisation = DigitisationState.failed
            session.flush()
            return DigitisationOutcome(dossier, result, None)
        counted = page_counts.finding(dossier, options.catalogue, result.pages)
        if counted is not None:
            result.findings.append(counted)  # on the copy's QC results and in the job's report
        if before_storing:
            before_storing([*scans, out, sidecar])
        use_copy = _record(session, store, dossier, scans, result, out, sidecar, options)
        page_counts.record(session, actor, dossier, use_copy, counted)
    return DigitisationOutcome(dossier, result, use_copy)


def submit_uploads(
    session: Session,
    store: ObjectStore,
    user: User,
    dossier_id: int,
    uploads: "list[UploadFile]",
    languages: str = "chi_sim+eng",
) -> Job:
    """Scans uploaded through the API or the dossier page → a digitisation job."""
    dossier = get_dossier(session, user, dossier_id)
    with tempfile.TemporaryDirectory(prefix="digitise-upload-") as tmp:
        return submit(session, store, user, dossier, saved_scans(uploads, Path(tmp)), languages=languages)


def submit(
    session: Session,
    store: ObjectStore,
    actor: User,
    dossier: Dossier,
    scans: Sequence[Path],
    *,
    languages: str = "chi_sim+eng",
    jobs: int | None = None,
) -> Job:
    """Queue a dossier's scans for digitisation by a worker. The scans are checked (type, size, pages)
    and kept in the object store for the worker, which may be on another host; they are staged by the
    job, and whatever the catalogue does not end up recording is removed when the job ends."""
    require(actor, Action.digitise)
    if dossier.custodian_id != actor.organisation_id:
        raise ArchiveError("dossier.not_in_custody", "只能数字化本馆保管的档案", "archival_code", 403)
    if not scans:
        raise ArchiveError("scans.empty", "请给出扫描文件", "scans", 422)
    pages = scan_frames(scans)
    staged = []
    for n, scan in enumerate(scans, start=1):
        stored = stage_upload(session, store, scan)
        # Scan order first, then the clerk's own file name, so a finding names the file the clerk chose.
        staged.append({"name": f"{n:04d}-{scan.name}", "key": stored.key, "sha256": stored.sha256})
    params = {"dossier_id": dossier.id, "actor_id": actor.id, "scans": staged, "languages": languages, "jobs": jobs}
    return enqueue(
        session,
        JobKind.digitise,
        params,
        actor=actor,
        dossier_id=dossier.id,
        staged_keys=[s["key"] for s in staged],
        total=pages,
    )


def _record(
    session: Session,
    store: ObjectStore,
    dossier: Dossier,
    scans: Sequence[Path],
    result: RunResult,
    pdf: Path,
    sidecar: Path,
    options: DigitiseOptions,
) -> DigitalObject:
    qc = [f.as_dict() for f in result.findings]
    kept = {o.name: o.sha256 for o in latest_objects(session, dossier, "master_image")}
    read = {p.source: p.source_sha256 for p in result.pages}  # each scan's SHA-256, as the pipeline read it once
    for serial, scan in enumerate(scans, start=1):
        pages = sum(1 for p in result.pages if p.source == scan.name)
        name = f"{dossier.archival_code}-{serial:04d}{scan.suffix.lower()}"
        sha256 = read.get(scan.name) or sha256_of_file(scan)  # a scan whose every page was left out: read here
        if kept.get(name) == sha256:  # a rebuilt copy: the master is already kept, unchanged
            continue
        ingest(
            session,
            store,
            dossier,
            scan,
            role="master_image",
            name=name,
            media_type=media_type_of(scan),
            pages=pages,
            pipeline_version=PIPELINE_VERSION,
        )
    # The corrections of 校对 stay in force over what the engine read this time: in the text layer and the page texts.
    checks = session.scalars(select(ReadingCheck).where(ReadingCheck.dossier_id == dossier.id)).all()
    if checks and (layers := corrected_text_layers(result.sidecar, checks)):
        corrected = pdf.with_name(f"corrected-{pdf.name}")
        replace_text_layer(pdf, layers, page_widths(result.sidecar), in_bureau_time(datetime.now(UTC)), corrected)
        pdf = corrected
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
        ocr_engine=ocr.label(options.engine, options.ocr_models),
        ocr_languages=options.languages,
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
    texts = dict(enumerate(result.page_texts, start=1))
    if checks:
        texts.update(page_texts(result.sidecar, checks))
    session.execute(delete(PageText).where(PageText.dossier_id == dossier.id))
    session.add_all(PageText(dossier_id=dossier.id, page=n, text=t) for n, t in texts.items())
    by_sequence = {m.sequence: m for m in result.materials}
    for material in dossier.materials:
        linked = by_sequence.get(material.sequence)
        material.first_page = linked.first_page if linked else None
        material.last_page = linked.last_page if linked else None
    dossier.digitisation = DigitisationState.done
    session.flush()
    return use_copy


def retitle_use_copy(session: Session, store: ObjectStore, dossier: Dossier) -> DigitalObject | None:
    """After a digitised dossier's catalogue changed: the next version of its use copy, its bookmarks and
    described materials those of the catalogue as it now is, every page as it was (no OCR; the old version is
    kept). A new version is also what tells the viewer that pages may belong to other materials now."""
    copy = latest_use_copy(session, dossier)
    if copy is None:
        return None
    by_sequence = {m.sequence: m for m in dossier.materials}
    materials = [
        MaterialPages(e.sequence, e.class_code, e.class_name, e.title, linked.first_page, linked.last_page or 0)
        for e in catalogue_for(session, dossier).entries
        if (linked := by_sequence[e.sequence]).first_page
    ]
    work_root = get_settings().digitise_work_dir
    work_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="retitle-", dir=work_root) as tmp:
        before, after = Path(tmp) / "before.pdf", Path(tmp) / copy.name
        with before.open("wb") as out:
            for chunk in store.open(copy.storage_key):
                out.write(chunk)
        titles = [f"{m.sequence} {m.title}" for m in materials]
        replace_bookmarks(before, bookmarks(materials), titles, in_bureau_time(datetime.now(UTC)), after)
        return ingest(
            session,
            store,
            dossier,
            after,
            role="use_copy",
            name=copy.name,
            media_type=copy.media_type,
            pages=copy.pages,
            pdfa_level=copy.pdfa_level,
            ocr_engine=copy.ocr_engine,
            ocr_languages=copy.ocr_languages,
            page_confidence=copy.page_confidence,
            # "尚无卷内目录" was true of the pages when they were digitised; with a catalogue it no longer is.
            qc_results=[f for f in copy.qc_results or [] if not (f["code"] == "catalogue.empty" and materials)],
            pipeline_version=copy.pipeline_version,  # the pages are that version's (a faulty one stays found)
        )


def latest_objects(session: Session, dossier: Dossier, role: str | None = None) -> list[DigitalObject]:
    """The latest version of each of the dossier's objects (in one role, or all), by name."""
    query = select(DigitalObject).where(DigitalObject.dossier_id == dossier.id, still_stored())
    if role:
        query = query.where(DigitalObject.role == role)
    latest: dict[str, DigitalObject] = {}
    for obj in session.scalars(query.order_by(DigitalObject.version)):
        latest[obj.name] = obj
    return [latest[name] for name in sorted(latest)]


def latest_sidecar(session: Session, store: ObjectStore, dossier: Dossier) -> dict[str, Any] | None:
    """The sidecar of the dossier's latest digitised copy (pages, their sources, the proposed catalogue), or
    None when it has none."""
    sidecar = latest_objects(session, dossier, "sidecar")
    return orjson.loads(b"".join(store.open(sidecar[-1].storage_key))) if sidecar else None


def rebuild_use_copy(
    session: Session,
    store: ObjectStore,
    actor: User,
    dossier: Dossier,
    added: dict[int, Sequence[Path]] | None = None,
    *,
    jobs: int | None = None,
    work_root: Path | None = None,
) -> DigitisationOutcome:
    """A new use copy from the kept masters, plus the scans of materials added to a digitised dossier
    (材料补充), each page at its material's place in the catalogue. Masters are never re-encoded or
    renamed; new scans become the next masters and the old copy stays as a version.

    `added` maps each new material's id to its scans; the other materials must carry their page ranges
    in the current copy (from the last run's linkage). Without `added` the copy is made again as it was
    (a copy made by a faulty pipeline version, see `faulty_use_copies`)."""
    added = added or {}
    work_root = work_root or get_settings().digitise_work_dir
    work_root.mkdir(parents=True, exist_ok=True)
    card = latest_sidecar(session, store, dossier)
    masters = latest_objects(session, dossier, "master_image")
    if card is None or not masters:
        raise ArchiveError("dossier.not_digitised", f"{dossier.archival_code} 尚未数字化", "archival_code", 409)
    # The last run's inputs became the masters in the same order (serial = position), under new names.
    master_name = {source["file"]: obj.name for source, obj in zip(card["sources"], masters, strict=False)}
    old_pages = [(master_name[p["source"]], p["source_frame"]) for p in card["pages"]]
    with tempfile.TemporaryDirectory(prefix="rebuild-", dir=work_root) as tmp:
        folder = Path(tmp)
        scans: list[Path] = []
        for obj in masters:  # restored under their own names, so unchanged masters are recognised
            path = folder / obj.name
            with path.open("wb") as out:
                for chunk in store.open(obj.storage_key):
                    out.write(chunk)
            scans.append(path)
        new_pages: dict[int, list[tuple[str, int]]] = {}
        for material_id, files in added.items():
            for source in files:
                path = folder / f"{dossier.archival_code}-{len(scans) + 1:04d}{source.suffix.lower()}"
                shutil.copyfile(source, path)
                scans.append(path)
                frames = len(pages_of(path, DigitiseOptions().max_image_pixels))
                new_pages.setdefault(material_id, []).extend((path.name, f) for f in range(1, frames + 1))
        order: list[tuple[str, int]] = []
        for material in sorted(dossier.materials, key=lambda m: m.sort_key):
            if material.id in new_pages:
                order += new_pages[material.id]
            elif material.first_page and material.last_page:
                order += old_pages[material.first_page - 1 : material.last_page]
        placed = set(order)
        order += [page for page in old_pages if page not in placed]  # pages no catalogue entry claimed
        # Pages taken out of the file (another person's, digitisation/misfiled.py) stay masters, never in a copy.
        gone = removed_scans(session, dossier.id)
        left_out = tuple((obj.name, frame) for obj in masters for sha, frame in sorted(gone) if obj.sha256 == sha)
        order = [page for page in order if page not in left_out]
        return digitise_dossier(
            session, store, actor, dossier, scans, jobs=jobs, work_root=work_root, page_order=tuple(order),
            left_out=left_out,
        )  # fmt: skip


def removed_scans(session: Session, dossier_id: int) -> set[tuple[str, int]]:
    """(master SHA-256, frame) of every page taken out of the file as another person's."""
    rows = session.execute(
        select(PageCheck.source_sha256, PageCheck.source_frame).where(
            PageCheck.dossier_id == dossier_id, PageCheck.outcome == PageOutcome.removed
        )
    )
    return {(sha, frame) for sha, frame in rows}


@dataclass(frozen=True)
class Fault:
    """A fault of a pipeline version: which pages of its copies show it (by the sidecar's page record)."""

    description: str
    affects: Callable[[dict[str, Any]], bool]


# Use copies that show something other than the scans: `archive rebuild-faulty` finds the copies made by
# these versions with pages affected, and makes them again from the masters.
FAULTY_PIPELINE_VERSIONS = {
    "digitise/1.0": Fault(
        "黑白（CCITT G4）页面显示为负片（黑底白字）", lambda page: page.get("compression") == "CCITT G4"
    ),
}


def faulty_use_copies(session: Session, store: ObjectStore) -> list[tuple[Dossier, DigitalObject, str, list[int]]]:
    """Every dossier whose latest use copy has pages affected by a fault: (dossier, copy, fault, pages)."""
    found = []
    for dossier in session.scalars(select(Dossier).where(Dossier.digitisation == DigitisationState.done)):
        copy = latest_use_copy(session, dossier)
        fault = FAULTY_PIPELINE_VERSIONS.get(copy.pipeline_version or "") if copy else None
        card = latest_sidecar(session, store, dossier) if copy and fault else None
        if copy is None or fault is None or card is None:
            continue
        pages = [p["page"] for p in card["pages"] if fault.affects(p)]
        if pages:
            found.append((dossier, copy, fault.description, pages))
    return found


def latest_use_copy(session: Session, dossier: Dossier) -> DigitalObject | None:
    return session.scalars(
        select(DigitalObject)
        .where(DigitalObject.dossier_id == dossier.id, DigitalObject.role == "use_copy", still_stored())
        .order_by(DigitalObject.version.desc())
    ).first()


def findings_of(obj: DigitalObject) -> list[Finding]:
    return [Finding(**{**f, "severity": Severity(f["severity"])}) for f in obj.qc_results or []]


THUMBNAIL_WIDTH = 150  # pixels: enough to recognise a form's title line and layout beside the catalogue


def page_thumbnails(store: ObjectStore, use_copy: DigitalObject, pages: Sequence[int]) -> dict[int, bytes]:
    """Small JPEGs of some pages (1-based) of a use copy, read from the stored PDF in one pass: the
    proposal of a catalogue is checked against them. JPEG pages decode at reduced size (draft mode)."""
    out: dict[int, bytes] = {}
    with pikepdf.open(io.BytesIO(b"".join(store.open(use_copy.storage_key)))) as pdf:
        for page in sorted({p for p in pages if 1 <= p <= len(pdf.pages)}):
            image = next(page_images(pdf.pages[page - 1])).as_pil_image()
            if getattr(image, "format", None) == "JPEG":
                image.draft("RGB", (THUMBNAIL_WIDTH * 2, THUMBNAIL_WIDTH * 3))
            image = image.convert("L" if image.mode in ("1", "L") else "RGB")
            image.thumbnail((THUMBNAIL_WIDTH, THUMBNAIL_WIDTH * 2), Image.Resampling.LANCZOS)
            buffer = io.BytesIO()
            image.save(buffer, "JPEG", quality=80)
            out[page] = buffer.getvalue()
    return out
