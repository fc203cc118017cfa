"""The pipeline: a scanner's files for one dossier in, a checked PDF/A use copy and its sidecar out.

Steps, in order (each a small function below, as in OCRmyPDF):

  open sources → for each page, in its own worker process: load → straighten → crop → measure
  → OCR (turning the page when the engine finds it is not upright) → encode → keep the result in the
  work directory → QC findings (qc.py) → link pages to the catalogue → facts vs. the retiree → PDF/A
  → sidecar (sidecar.py)

Finished pages wait in the work directory (`OUT.pdf.work/`), one JSON record and one image per
page, each written atomically: a run killed at any point loses at most the pages in progress,
and running the same command again picks up the rest. The work directory is removed once the
PDF is in place; it is kept when QC stops the dossier, so a corrected catalogue does not redo OCR.
"""

import hashlib
import json
import os
import shutil
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import PIL

from digitise import alterations, imaging, ocr, proposal
from digitise import facts as page_facts
from digitise.catalogue import MaterialPages, link_pages
from digitise.findings import Finding, Severity, errors
from digitise.id_reread import reread_ids
from digitise.options import DigitiseOptions
from digitise.page_record import PageLine, PageRecord
from digitise.pdf import Bookmark, PdfInfo, PdfPage, TextLine, write_pdf
from digitise.qc import BLANK_INK_FRACTION, page_findings, too_many_pages
from digitise.sidecar import PIPELINE_VERSION, sidecar_of
from digitise.sources import SourceError, SourcePage, load, pages_of

A4_WIDTH_INCHES = 210 / 25.4
MIN_ORIENTATION_CONFIDENCE = 1.0
TURN_TOLERANCE = 5.0  # confidence points a turned page may read below the page as scanned and still win
COLOUR_FRACTION = 0.0005  # 0.05 % saturated pixels: a seal, a letterhead, a photo
COLOURED_INK = 0.1  # a tenth of the marks in a colour of their own: entries in blue-black or brown ink
FADED_INK = 0.3  # strokes clearly lighter than the print (clean print ≤ 0.18, faded hands ≥ 0.45 on the bench)

# How far a run is: called with (pages just finished — those resumed from the work directory at first, then
# one at a time —, pages in the run).
PagesDone = Callable[[int, int], None]


@dataclass(frozen=True)
class PageTask:
    index: int  # 0-based, scan order
    source: SourcePage
    key: str  # what the page's result depends on; a resumed run reuses a record with the same key
    work_dir: Path
    engine: str
    model_folder: Path | None
    languages: str
    jpeg_quality: int
    crop_margin_mm: float
    max_image_pixels: int


@dataclass
class RunResult:
    output: Path
    written: bool
    findings: list[Finding]
    pages: list[PageRecord]
    materials: list[MaterialPages]
    sidecar: dict[str, Any]
    page_texts: list[str] = field(default_factory=list)
    pages_resumed: int = 0

    @property
    def page_confidence(self) -> list[float | None]:
        return [p.ocr_confidence for p in self.pages]


