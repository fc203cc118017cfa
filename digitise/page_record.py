"""The page record: what the pipeline found out about one scanned page, from its source to its OCR.

A page worker makes one (`pipeline.process_page`), keeps it in the work directory as JSON so that a
resumed run need not redo the page, and the rest of the run reads it: QC (`qc.py`), the catalogue
proposal (`proposal.py`), the facts check, the PDF writer and the sidecar (`sidecar.py`, which keeps the
fields DA/T 31 asks for). A page that could not be read carries only its source and `error`.
"""

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from digitise.facts import LocatedFact, PageFacts


@dataclass(frozen=True)
class PageLine:
    """One OCR line as the record, the text layer and the proposal keep it (page pixels)."""

    text: str
    left: int
    top: int
    width: int
    height: int
    confidence: float | None = None  # 0–100

    @property
    def box(self) -> list[int]:
        return [self.left, self.top, self.left + self.width, self.top + self.height]


@dataclass
class PageRecord:
    index: int  # 0-based, scan order
    page: int  # 1-based
    key: str  # what the result depends on; a resumed run reuses a record with the same key
    source: str  # the input file's name
    source_frame: int  # 1-based frame in that file
    source_sha256: str
    error: dict[str, str] | None = None  # {"code", "message"}: the page could not be read
    # As scanned
    dpi: float | None = None  # as the file records it
    dpi_assumed: float | None = None  # none recorded: A4 assumed
    source_mode: str = ""  # bilevel | grey | colour
    source_bit_depth: int = 8
    source_width: int = 0
    source_height: int = 0
    # Measured and corrected (imaging.py)
    skew_before: float = 0.0
    skew_after: float = 0.0
    cropped: bool = False
    blank: bool = False
    ink_fraction: float = 0.0
    mark_fraction: float = 0.0
    midtone_fraction: float = 0.0
    colour_fraction: float = 0.0
    coloured_ink: float = 0.0
    faded_ink: float = 0.0
    ink_level: float = 0.0
    paper_level: float = 0.0
    dpi_used: float = 0.0
    rotation: int = 0  # degrees clockwise the page was turned
    orientation_confidence: float | None = None
    # The page, in page pixels (the master's, after turning, straightening and cropping): OCR boxes use them
    width: int = 0
    height: int = 0
    # The use copy's page image: the page's size, or less for a colour or grey page at 200 dpi
    image_width: int = 0
    image_height: int = 0
    colour_mode: str = ""  # colour | grey | bilevel
    bit_depth: int = 8
    compression: str = ""  # JPEG | CCITT G4
    encoding: str = ""  # jpeg | g4
    image_file: str = ""  # in the work directory
    image_bytes: int = 0
    # What OCR read
    ocr_confidence: float | None = None
    ocr_chars: int = 0
    lines: list[PageLine] = field(default_factory=list)
    facts: PageFacts | None = None  # None on a page without text
    fact_values: list[LocatedFact] = field(default_factory=list)
    suspected_alterations: list[dict[str, Any]] = field(default_factory=list)
    title: str | None = None  # the form's printed name, as the page worker found it

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "PageRecord":
        """A record kept by this pipeline version (the key names the version: others are never read)."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["lines"] = [PageLine(**line) for line in values.get("lines", [])]
        values["facts"] = PageFacts(**values["facts"]) if values.get("facts") else None
        values["fact_values"] = [
            LocatedFact(**{**f, "lines": tuple(f["lines"]), "box": tuple(f["box"])})
            for f in values.get("fact_values", [])
        ]
        return cls(**values)
