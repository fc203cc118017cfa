"""A requester's search: only the dossiers granted to them, and their text only in the granted classes.

The adapter's own query already keeps to the granted dossiers (never classified, only the
bureau's own), matching anywhere in them; here each of those few candidates is checked page by
page against the granted classes, and only then counted, faceted and paged. So nothing about a
page outside the grant — not even that it matched — reaches the requester.
"""

from collections import Counter

from search.highlight import explain
from search.port import DossierDocument, SearchQuery, SearchResults


def facets_of(docs: list[DossierDocument]) -> dict[str, dict[str, int]]:
    """Facet counts as the adapters report them: keys as strings, the largest count first."""
    enterprise = Counter(str(d.enterprise_id) for d in docs)
    status = Counter(d.status for d in docs)
    digitisation = Counter(d.digitisation for d in docs)
    classes = Counter(str(c) for d in docs for c in d.top_classes)
    return {
        "enterprise": dict(enterprise.most_common()),
        "status": dict(status.most_common()),
        "material_class": dict(sorted(classes.items(), key=lambda kv: int(kv[0]))),
        "digitisation": dict(digitisation.most_common()),
    }


def within_grant(
    query: SearchQuery, phrases: list[list[str]], candidates: list[tuple[float, DossierDocument]]
) -> SearchResults:
    grants = query.scope.grants or {}
    kept = []
    for score, doc in candidates:
        granted = grants.get(doc.dossier_id, frozenset())
        if query.material_classes and not (set(doc.top_classes) & query.material_classes & granted):
            continue  # a class filter answers within the grant: that a file holds 处分材料 is not the requester's
        hit = explain(doc, score, phrases, granted, query.dates)
        # A date or phrase found only on pages outside the grant does not make the dossier a hit.
        if not (phrases or query.dates) or hit.fields or hit.page_count:
            kept.append((hit, doc))
    return SearchResults(
        total=len(kept),
        hits=[hit for hit, _ in kept[query.offset : query.offset + query.limit]],
        facets=facets_of([doc for _, doc in kept]),
    )