def digitise(
    inputs: Sequence[Path],
    output: Path,
    options: DigitiseOptions,
    *,
    sidecar: Path | None = None,
    progress: PagesDone | None = None,
) -> RunResult:
    started = datetime.now(UTC)
    ocr.engine(options.engine, options.ocr_models).model_files()  # fail early and clearly: engine missing, a bad sum
    findings: list[Finding] = []
    work_dir = options.work_dir or output.with_name(output.name + ".work")
    work_dir.mkdir(parents=True, exist_ok=True)

    sources, source_list = open_sources(inputs, options, findings)
    if options.page_order is not None:
        sources = order_pages(sources, options.page_order, findings, options.left_out)
    tasks = [
        PageTask(
            i,
            page,
            _page_key(page, options),
            work_dir,
            options.engine,
            options.ocr_models,
            options.languages,
            options.jpeg_quality,
            options.crop_margin_mm,
            options.max_image_pixels,
        )
        for i, page in enumerate(sources)
    ]
    records, resumed = run_pages(tasks, options.jobs, progress)

    findings += page_findings(records, options)
    materials: list[MaterialPages] = []
    if options.catalogue is not None and not options.catalogue.entries:
        findings.append(
            Finding(
                "catalogue.empty",
                Severity.warning,
                "档案尚无卷内目录：页面未与材料挂接，按材料类别批准的查阅申请看不到任何页面；"
                "请著录目录（可采用据页面识别的目录建议）",
            )
        )
    if options.catalogue:
        materials, link_findings = link_pages(options.catalogue, [r.blank for r in records])
        findings += link_findings
        if options.catalogue.retiree:
            for r in records:
                if r.facts is not None:
                    findings += page_facts.compare(r.page, r.facts, options.catalogue.retiree)
    if not tasks and not errors(findings):
        findings.append(Finding("input.no_pages", Severity.error, "没有可处理的页面"))

    written = not errors(findings)
    if written:
        write_pdf(
            [_pdf_page(r, work_dir) for r in records], bookmarks(materials), _pdf_info(options, materials), output
        )
    finished = datetime.now(UTC)
    card = sidecar_of(
        output if written else None, records, materials, findings, source_list, options, started, finished, resumed
    )
    # Proposed from the pages whether or not the file has a catalogue: the archivist confirms it.
    card["proposed_catalogue"] = [m.as_dict() for m in proposal.propose(records)]
    if sidecar:
        _write_atomically(sidecar, json.dumps(card, ensure_ascii=False, indent=2).encode("utf-8"))
    if written:
        shutil.rmtree(work_dir, ignore_errors=True)
    texts = [r.text for r in records]
    return RunResult(output, written, findings, records, materials, card, texts, resumed)


def open_sources(
    inputs: Sequence[Path], options: DigitiseOptions, findings: list[Finding]
) -> tuple[list[SourcePage], list[dict[str, Any]]]:
    """Every page of every readable file, in the order given; unreadable files become findings."""
    pages: list[SourcePage] = []
    listing: list[dict[str, Any]] = []
    for path in inputs:
        try:
            found = pages_of(path, options.max_image_pixels)
        except SourceError as exc:
            findings.append(Finding(exc.code, Severity.error, exc.message, source=path.name))
            continue
        pages += found
        listing.append(
            {
                "file": path.name,
                "sha256": found[0].file_sha256,
                "media_type": found[0].media_type,
                "pages": len(found),
                "bytes": path.stat().st_size,
            }
        )
    if len(pages) > options.max_pages:
        findings.append(too_many_pages(len(pages), options.max_pages))
        return [], listing  # nothing is worked on
    return pages, listing


def order_pages(
    sources: list[SourcePage],
    order: Sequence[tuple[str, int]],
    findings: list[Finding],
    left_out: Sequence[tuple[str, int]] = (),
) -> list[SourcePage]:
    """The pages in the given order; an order that misses (other than the pages left out) or repeats a page is
    a hard failure."""
    gone = set(left_out)
    by_key = {(page.path.name, page.frame + 1): page for page in sources}
    ordered = [by_key[key] for key in order if key in by_key and key not in gone]
    unknown = [f"{name}#{frame}" for name, frame in [*order, *gone] if (name, frame) not in by_key]
    kept = sum(1 for key in by_key if key not in gone)
    if unknown or len(set(order)) != len(order) or len(ordered) != len(order) or len(ordered) != kept:
        findings.append(
            Finding(
                "page_order.mismatch",
                Severity.error,
                f"页面顺序与扫描文件不符：给出 {len(order)} 页、文件共 {len(sources)} 页"
                + (f"，不存在的页 {'、'.join(unknown[:5])}" if unknown else ""),
            )
        )
        return sources
    return ordered


