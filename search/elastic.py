"""The Elasticsearch adapter: the same documents and queries, analysed by the built-in `cjk` analyzer.

The mapping (the `cjk` analyzer on every searched field) is an index template for
`{alias}-*`. Searches go to an alias (`archive-dossiers` by default). `rebuild` creates a new index
`{alias}-{n}` from the documents, then moves the alias in one `_aliases` call, so searches see
the old index or the new one, never a half-built one; the old index is then deleted.

Queries are the embedded adapter's, term for term: each phrase of `search.analysis.parse_query`
is a `multi_match` of type phrase over the fields of `search.fields` (its tokens joined back
with spaces, which the `cjk` analyzer turns into the same tokens), all phrases required; scope
and filters are `bool.filter` clauses, so they apply inside the search. Values and pages are
array elements, which the position gap keeps apart for phrases. Deeper than 10,000 hits the
adapter walks there with `search_after` on a point in time.
"""

import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from elasticsearch import Elasticsearch, NotFoundError, helpers

from search.analysis import parse_query
from search.fields import FACETS, WEIGHTS, date_terms, facets_from, first_day, particulars, searched_fields
from search.grants import within_grant
from search.highlight import explain
from search.port import DocumentsIndexed, DossierDocument, SearchError, SearchQuery, SearchResults

WINDOW = 10_000  # Elasticsearch's index.max_result_window: from + size may not pass it

_text = {"type": "text", "analyzer": "cjk"}
MAPPINGS: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {
        "dossier_id": {"type": "long"},
        "custodian_id": {"type": "long"},
        "archival_code_sort": {"type": "keyword"},
        "enterprise_id": {"type": "long"},
        "status": {"type": "keyword"},
        "digitisation": {"type": "keyword"},
        "classified": {"type": "boolean"},
        "birth_date": {"type": "date"},
        "retirement_date": {"type": "date"},
        "classes": {"type": "integer"},
        "work_start": {"type": "date"},  # every value of the document's work_start_dates, as a first day
        "dates": {"type": "keyword"},  # fields.date_terms
        "fingerprint": {"type": "keyword"},
        "document": {"type": "object", "enabled": False},  # kept for snippets, never indexed
        **{field: _text for field in WEIGHTS},
    },
}
SETTINGS = {"number_of_shards": 1, "refresh_interval": "1s"}


def _source(doc: DossierDocument) -> dict[str, Any]:
    return {
        "dossier_id": doc.dossier_id,
        "custodian_id": doc.custodian_id,
        "archival_code_sort": doc.archival_code,
        "enterprise_id": doc.enterprise_id,
        "status": doc.status,
        "digitisation": doc.digitisation,
        "classified": doc.classified,
        "birth_date": doc.birth_date.isoformat(),
        "retirement_date": doc.retirement_date.isoformat() if doc.retirement_date else None,
        "classes": doc.top_classes,
        "work_start": sorted({first_day(d).isoformat() for d in doc.work_start_dates}),
        "dates": date_terms(doc),
        "fingerprint": doc.fingerprint(),
        "document": {"json": doc.to_json().decode()},
        "particulars": list(particulars(doc).values()),
        "titles": [m.title for m in doc.materials],
        "text": [p.text for p in doc.pages],
    }


