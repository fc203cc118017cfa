"""The sidecar: the process metadata DA/T 31 asks to keep with a digitised file — per run (software,
operator, times, engine, languages) and per page (source, resolution, geometry, corrections, OCR) —
as JSON beside the PDF, and what the OCR read on each page, where, and how sure it was, for the
person who checks the facts against the image (校对与复核). Its schema and the pipeline's version are
named here; this docstring is the schema's one description.

Schema `archive-custody/digitise-sidecar/2` (JSON, UTF-8; pages 1-based; every box is
`[x0, y0, x1, y1]` in **page pixels**: the pixels of the page at its `dpi` — the master's, after turning,
straightening and cropping — whose size is the page's `width` × `height`. The page's image in the use copy
is `image_width` × `image_height`: the same for a bilevel page, fewer pixels for a colour or grey page scanned
finer than 200 dpi (pipeline 1.8 on; absent before, when it was the page's size) — a reader of the use copy's
image scales a box by image width / `width` first. Confidences are 0–100):

    {"schema": "archive-custody/digitise-sidecar/2",
     "archival_code": "J102-RS-000001" | null,
     "status": "written" | "failed",
     "run": {"software": {...versions...}, "operator", "started", "finished", "ocr_engine", "languages",
             "jobs", "pages_resumed",
             "models": [{"file": "PP-OCRv6_rec_small.onnx", "sha256": "…"}]},   # the OCR model files read with
     "sources": [{"file", "sha256", "media_type", "pages", "bytes"}],
     "pages": [{
        "page": 3, "source": "scan-003.tif", "source_frame": 1, "source_sha256": "…",
        "dpi", "dpi_assumed", "source_mode", "source_bit_depth", "source_width", "source_height",
        "width": 2480, "height": 3508,             # the page, in page pixels
        "image_width": 1653, "image_height": 2339, # its image in the use copy (200 dpi unless bilevel)
        "colour_mode": "colour"|"grey"|"bilevel", "bit_depth", "compression",
        "skew_before", "skew_after", "rotation", "cropped", "blank",
        "ocr_confidence": 91.3 | null, "ocr_chars": 412,
        "lines": [                                  # every OCR line, in reading order (the text layer's)
          {"text": "出生日期：1957年6月13日", "box": [300, 610, 1220, 668], "confidence": 93.1}],
        "facts": [                                  # every fact value the page states, in PAGE_FACT_KINDS order
          {"fact": "birth_date",                    # key of digitise.facts.PAGE_FACT_KINDS: name, birth_date,
                                                    # work_start, party_joined, education, graduated,
                                                    # ethnicity, native_place, citizen_id
           "label": "出生日期",
           "value": "1957-06-13",                   # ISO date (partial as written: 1957-06), else the words;
                                                    # a citizen ID in full
           "excerpt": "出生日期：1957年6月13日",    # the label and value as read (cell rules removed)
           "box": [560, 610, 1220, 668],            # the value's characters, not its label
           "lines": [7],                            # indexes into this page's "lines"
           "confidence": 88.0,                      # the OCR's, over the value's characters
           "valid": true}],                         # citizen_id only: whether the check digit holds
        "suspected_alterations": [                  # 疑似涂改: a hint for a person, never a verdict
          {"fact": "birth_date", "value": "1957-06-13", "box": [560, 610, 1220, 668]}],
        "error": {"code", "message"}}],             # only on a page that could not be read
     "materials": [...], "findings": [{"code", "severity", "message", "page", …}],
     "proposed_catalogue": [{"class", "title", "first_page", "last_page", "date", "pages"}],
     "output": {"file", "sha256", "bytes", "pages", "format": "PDF/A-2b"}}   # when written

A page's `facts` and `lines` hold what the page says, citizen IDs included, as the use copy's text
layer does: the sidecar is kept and shown under the same rights as the use copy (findings, which a
report prints, mask IDs). Version 1 sidecars (before 2) have no `lines`, `suspected_alterations`, nor
boxes, and their `facts` was a summary of lists (`birth_dates`, `citizen_ids` masked …).
"""

import hashlib
import platform
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

import pikepdf
import PIL

from digitise import facts as page_facts
from digitise import ocr
from digitise.catalogue import MaterialPages
from digitise.findings import Finding
from digitise.options import DigitiseOptions
from digitise.page_record import PageRecord

