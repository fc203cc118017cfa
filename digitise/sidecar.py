"""The sidecar: the process metadata DA/T 31 asks to keep with a digitised file — per run (software,
operator, times, engine, languages) and per page (source, resolution, geometry, corrections, OCR) —
as JSON beside the PDF. Its schema and the pipeline's version are named here."""

import hashlib
import platform
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

# 1.1: G4 pages no longer negative; 1.2: faint pages are not blank. Resumed runs never mix versions.
PIPELINE_VERSION = "digitise/1.2"
SIDECAR_SCHEMA = "archive-custody/digitise-sidecar/1"


def software(engine: str) -> dict[str, str]:
    return {
        "pipeline": PIPELINE_VERSION,
        "ocr_engine": engine,
        engine: ocr.engine(engine).version(),
        "pikepdf": pikepdf.__version__,
        "qpdf": pikepdf.__libqpdf_version__,
        "pillow": PIL.__version__,
        "python": platform.python_version(),
        "platform": f"{platform.system()} {platform.machine()}",
    }


def sidecar_of(
    output: Path | None,
    records: list[dict[str, Any]],
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
        page = {k: r[k] for k in keep if k in r}
        if "facts" in r:
            page["facts"] = page_facts.PageFacts(**r["facts"]).as_dict()
        pages.append(page)
    out: dict[str, Any] = {
        "schema": SIDECAR_SCHEMA,
        "archival_code": options.catalogue.archival_code if options.catalogue else None,
        "status": "written" if output else "failed",
        "run": {
            "software": software(options.engine),
            "operator": options.operator,
            "started": started.isoformat(timespec="seconds"),
            "finished": finished.isoformat(timespec="seconds"),
            "ocr_engine": ocr.label(options.engine),
            "languages": options.languages,
            "jobs": options.jobs,
            "pages_resumed": resumed,
        },
        "sources": sources,
        "pages": pages,
        "materials": [m.__dict__ for m in materials],
        "findings": [f.as_dict() for f in findings],
    }
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
