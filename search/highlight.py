"""Which particulars and pages of a found dossier matched, with highlighted snippets.

Worked out here from the document and the analysed query, the same way for every adapter, so
Elasticsearch and the embedded index show the same pages and snippets for the same hit.
"""

from collections.abc import Iterable
from html import escape

from search.analysis import Token, find_phrase, fold_width, tokens
from search.port import DossierDocument, Hit, PageHit

CONTEXT = 40  # characters shown either side of the first match on a page
PAGES_SHOWN = 5


def id_tail(citizen_id: str) -> str:
    """Counter staff ask by the last six characters of the citizen ID."""
    return citizen_id[-6:]


def particulars(doc: DossierDocument, text_classes: Iterable[int] | None = None) -> dict[str, str]:
    """The fields searched besides the page text, by name. Searching only some classes leaves out
    the catalogue titles, which name every class's materials (as `searched_columns` does)."""
    fields = {
        "name": doc.name,
        "citizen_id": doc.citizen_id,
        "id_tail": id_tail(doc.citizen_id),
        "archival_code": doc.archival_code,
        "enterprise": doc.enterprise_name,
        "titles": "\n".join(m.title for m in doc.materials),
    }
    if text_classes is not None:
        del fields["titles"]
    return fields


def _matches(toks: list[Token], phrases: list[list[str]]) -> list[tuple[int, int]]:
    return sorted(span for phrase in phrases for span in find_phrase(toks, phrase))


def _maybe_contains(folded: str, phrases: list[list[str]]) -> bool:
    # Cheap test before analysing a page: every token of a match is a substring of the folded text.
    return any(phrase[0] in folded for phrase in phrases)


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


def explain(doc: DossierDocument, score: float, phrases: list[list[str]], text_classes: Iterable[int] | None) -> Hit:
    """The hit for `doc`: which particulars matched and the matching pages (first few with snippets)."""
    fields = []
    for name, value in particulars(doc, text_classes).items() if phrases else ():
        if _matches(list(tokens(value)), phrases):
            fields.append("citizen_id" if name == "id_tail" else name)
    allowed = None if text_classes is None else set(text_classes)
    shown: list[PageHit] = []
    count = 0
    for page in doc.pages if phrases else ():
        if allowed is not None and page.top_class not in allowed:
            continue
        if not _maybe_contains(fold_width(page.text), phrases):
            continue
        spans = _matches(list(tokens(page.text)), phrases)
        if not spans:
            continue
        count += 1
        if len(shown) < PAGES_SHOWN:
            shown.append(PageHit(page.number, page.material, page.top_class, snippet(page.text, spans)))
    return Hit(doc.dossier_id, score, tuple(dict.fromkeys(fields)), tuple(shown), count)