# 1.1: G4 pages no longer negative; 1.2: faint pages are not blank; 1.3: lines keep their confidence;
# 1.4: typed page records, coloured ink kept in colour, faded ink never bilevel, signs of alteration;
# 1.5: dates and IDs read through OCR's look-alikes after their labels, faded black entries on print grey;
# 1.6: a citizen ID failing its check character or length read again from its cell's crop by both PP-OCR models.
# 1.7: a failed ID's figures written over the next label read with the print lifted by colour;
# 1.8: colour and grey pages of the use copy at 200 dpi (Lanczos) when scanned finer; boxes stay in page pixels.
# 1.9: a citizen ID still failing after its re-read solved from the recognisers' per-frame scores (check character
# and the page's birth date, by a wide margin only); a look-alike fix against the page's birth date refused.
# Resumed runs never mix versions.
PIPELINE_VERSION = "digitise/1.10"
SIDECAR_SCHEMA = "archive-custody/digitise-sidecar/2"


def software(engine: str, model_folder: Path | None = None) -> dict[str, str]:
    return {
        "pipeline": PIPELINE_VERSION,
        "ocr_engine": engine,
        engine: ocr.engine(engine, model_folder).version(),
        "pikepdf": pikepdf.__version__,
        "qpdf": pikepdf.__libqpdf_version__,
        "pillow": PIL.__version__,
        "python": platform.python_version(),
        "platform": f"{platform.system()} {platform.machine()}",
    }


def _fact(found: page_facts.LocatedFact) -> dict[str, Any]:
    out = {
        "fact": found.fact,
        "label": page_facts.PAGE_FACT_KINDS[found.fact],
        "value": found.value,
        "excerpt": found.excerpt,
        "box": list(found.box),
        "lines": list(found.lines),
        "confidence": found.confidence,
    }
    if found.valid is not None:
        out["valid"] = found.valid
    return out


def sidecar_of(
    output: Path | None,
    records: list[PageRecord],
    materials: list[MaterialPages],
    findings: list[Finding],
    sources: list[dict[str, Any]],
    options: DigitiseOptions,
    started: datetime,
    finished: datetime,
    resumed: int,
) -> dict[str, Any]:
    """The process metadata DA/T 31 asks to keep (per page and per run), as JSON."""
    keep = (
        "page",
        "source",
        "source_frame",
        "source_sha256",
        "dpi",
        "dpi_assumed",
        "source_mode",
        "source_bit_depth",
        "source_width",
        "source_height",
        "width",
        "height",
        "image_width",
        "image_height",
        "colour_mode",
        "bit_depth",
        "compression",
        "skew_before",
        "skew_after",
        "rotation",
        "cropped",
        "blank",
        "ocr_confidence",
        "ocr_chars",
        "error",
    )
    pages = []
    for r in records:
        if r.error is not None:
            pages.append({"page": r.page, "source": r.source, "source_frame": r.source_frame,
                          "source_sha256": r.source_sha256, "error": r.error})  # fmt: skip
            continue
        page = {k: getattr(r, k) for k in keep if k != "error"}
        page["lines"] = [{"text": ln.text, "box": ln.box, "confidence": ln.confidence} for ln in r.lines]
        page["facts"] = [_fact(f) for f in r.fact_values]
        page["suspected_alterations"] = list(r.suspected_alterations)
        pages.append(page)
    out: dict[str, Any] = {
        "schema": SIDECAR_SCHEMA,
        "archival_code": options.catalogue.archival_code if options.catalogue else None,
        "status": "written" if output else "failed",
        "run": {
            "software": software(options.engine, options.ocr_models),
            "operator": options.operator,
            "started": started.isoformat(timespec="seconds"),
            "finished": finished.isoformat(timespec="seconds"),
            "ocr_engine": ocr.label(options.engine, options.ocr_models),
            "models": [asdict(f) for f in ocr.engine(options.engine, options.ocr_models).model_files()],
            "languages": options.languages,
            "jobs": options.jobs,
            "pages_resumed": resumed,
        },
        "sources": sources,
        "pages": pages,
        "materials": [m.__dict__ for m in materials],
        "findings": [f.as_dict() for f in findings],
    }
    if options.left_out:  # pages of the inputs taken out of this file: kept as masters, not in the copy
        out["left_out"] = [{"source": name, "source_frame": frame} for name, frame in options.left_out]
    if output:
        data = output.read_bytes()
        out["output"] = {
            "file": output.name,
            "sha256": hashlib.sha256(data).hexdigest(),
            "bytes": len(data),
            "pages": len(records),
            "format": "PDF/A-2b",
        }
    return out