class ElasticsearchIndex:
    def __init__(self, url: str, alias: str = "archive-dossiers", *, client: Elasticsearch | None = None) -> None:
        self.es = client or Elasticsearch(url, request_timeout=60)
        self.alias = alias
        self.description = f"Elasticsearch {url}, alias {alias}"
        # An index template: every index made for the alias gets the cjk mapping, rebuilds included.
        self.es.indices.put_index_template(
            name=alias, index_patterns=[f"{alias}-*"], template={"settings": SETTINGS, "mappings": MAPPINGS}
        )
        if not self.es.indices.exists_alias(name=alias):
            name = self._create_index()
            self.es.indices.put_alias(index=name, name=alias)

    def _create_index(self) -> str:
        name = f"{self.alias}-{time.time_ns()}"
        self.es.indices.create(index=name)
        return name

    def close(self) -> None:
        self.es.close()

    # -- writing ---------------------------------------------------------------------------------

    def _bulk(self, actions: Iterable[dict[str, Any]], index: str, refresh: bool) -> int:
        ok, errors = helpers.bulk(
            self.es, actions, index=index, refresh="wait_for" if refresh else False, raise_on_error=False
        )
        assert isinstance(errors, list)  # stats_only=False: the failed items themselves
        failed = [e for e in errors if not (isinstance(e, dict) and e.get("delete", {}).get("status") == 404)]
        if failed:
            raise SearchError(f"Elasticsearch refused {len(failed)} documents, first: {failed[0]}")
        return ok

    def upsert(self, documents: Sequence[DossierDocument]) -> None:
        actions = ({"_id": d.dossier_id, "_source": _source(d)} for d in documents)
        self._bulk(actions, self.alias, refresh=True)

    def delete(self, dossier_ids: Sequence[int]) -> None:
        self._bulk(({"_op_type": "delete", "_id": i} for i in dossier_ids), self.alias, refresh=True)

    def rebuild(self, documents: Iterable[DossierDocument], progress: DocumentsIndexed | None = None) -> int:
        new = self._create_index()
        try:
            count = 0
            for ok, _info in helpers.streaming_bulk(
                self.es, ({"_id": d.dossier_id, "_source": _source(d)} for d in documents), index=new, chunk_size=500
            ):
                count += ok
                if progress and count % 500 == 0:
                    progress(count, 0)
            self.es.indices.refresh(index=new)
        except BaseException:
            self.es.indices.delete(index=new, ignore_unavailable=True)
            raise
        old = list(self.es.indices.get_alias(name=self.alias))
        actions: list[dict[str, Any]] = [{"remove": {"index": i, "alias": self.alias}} for i in old]
        self.es.indices.update_aliases(actions=[*actions, {"add": {"index": new, "alias": self.alias}}])
        for index in old:
            self.es.indices.delete(index=index, ignore_unavailable=True)
        return count

    # -- reading ---------------------------------------------------------------------------------

    def fingerprints(self) -> dict[int, str]:
        return {
            int(h["_id"]): h["_source"]["fingerprint"]
            for h in helpers.scan(self.es, index=self.alias, _source=["fingerprint"], query={"match_all": {}})
        }

    def search(self, query: SearchQuery) -> SearchResults:
        phrases = parse_query(query.text)
        body_query = _query(query, phrases)
        sort: list[Any] = ["_score"] if phrases else []
        sort += [{"archival_code_sort": "asc"}, {"dossier_id": "asc"}]
        if query.scope.grants is not None:
            size = max(1, len(query.scope.grants))
            response = self.es.search(
                index=self.alias, query=body_query, sort=sort, size=size, source_includes=["document"]
            )
            candidates = [(h["_score"] or 0.0, _stored(h)) for h in response["hits"]["hits"]]
            return within_grant(query, phrases, candidates)
        common: dict[str, Any] = {"query": body_query, "sort": sort}
        if query.offset + query.limit <= WINDOW:
            response = self.es.search(
                index=self.alias,
                **common,
                from_=query.offset,
                size=query.limit,
                aggs=FACETS,
                track_total_hits=True,
                source_includes=["document"],
            )
            hits = response["hits"]["hits"]
        else:
            response = self.es.search(index=self.alias, query=body_query, size=0, aggs=FACETS, track_total_hits=True)
            hits = list(self._deep_page(common, query.offset, query.limit))
        results = [explain(_stored(h), h["_score"] or 0.0, phrases, None, query.dates) for h in hits]
        total = response["hits"]["total"]["value"]
        return SearchResults(total=total, hits=results, facets=facets_from(response["aggregations"]))

    def _deep_page(self, common: dict[str, Any], offset: int, limit: int) -> Iterator[dict[str, Any]]:
        """Hits offset … offset+limit past the 10,000 window: search_after on a point in time."""
        pit = self.es.open_point_in_time(index=self.alias, keep_alive="1m")["id"]
        try:
            after = None
            remaining = offset
            while remaining > 0:
                step = min(WINDOW, remaining)
                found = self.es.search(
                    pit={"id": pit, "keep_alive": "1m"},
                    **common,
                    size=step,
                    search_after=after,
                    source=False,
                    track_total_hits=False,
                )["hits"]["hits"]
                if not found:
                    return
                after = found[-1]["sort"]
                remaining -= len(found)
            found = self.es.search(
                pit={"id": pit, "keep_alive": "1m"},
                **common,
                size=limit,
                search_after=after,
                source_includes=["document"],
                track_total_hits=False,
            )["hits"]["hits"]
            yield from found
        finally:
            try:
                self.es.close_point_in_time(id=pit)
            except NotFoundError:
                pass


def _stored(hit: dict[str, Any]) -> DossierDocument:
    return DossierDocument.from_json(hit["_source"]["document"]["json"])


def _query(query: SearchQuery, phrases: list[list[str]]) -> dict[str, Any]:
    scope = query.scope
    filters: list[dict[str, Any]] = []
    if scope.custodian_id is not None:
        filters.append({"term": {"custodian_id": scope.custodian_id}})
    if scope.grants is not None:
        filters.append({"ids": {"values": [str(i) for i in scope.grants]}})
    if scope.exclude_classified:
        filters.append({"term": {"classified": False}})
    if query.enterprise_ids:
        filters.append({"terms": {"enterprise_id": sorted(query.enterprise_ids)}})
    if query.statuses:
        filters.append({"terms": {"status": sorted(query.statuses)}})
    if query.material_classes:
        filters.append({"terms": {"classes": sorted(query.material_classes)}})
    filters += [{"term": {"dates": d}} for d in query.dates]
    for field, low, high in (
        ("birth_date", query.birth_from, query.birth_to),
        ("retirement_date", query.retired_from, query.retired_to),
        ("work_start", query.work_start_from, query.work_start_to),
    ):
        if low or high:
            bounds = {k: v.isoformat() for k, v in (("gte", low), ("lte", high)) if v}
            filters.append({"range": {field: bounds}})
    fields = [f"{f}^{WEIGHTS[f]:g}" for f in searched_fields(restricted=scope.grants is not None)]
    must = [{"multi_match": {"query": " ".join(p), "type": "phrase", "fields": fields}} for p in phrases]
    return {"bool": {"filter": filters, "must": must}}
