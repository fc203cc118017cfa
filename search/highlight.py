"""Which particulars and pages of a found dossier matched, with highlighted snippets.

Worked out here from the document and the analysed query, the same way for every adapter, so
Elasticsearch and the embedded index show the same pages and snippets for the same hit.
"""

from collections.abc import Iterable
from html import escape

from search.analysis import Token, find_phrase, fold_width, is_cjk, tokens
from search.fields import particular_dates, particulars
from search.port import DossierDocument, Hit, PageHit

CONTEXT = 40  # characters shown either side of the first match on a page
PAGES_SHOWN = 5


def _matched_fields(doc: DossierDocument, restricted: bool) -> dict[str, str]:
    values = particulars(doc)
    if not restricted:
        values["titles"] = "\n".join(m.title for m in doc.materials)
    return values


def _surface(phrase: list[str]) -> str | None:
    """The characters a phrase of overlapping CJK bigrams stands for (退休 休审 审批 → 退休审批).

    Any occurrence of them in text is an occurrence of the phrase, whatever surrounds it, so such
    phrases are found with `str.find` instead of analysing the page.
    """
    if all(len(t) == 2 and is_cjk(t) for t in phrase) and all(
        a[1] == b[0] for a, b in zip(phrase, phrase[1:], strict=False)
    ):
        return phrase[0][0] + "".join(t[1] for t in phrase)
    return None


Compiled = list[tuple[list[str], str | None]]


def _find(text: str, folded: str, phrases: Compiled) -> list[tuple[int, int]]:
    """Where the phrases occur in `text` (offsets), by `str.find` where that is exact, else by analysis."""
    spans: list[tuple[int, int]] = []
    analysed: list[Token] | None = None
    for phrase, surface in phrases:
        if surface is not None:
            at = folded.find(surface)
            while at >= 0:
                spans.append((at, at + len(surface)))
                at = folded.find(surface, at + 1)
        elif all(t in folded for t in phrase):
            analysed = list(tokens(text)) if analysed is None else analysed
            spans += find_phrase(analysed, phrase)
    return sorted(spans)


def snippet(text: str, spans: list[tuple[int, int]]) -> str:
    start = max(0, spans[0][0] - CONTEXT)
    end = min(len(text), spans[0][1] + CONTEXT)
    out, at = [], start
    for s, e in spans:
        if s < at or e > end:
            continue
        out.append(escape(text[at:s]))
        out.append(f"<mark>{escape(text[s:e])}</mark>")
        at = e
    out.append(escape(text[at:end]))
    body = "".join(out).replace("\n", " ")
    return ("…" if start else "") + body + ("…" if end < len(text) else "")


def _within(written: str, asked: tuple[str, ...]) -> bool:
    """A written date is one asked for when it is that date or a fuller one within it (1978-09-01 in 1978-09)."""
    return any(written.startswith(d) for d in asked)


def explain(
    doc: DossierDocument,
    score: float,
    phrases: list[list[str]],
    text_classes: Iterable[int] | None,
    dates: tuple[str, ...] = (),
) -> Hit:
    """The hit for `doc`: which particulars matched and the matching pages (first few with snippets)."""
    compiled = [(phrase, _surface(phrase)) for phrase in phrases]
    fields = []
    for name, value in _matched_fields(doc, text_classes is not None).items() if phrases else ():
        if _find(value, fold_width(value), compiled):
            fields.append("citizen_id" if name == "id_tail" else name)
    fields += [name for name, values in particular_dates(doc).items() if any(_within(v, dates) for v in values)]
    allowed = None if text_classes is None else set(text_classes)
    shown: list[PageHit] = []
    count = 0
    for page in doc.pages if phrases or dates else ():
        if allowed is not None and page.top_class not in allowed:
            continue
        spans = _find(page.text, fold_width(page.text), compiled) if phrases else []
        spans = sorted(spans + [(s, e) for s, e, d in page.dates if _within(d, dates)])
        if not spans:
            continue
        count += 1
        if len(shown) < PAGES_SHOWN:
            shown.append(PageHit(page.number, page.material, page.top_class, snippet(page.text, spans)))
    return Hit(doc.dossier_id, score, tuple(dict.fromkeys(fields)), tuple(shown), count)