def _page_key(page: SourcePage, options: DigitiseOptions) -> str:
    text = f"{PIPELINE_VERSION}|{page.file_sha256}|{page.frame}|{options.fingerprint()}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def run_pages(tasks: list[PageTask], jobs: int, progress: PagesDone | None) -> tuple[list[PageRecord], int]:
    """Process every page not already finished by an earlier run, one page per worker process."""
    records: dict[int, PageRecord] = {}
    for task in tasks:
        done = _finished_record(task)
        if done is not None:
            records[task.index] = done
    resumed = len(records)
    pending = [t for t in tasks if t.index not in records]
    if progress:
        progress(resumed, len(tasks))
    if pending:
        if jobs <= 1 or len(pending) == 1:
            for task in pending:
                records[task.index] = process_page(task)
                if progress:
                    progress(1, len(tasks))
        else:
            with ProcessPoolExecutor(max_workers=min(jobs, len(pending))) as pool:
                futures = [pool.submit(process_page, t) for t in pending]
                try:
                    for future in as_completed(futures):
                        record = future.result()
                        records[record.index] = record
                        if progress:
                            progress(1, len(tasks))
                except BaseException:  # stopped (a cancelled job's progress raises): not the pages still queued
                    pool.shutdown(wait=False, cancel_futures=True)
                    raise
    return [records[t.index] for t in tasks], resumed


def _record_path(task: PageTask) -> Path:
    return task.work_dir / f"{task.index + 1:04d}.json"


def _finished_record(task: PageTask) -> PageRecord | None:
    path = _record_path(task)
    try:
        kept = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(kept, dict) or kept.get("key") != task.key:
        return None
    record = PageRecord.from_json(kept)
    if record.image_file and not (task.work_dir / record.image_file).exists():
        return None
    return record


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


# --- one page, in a worker process -------------------------------------------------------------


def process_page(task: PageTask) -> PageRecord:
    record = PageRecord(
        task.index, task.index + 1, task.key, task.source.path.name, task.source.frame + 1, task.source.file_sha256
    )
    try:
        record = replace(record, **_process(task))
    except SourceError as exc:
        record.error = {"code": exc.code, "message": exc.message}
    _write_atomically(_record_path(task), json.dumps(record.to_json(), ensure_ascii=False).encode("utf-8"))
    return record


def _process(task: PageTask) -> dict[str, Any]:
    """The page record's fields for one page: load, straighten, crop, measure, OCR, encode."""
    scan, declared_dpi = load(task.source, task.max_image_pixels)
    dpi = declared_dpi or round(scan.width / A4_WIDTH_INCHES)  # no resolution in the file: assume A4
    found: dict[str, Any] = {
        "dpi": declared_dpi or None,
        "dpi_assumed": None if declared_dpi else dpi,
        "source_mode": _mode_name(scan.mode),
        "source_bit_depth": _bit_depth(scan.mode),
        "source_width": scan.width,
        "source_height": scan.height,
    }
    working = imaging.working_copy(scan)
    page, measured = _prepare(working, dpi, task.crop_margin_mm)
    rotation, orientation_confidence = 0, None
    lines: list[ocr.OcrLine] = []
    engine = ocr.engine(task.engine, task.model_folder)
    if not measured["blank"]:
        look = engine.look(imaging.ocr_copy(page), task.languages)
        if look.turn:
            orientation_confidence = look.turn_confidence
        if look.turn and look.turn_confidence >= MIN_ORIENTATION_CONFIDENCE:
            turned, turned_measured = _prepare(imaging.turn(working, look.turn), dpi, task.crop_margin_mm)
            turned_lines = engine.read(imaging.ocr_copy(turned), task.languages).lines
            # An engine that reads each line the right way up (PP-OCR) reads an upside-down page about as
            # confidently as the turned one: the turn it found stands unless the turned page reads worse. The
            # page as fed is read only when that can be so (no reading is surer than MAX_CONFIDENCE).
            turned_confidence = ocr.confidence(turned_lines)
            if (
                turned_confidence >= ocr.MAX_CONFIDENCE - TURN_TOLERANCE
                or turned_confidence >= ocr.confidence(look.read().lines) - TURN_TOLERANCE
            ):
                page, measured, lines, rotation = turned, turned_measured, turned_lines, look.turn
        if not rotation:
            lines = look.read().lines
    title = None
    if not measured["blank"]:
        lines, title = _title(engine, page, lines, task.languages)
        lines = reread_ids(page, lines, task.model_folder)
    colour = _use_copy_colour(page, measured)
    if colour == "bilevel":
        image = page
        data, encoding, compression = imaging.encode_g4(page), "g4", "CCITT G4"
    else:
        image = imaging.use_copy_image(page if colour == "colour" else page.convert("L"), dpi)
        data, encoding, compression = imaging.encode_jpeg(image, task.jpeg_quality), "jpeg", "JPEG"
    image_file = f"{task.index + 1:04d}.{'g4' if encoding == 'g4' else 'jpg'}"
    _write_atomically(task.work_dir / image_file, data)
    text = "\n".join(line.text for line in lines)
    located = page_facts.locate(lines)
    chars = sum(len(w.text) for line in lines for w in line.words)
    found.update(measured)
    found.update(
        {
            "dpi_used": dpi,
            "rotation": rotation,
            "orientation_confidence": orientation_confidence,
            "width": page.width,
            "height": page.height,
            "image_width": image.width,
            "image_height": image.height,
            "colour_mode": colour,
            "bit_depth": 1 if colour == "bilevel" else 8,
            "compression": compression,
            "encoding": encoding,
            "image_file": image_file,
            "image_bytes": len(data),
            "ocr_confidence": round(ocr.confidence(lines), 1) if lines else None,
            "ocr_chars": chars,
            "lines": [_line_record(line) for line in lines],
            "facts": page_facts.extract(page_facts.reading_text(lines)) if text else None,
            "fact_values": located,
            "suspected_alterations": alterations.suspected(page, located),
            "title": title,
        }
    )
    return found


