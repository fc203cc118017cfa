"""The corrections layer over a sidecar: which checks belong to which reading, and the page texts with the
corrections written in. Reads the sidecar's pages (digitise/sidecar.py, schema 2) and the stored checks;
knows nothing of HTTP or permissions, so the digitisation service can apply it after a re-run."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from archive_service.verification.models import ReadingCheck, Step
from digitise.facts import CELL_RULES, NAME_PATTERN, PAGE_FACT_KINDS, _id_spans, statements
from digitise.pdf import TextLine

SAME_READING = 0.5  # boxes overlapping this much (intersection over union) are one reading


@dataclass
class Reading:
    """A fact value or an OCR line of the current copy, with every check made on it (version order)."""

    ref: str  # "3-f0" (page 3's first fact) or "3-l12" (its line 12): names it in the current sidecar
    page: int
    target: str  # "line" or a fact key
    machine: str  # what the OCR read
    confidence: float | None
    box: tuple[int, int, int, int]  # page pixels
    source_sha256: str
    source_frame: int
    page_size: tuple[int, int] = (0, 0)  # the page's width and height in page pixels (the boxes' unit)
    excerpt: str = ""
    lines: tuple[int, ...] = ()  # a fact's lines on its page
    suspected: bool = False  # 疑似涂改 on this value (a hint, never a verdict)
    checks: list[ReadingCheck] = field(default_factory=list)

    @property
    def label(self) -> str:
        return PAGE_FACT_KINDS.get(self.target, "文字行")

    @property
    def key(self) -> str:
        """The chain's name: its first check's, or the one a first check will take."""
        if self.checks:
            return self.checks[0].reading
        x0, y0, x1, y1 = self.box
        return f"{self.source_sha256}:{self.source_frame}:{self.target}:{x0},{y0},{x1},{y1}"

    @property
    def version(self) -> int:
        return self.checks[-1].version if self.checks else 0

    @property
    def entry(self) -> ReadingCheck | None:
        """The step that set the value as it stands (acceptance or correction)."""
        return next((c for c in reversed(self.checks) if c.step != Step.reviewed), None)

    @property
    def review(self) -> ReadingCheck | None:
        entry = self.entry
        last = self.checks[-1] if self.checks else None
        return last if entry and last and last.step == Step.reviewed and last.actor_id != entry.actor_id else None

    @property
    def value(self) -> str:
        entry = self.entry
        return entry.after if entry else self.machine

    @property
    def state(self) -> str:
        """machine (机器识别) | proofread (已校对) | reviewed (已复核)."""
        if self.review:
            return "reviewed"
        return "proofread" if self.entry else "machine"

    @property
    def corrected(self) -> bool:
        return self.value != self.machine


STATE_LABELS = {"machine": "机器识别", "proofread": "已校对", "reviewed": "已复核"}


def _overlap(a: Sequence[int], b: Sequence[int]) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    area = lambda r: max(1, (r[2] - r[0]) * (r[3] - r[1]))  # noqa: E731
    return w * h / (area(a) + area(b) - w * h)


def readings_of(card: dict[str, Any], checks: Iterable[ReadingCheck]) -> list[Reading]:
    """Every fact value and every OCR line of the sidecar's pages, each with the checks made on it."""
    chains: dict[str, list[ReadingCheck]] = {}
    for c in sorted(checks, key=lambda c: (c.reading, c.version)):
        chains.setdefault(c.reading, []).append(c)
    out: list[Reading] = []
    for page in card.get("pages", []):
        if page.get("error"):
            continue
        altered = {(a["fact"], tuple(a["box"])) for a in page.get("suspected_alterations", [])}
        common = {
            "page": page["page"], "source_sha256": page["source_sha256"], "source_frame": page["source_frame"],
            "page_size": (page["width"], page["height"]),
        }  # fmt: skip
        for n, f in enumerate(page.get("facts", [])):
            box = tuple(f["box"])
            out.append(
                Reading(
                    f"{page['page']}-f{n}",
                    target=f["fact"],
                    machine=f["value"],
                    confidence=f["confidence"],
                    box=box,
                    excerpt=f["excerpt"],
                    lines=tuple(f["lines"]),
                    suspected=(f["fact"], box) in altered,
                    **common,
                )  # fmt: skip
            )
        for n, line in enumerate(page.get("lines", [])):
            out.append(
                Reading(
                    f"{page['page']}-l{n}",
                    target="line",
                    machine=line["text"],
                    confidence=line["confidence"],
                    box=tuple(line["box"]),
                    **common,
                )  # fmt: skip
            )
    taken: set[str] = set()
    for reading in out:  # each chain to the reading on the same scan whose box it overlaps most
        best, score = None, SAME_READING
        for key, chain in chains.items():
            first = chain[0]
            if key in taken or (first.source_sha256, first.source_frame, first.target) != (
                reading.source_sha256,
                reading.source_frame,
                reading.target,
            ):
                continue
            if (s := _overlap((first.x0, first.y0, first.x1, first.y1), reading.box)) >= score:
                best, score = key, s
        if best:
            reading.checks = chains[best]
            taken.add(best)
    return out


