"""The fields of an indexed dossier, the same in every adapter.

Three searched fields: the particulars (name, citizen ID and its last six, 档号 and 原档号, enterprise), the
catalogue titles, and the page text — one field for all pages, because a field per material
class multiplied the postings each phrase must walk (measured: 17 fields took 8× one field).
Values within a field are kept apart (a `¶` token in the embedded index, array values in
Elasticsearch), so a phrase never runs from one value or page into the next.

A requester's search is limited to the material classes granted; that is checked page by page
on the few dossiers granted to them (`search.grants`), not with fields.
"""

from collections.abc import Mapping
from datetime import date
from typing import Any

from search.port import DossierDocument

WEIGHTS = {"particulars": 10.0, "titles": 2.0, "text": 1.0}  # a name or ID hit outranks page text


def id_tail(citizen_id: str) -> str:
    """Counter staff ask by the last six characters of the citizen ID."""
    return citizen_id[-6:]


def particulars(doc: DossierDocument) -> dict[str, str]:
    values = {
        "name": doc.name,
        "citizen_id": doc.citizen_id,
        "id_tail": id_tail(doc.citizen_id),
        "archival_code": doc.archival_code,
        "enterprise": doc.enterprise_name,
    }
    if doc.former_archival_code:
        values["former_archival_code"] = doc.former_archival_code
    return values


def date_prefixes(iso: str) -> list[str]:
    """1978-09-01 → 1978, 1978-09, 1978-09-01: a date asked for as a month finds the days within it."""
    return [iso[:n] for n in (4, 7, 10) if len(iso) >= n]


def particular_dates(doc: DossierDocument) -> dict[str, list[str]]:
    """The particulars' dates, by the field a match on them is reported as."""
    dates = {"birth_date": [doc.birth_date.isoformat()], "work_start": list(doc.work_start_dates)}
    if doc.retirement_date:
        dates["retirement_date"] = [doc.retirement_date.isoformat()]
    return dates


def date_terms(doc: DossierDocument) -> list[str]:
    """Every date the dossier holds, with its prefixes: what a date search matches, in every adapter."""
    written = [d for p in doc.pages for _, _, d in p.dates]
    written += [d for values in particular_dates(doc).values() for d in values]
    return sorted({prefix for d in written for prefix in date_prefixes(d)})


def first_day(iso: str) -> date:
    """A partial date's first day, for ranges: 1978-09 → 1978-09-01."""
    year, month, day = (iso.split("-") + ["1", "1"])[:3]
    return date(int(year), int(month), int(day))


def searched_fields(restricted: bool) -> tuple[str, ...]:
    """Every field, or for a search limited to some classes the particulars and page text only:
    the catalogue titles name every class's materials."""
    return ("particulars", "text") if restricted else ("particulars", "titles", "text")


# The facets, as terms aggregations: Elasticsearch and Tantivy both take this form.
FACETS = {
    "enterprise": {"terms": {"field": "enterprise_id", "size": 10_000}},
    "status": {"terms": {"field": "status", "size": 20}},
    "material_class": {"terms": {"field": "classes", "size": 20}},
    "digitisation": {"terms": {"field": "digitisation", "size": 20}},
}


def facets_from(aggregations: Mapping[str, Any]) -> dict[str, dict[str, int]]:
    """Facet counts from the aggregations' buckets: keys as strings (Tantivy gives numbers as
    floats), the largest count first, material classes in class order."""
    facets = {name: {_key(b["key"]): b["doc_count"] for b in aggregations[name]["buckets"]} for name in FACETS}
    facets["material_class"] = dict(sorted(facets["material_class"].items(), key=lambda kv: int(kv[0])))
    return facets


def _key(key: object) -> str:
    return str(int(key)) if isinstance(key, float) else str(key)