def _title(
    engine: ocr.OcrEngine, page: PIL.Image.Image, lines: list[ocr.OcrLine], languages: str
) -> tuple[list[ocr.OcrLine], str | None]:
    """The form's printed name (for the catalogue proposal). An engine's page layout may drop the one
    line in large type (Tesseract often does), so when the page's lines hold no title its zone is read
    again as sparse text at half size; a title found so joins the page's lines (the text layer and
    search then have it too)."""
    as_records = [_line_record(ln) for ln in lines]
    found = proposal.title_line(as_records, page.width, page.height)
    if found:
        return lines, proposal.title_text(found, page.height)
    ordinary = sorted(ln.height for ln in lines)[len(lines) // 2] if lines else None
    zone = imaging.ocr_copy(page.crop((0, 0, page.width, round(page.height * proposal.TITLE_ZONE))))
    small = zone.resize((max(1, zone.width // 2), max(1, zone.height // 2)))
    # Titles are Chinese; with English beside it Tesseract reads a large title as Latin letters.
    chinese = "+".join(lang for lang in languages.split("+") if lang.startswith("chi")) or languages
    zone_lines = [ln.scaled(2) for ln in engine.read(small, chinese, sparse=True).lines]
    zone_records = [_line_record(ln) for ln in zone_lines]
    found = proposal.title_line(zone_records, page.width, page.height, ordinary)
    if not found:
        return lines, None
    line = zone_lines[zone_records.index(found)]
    return sorted([line, *lines], key=lambda ln: ln.top), proposal.title_text(found, page.height)


def _line_record(line: ocr.OcrLine) -> PageLine:
    """An OCR line as the page record (and the text layer, and the proposal) keeps it."""
    return PageLine(line.text, line.left, line.top, line.width, line.height, round(line.confidence, 1))


def _prepare(image: PIL.Image.Image, dpi: float, margin_mm: float) -> tuple[PIL.Image.Image, dict[str, Any]]:
    """Straighten, crop to the sheet with a margin, and measure what QC needs."""
    small, _ = imaging.measuring_copy(image, dpi)
    box = imaging.page_box(small)
    inner = small if box is None else small[box[1] : box[3], box[0] : box[2]]
    skew_before, _ = imaging.estimate_skew(inner)
    bed = int(np.median(small[:4, :4])) if box is not None else 255
    straight = imaging.straighten(image, skew_before, bed)
    small, scale = imaging.measuring_copy(straight, dpi)
    box = imaging.page_box(small)
    if box is not None:
        straight = imaging.crop_to_sheet(straight, box, scale, round(margin_mm / 25.4 * dpi))
        small, scale = imaging.measuring_copy(straight, dpi)
    skew_after, _ = imaging.estimate_skew(small)
    tone = imaging.tone(straight, small)
    return straight, {
        "skew_before": skew_before,
        "skew_after": skew_after,
        "cropped": box is not None,
        "blank": tone.mark_fraction < BLANK_INK_FRACTION,
        "ink_fraction": round(tone.ink_fraction, 5),
        "mark_fraction": round(tone.mark_fraction, 5),
        "midtone_fraction": round(tone.midtone_fraction, 5),
        "colour_fraction": round(tone.colour_fraction, 5),
        "coloured_ink": round(tone.coloured_ink, 4),
        "faded_ink": round(tone.faded_ink, 4),
        "ink_level": round(tone.ink_level, 1),
        "paper_level": round(tone.paper, 1),
    }


def _use_copy_colour(page: PIL.Image.Image, measured: dict[str, Any]) -> str:
    """DA/T 31 9.3: colour where there is colour (seals, letterheads, photos, entries in coloured ink — the
    ink is also how an examiner sees a date written over in another pen); bilevel only for clean black print:
    entries in faded black ink on a printed form stay grey, or bilevel would print them as dark as the form."""
    if page.mode == "RGB" and (
        measured["colour_fraction"] >= COLOUR_FRACTION or measured["coloured_ink"] >= COLOURED_INK
    ):
        return "colour"
    if measured["blank"]:
        return "bilevel"
    clean_black = measured["ink_level"] < measured["paper_level"] * 0.35
    few_midtones = measured["midtone_fraction"] < 4 * measured["ink_fraction"]  # photos and pencil raise it
    one_ink = measured["faded_ink"] < FADED_INK
    return "bilevel" if clean_black and few_midtones and one_ink else "grey"


def _mode_name(mode: str) -> str:
    return {"1": "bilevel", "L": "grey", "LA": "grey", "I;16": "grey", "I": "grey", "P": "colour"}.get(mode, "colour")


def _bit_depth(mode: str) -> int:
    return {"1": 1, "I;16": 16, "I;16B": 16, "I;16L": 16, "I": 32, "F": 32}.get(mode, 8)


# --- output ------------------------------------------------------------------------------------


def bookmarks(materials: list[MaterialPages]) -> list[Bookmark]:
    return [Bookmark(m.class_name, f"{m.sequence} {m.title}", m.first_page) for m in materials]


def _pdf_page(record: PageRecord, work_dir: Path) -> PdfPage:
    return PdfPage(
        image=(work_dir / record.image_file).read_bytes(),
        encoding=record.encoding,
        colour=record.colour_mode,
        width=record.width,
        height=record.height,
        image_width=record.image_width,
        image_height=record.image_height,
        dpi=record.dpi_used,
        lines=[TextLine(ln.text, ln.left, ln.top, ln.width, ln.height) for ln in record.lines],
    )


def _pdf_info(options: DigitiseOptions, materials: list[MaterialPages]) -> PdfInfo:
    code = options.catalogue.archival_code if options.catalogue else ""
    return PdfInfo(
        archival_code=code,
        title=f"人事档案 {code}".strip(),
        material_titles=[f"{m.sequence} {m.title}" for m in materials],
        creator_tool=f"archive-custody {PIPELINE_VERSION}; {ocr.label(options.engine, options.ocr_models)}",
        created=datetime.now(UTC).astimezone(ZoneInfo(options.time_zone) if options.time_zone else None),
    )