def written(target: str, value: str) -> str:
    """A fact value as the text layer writes it, so that the facts reader reads it back as that value:
    dates in 年月日 (1957-06-13 → 1957年6月13日), others as they are."""
    if target in ("name", "citizen_id", "education", "ethnicity", "native_place", "line"):
        return value
    parts = value.split("-")
    units = "年月日"
    return "".join(f"{int(p)}{units[i]}" if i else f"{p}年" for i, p in enumerate(parts))


def _value_span(texts: list[str], on: Sequence[int], target: str, value: str) -> list[tuple[int, int]] | None:
    """Where on its lines a fact's value is written: (line, character) of each of its characters."""
    origin = [(n, i) for n in on for i, c in enumerate(texts[n] + "\n") if not CELL_RULES.fullmatch(c)]
    compact = "".join((texts[n] + "\n")[i] for n, i in origin)
    spans = [s.span for s in statements(compact) if s.kind == target and s.value == value]
    if target == "name":
        spans = [m.span(1) for m in NAME_PATTERN.finditer(compact) if m[1] == value]
    elif target == "citizen_id":
        spans = [span for found, span in _id_spans(compact) if found == value]
    return origin[spans[0][0] : spans[0][1]] if spans else None


def corrected_lines(page: dict[str, Any], readings: Sequence[Reading]) -> list[str] | None:
    """The page's line texts with its corrections written in, or None when it has none. A corrected line is
    taken as typed; a corrected fact value replaces the characters the value was read from."""
    texts = [line["text"] for line in page.get("lines", [])]
    mine = [r for r in readings if r.page == page["page"] and r.corrected]
    if not mine:
        return None
    for r in sorted(mine, key=lambda r: r.target != "line"):  # lines first: a fact is then found in them
        if r.target == "line":
            texts[int(r.ref.split("-l")[1])] = r.value
            continue
        chars = _value_span(texts, r.lines, r.target, r.machine)
        if not chars:
            continue  # its line was corrected as a whole: that text stands
        first_line = chars[0][0]
        for n in sorted({n for n, _ in chars}, reverse=True):
            at = sorted(i for m, i in chars if m == n)
            new = written(r.target, r.value) if n == first_line else ""
            texts[n] = texts[n][: at[0]] + new + texts[n][at[-1] + 1 :]
    return texts


def page_texts(card: dict[str, Any], checks: Iterable[ReadingCheck]) -> dict[int, str]:
    """Each readable page's text as the OCR read it, every correction written in: what the page texts hold."""
    found = readings_of(card, checks)
    out = {}
    for page in card.get("pages", []):
        if not page.get("error"):
            lines = corrected_lines(page, found)
            out[page["page"]] = "\n".join(lines if lines is not None else [ln["text"] for ln in page.get("lines", [])])
    return out


def page_widths(card: dict[str, Any]) -> dict[int, int]:
    """Each page's width in page pixels, the unit of its boxes (its image in the use copy may have fewer)."""
    return {page["page"]: page["width"] for page in card.get("pages", []) if not page.get("error")}


def corrected_text_layers(card: dict[str, Any], checks: Iterable[ReadingCheck]) -> dict[int, list[TextLine]]:
    """The text layer of each page that has corrections, line by line at the boxes the OCR found."""
    found = readings_of(card, checks)
    out = {}
    for page in card.get("pages", []):
        if not page.get("error") and (texts := corrected_lines(page, found)) is not None:
            boxes = [line["box"] for line in page["lines"]]
            out[page["page"]] = [
                TextLine(t, x0, y0, x1 - x0, y1 - y0) for t, (x0, y0, x1, y1) in zip(texts, boxes, strict=True)
            ]
    return out
