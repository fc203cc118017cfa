"""The embedded index: Tantivy (a Rust search library) in a local directory, in-process, no server.

Why Tantivy and not SQLite FTS5: both were built and measured on the same generated dossiers
(bench/RESULTS.md, "search"). FTS5 indexed about 300 dossiers/s on two cores and a common phrase
took 50–70 ms over only 5,000 dossiers, growing with the collection; Tantivy indexes in its own
threads beside Python's analysis and answers the same phrase in a few milliseconds, with filters,
counts and facets (aggregations) evaluated inside the search. Its commits are atomic: a crash
loses at most the batch being written, never the index.

Tokens come from `search.analysis` (the `cjk` analyzer's), written space-separated into fields
with Tantivy's `whitespace` tokenizer and positions, so a phrase is a Tantivy phrase query over
the same bigrams Elasticsearch would make. Page texts are joined with a `¶` token no query
contains, so a phrase never runs from one page into the next. Each material class's pages are
their own field (t1 … t10; t0 for pages outside any material), so "only class 4" and a
requester's granted classes choose fields rather than filter afterwards.

Layout: a directory holding `index-<n>/` Tantivy indexes and `CURRENT`, the name of the live one.
`rebuild` writes a new index and replaces `CURRENT` atomically; every reader notices and reopens.
"""

import os
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from datetime import date
from itertools import islice
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import tantivy
from tantivy import Occur, Query

from search.analysis import ANALYZER_VERSION, parse_query, terms
from search.highlight import explain, id_tail
from search.port import (
    DossierDocument,
    Progress,
    SearchError,
    SearchQuery,
    SearchResults,
    fingerprint_of,
)

PARTICULARS = ("name", "citizen_id", "id_tail", "archival_code", "enterprise", "titles")
TEXT_COLUMNS = tuple(f"t{c}" for c in range(0, 11))
# Score weight per field: a hit on the name or ID outranks one in the page text.
WEIGHTS = dict(zip(PARTICULARS + TEXT_COLUMNS, (10.0, 10.0, 8.0, 10.0, 3.0, 2.0) + (1.0,) * 11, strict=True))
PAGE_BREAK = "¶"
BATCH = 500
WRITER_HEAP = 256 * 1024 * 1024
SCHEMA_VERSION = f"1/{ANALYZER_VERSION}"  # a change in either means: rebuild


def _schema() -> tantivy.Schema:
    b = tantivy.SchemaBuilder()
    for name in ("dossier_id", "custodian_id", "enterprise_id", "birth_date", "retirement_date", "classes"):
        b.add_integer_field(name, indexed=True, fast=True)  # dates as yyyymmdd, 0 when unknown
    b.add_unsigned_field("fingerprint", fast=True)
    b.add_boolean_field("classified", indexed=True, fast=True)
    for name in ("status", "digitisation", "code_sort"):
        b.add_text_field(name, tokenizer_name="raw", fast=True)
    b.add_bytes_field("document", stored=True)  # the indexed document: snippets and pages
    for name in PARTICULARS + TEXT_COLUMNS:
        b.add_text_field(name, tokenizer_name="whitespace", index_option="position")
    return b.build()


SCHEMA = _schema()


def _encode(value: str) -> str:
    return " ".join(terms(value))


def _yyyymmdd(d: date | None) -> int:
    return d.year * 10000 + d.month * 100 + d.day if d else 0


def fingerprint_number(fingerprint: str) -> int:
    return int(fingerprint, 16)


Prepared = dict[str, Any]


def prepare(doc: DossierDocument) -> Prepared:
    """A document's fields as Tantivy takes them: the costly part of indexing (analysis and
    serialising), done in a worker process when there are many."""
    by_class: dict[int, list[str]] = {c: [] for c in range(0, 11)}
    for page in doc.pages:
        by_class[page.top_class].append(_encode(page.text))
    data = doc.to_json()
    return {
        "dossier_id": doc.dossier_id,
        "custodian_id": doc.custodian_id,
        "enterprise_id": doc.enterprise_id,
        "birth_date": _yyyymmdd(doc.birth_date),
        "retirement_date": _yyyymmdd(doc.retirement_date),
        "classes": doc.top_classes,
        "fingerprint": fingerprint_number(fingerprint_of(data)),
        "classified": doc.classified,
        "status": doc.status,
        "digitisation": doc.digitisation,
        "code_sort": doc.archival_code,
        "document": data,
        "name": _encode(doc.name),
        "citizen_id": _encode(doc.citizen_id),
        "id_tail": _encode(id_tail(doc.citizen_id)),
        "archival_code": _encode(doc.archival_code),
        "enterprise": _encode(doc.enterprise_name),
        "titles": _encode("\n".join(m.title for m in doc.materials)),
        **{f"t{c}": f" {PAGE_BREAK} ".join(by_class[c]) for c in range(0, 11)},
    }


def _document(prepared: Prepared) -> tantivy.Document:
    doc = tantivy.Document()
    for name, value in prepared.items():
        if name == "classes":
            for c in value:
                doc.add_integer(name, c)
        elif name == "document":
            doc.add_bytes(name, value)
        elif isinstance(value, bool):
            doc.add_boolean(name, value)
        elif name == "fingerprint":
            doc.add_unsigned(name, value)
        elif isinstance(value, int):
            doc.add_integer(name, value)
        else:
            doc.add_text(name, value)
    return doc


def searched_columns(text_classes: frozenset[int] | None) -> tuple[str, ...]:
    """The fields a phrase may match: all, or, limited to some classes, their pages only
    (the catalogue titles name every class's materials, so they drop out too)."""
    if text_classes is None:
        return PARTICULARS + TEXT_COLUMNS
    return tuple(c for c in PARTICULARS if c != "titles") + tuple(f"t{c}" for c in sorted(text_classes))


class EmbeddedSearchIndex:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.description = f"embedded index (Tantivy) in {self.root}"
        self._lock = threading.Lock()
        self._index: tantivy.Index | None = None
        self._path: Path | None = None
        self.root.mkdir(parents=True, exist_ok=True)
        if not (self.root / "CURRENT").exists():
            self._publish(self._create())

    # -- files -----------------------------------------------------------------------------------

    def _current(self) -> Path:
        return self.root / (self.root / "CURRENT").read_text().strip()

    def _create(self) -> Path:
        path = self.root / f"index-{time.time_ns()}"
        path.mkdir()
        tantivy.Index(SCHEMA, path=str(path))
        (path / "archive-schema").write_text(SCHEMA_VERSION)
        return path

    def _publish(self, path: Path) -> None:
        """Make `path` the live index: write CURRENT beside and rename it into place (atomic)."""
        tmp = self.root / "CURRENT.tmp"
        with open(tmp, "w") as f:
            f.write(path.name)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.root / "CURRENT")
        fd = os.open(self.root, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def _open(self) -> tantivy.Index:
        """The live index; reopened when a rebuild (here or in another process) has switched."""
        path = self._current()
        with self._lock:
            if self._index is None or self._path != path:
                version = (path / "archive-schema").read_text()
                if version != SCHEMA_VERSION:
                    raise SearchError(f"index built as {version}, this code writes {SCHEMA_VERSION}: rebuild it")
                self._index, self._path = tantivy.Index.open(str(path)), path
            return self._index

    def close(self) -> None:
        with self._lock:
            self._index = None

    # -- writing ---------------------------------------------------------------------------------

    def _write(self, apply: Callable[[tantivy.IndexWriter], None]) -> None:
        index = self._open()
        writer = index.writer(WRITER_HEAP // 4, 1)
        try:
            apply(writer)
            writer.commit()  # atomic: all of the batch or, after a crash, none of it
        except BaseException:
            writer.rollback()
            raise
        finally:
            writer.wait_merging_threads()
        index.reload()

    def upsert(self, documents: Sequence[DossierDocument]) -> None:
        def apply(writer: tantivy.IndexWriter) -> None:
            for doc in documents:
                writer.delete_documents_by_term("dossier_id", doc.dossier_id)
                writer.add_document(_document(prepare(doc)))

        self._write(apply)

    def delete(self, dossier_ids: Sequence[int]) -> None:
        def apply(writer: tantivy.IndexWriter) -> None:
            for i in dossier_ids:
                writer.delete_documents_by_term("dossier_id", i)

        self._write(apply)

    def rebuild(self, documents: Iterable[DossierDocument], progress: Progress | None = None) -> int:
        path = self._create()
        count = 0
        try:
            index = tantivy.Index.open(str(path))
            writer = index.writer(WRITER_HEAP, 0)
            with _preparer() as pool:
                for prepared in pool(documents):
                    writer.add_document(_document(prepared))
                    count += 1
                    if progress and count % BATCH == 0:
                        progress(count, 0)
            writer.commit()
            writer.wait_merging_threads()
        except BaseException:
            shutil.rmtree(path, ignore_errors=True)  # never published: nobody reads it
            raise
        old = self._current()
        self._publish(path)
        shutil.rmtree(old, ignore_errors=True)
        return count

    # -- reading ---------------------------------------------------------------------------------

    def fingerprints(self) -> dict[int, str]:
        searcher = self._open().searcher()
        if not searcher.num_docs:
            return {}
        addresses = [a for _, a in searcher.search(Query.all_query(), searcher.num_docs, count=False).hits]
        ids = searcher.fast_field_values("dossier_id", addresses)
        prints = searcher.fast_field_values("fingerprint", addresses)
        return {i: f"{p:016x}" for i, p in zip(ids, prints, strict=True)}

    def search(self, query: SearchQuery) -> SearchResults:
        index = self._open()
        searcher = index.searcher()
        phrases = parse_query(query.text)
        text_classes = query.text_classes()
        q = _query(query, phrases, text_classes)
        if phrases:
            found = searcher.search(q, query.limit, count=True, offset=query.offset)
        else:
            found = searcher.search(
                q, query.limit, count=True, offset=query.offset, order_by_field="code_sort", order=tantivy.Order.Asc
            )
        hits = []
        for score, address in found.hits:
            doc = DossierDocument.from_json(searcher.doc(address)["document"][0])
            hits.append(explain(doc, score if phrases else 0.0, phrases, text_classes))
        aggs = searcher.aggregate(q, FACETS) if found.count else {}
        facets = {
            name: {_key(b["key"]): b["doc_count"] for b in aggs.get(name, {}).get("buckets", [])}
            for name in FACETS
        }
        facets["material_class"] = dict(sorted(facets["material_class"].items(), key=lambda kv: int(kv[0])))
        return SearchResults(total=found.count, hits=hits, facets=facets)


FACETS = {
    "enterprise": {"terms": {"field": "enterprise_id", "size": 10_000}},
    "status": {"terms": {"field": "status", "size": 20}},
    "material_class": {"terms": {"field": "classes", "size": 20}},
    "digitisation": {"terms": {"field": "digitisation", "size": 20}},
}


def _key(key: object) -> str:
    return str(int(key)) if isinstance(key, float) else str(key)


def _query(query: SearchQuery, phrases: list[list[str]], text_classes: frozenset[int] | None) -> Query:
    scope = query.scope
    term = lambda field, value: Query.term_query(SCHEMA, field, value)  # noqa: E731
    one_of = lambda field, values: Query.term_set_query(SCHEMA, field, sorted(values))  # noqa: E731
    must: list[Query] = [term("custodian_id", scope.custodian_id)]
    must_not: list[Query] = []
    if scope.dossier_ids is not None:
        must.append(one_of("dossier_id", scope.dossier_ids) if scope.dossier_ids else Query.empty_query())
    if scope.exclude_classified:
        must_not.append(term("classified", True))
    if query.enterprise_ids:
        must.append(one_of("enterprise_id", query.enterprise_ids))
    if query.statuses:
        must.append(one_of("status", query.statuses))
    if query.material_classes:
        must.append(one_of("classes", query.material_classes))
    for field, low, high in (
        ("birth_date", query.birth_from, query.birth_to),
        ("retirement_date", query.retired_from, query.retired_to),
    ):
        if low or high:
            # Unknown dates are 0: an upper bound alone must not take them in.
            lower = _yyyymmdd(low) if low else 1
            upper = _yyyymmdd(high) if high else None
            must.append(Query.range_query(SCHEMA, field, tantivy.FieldType.Integer, lower, upper))
    # Filters match without scoring; only the phrases decide the order.
    clauses = [(Occur.Must, Query.const_score_query(q, 0.0)) for q in must]
    clauses += [(Occur.MustNot, q) for q in must_not]
    columns = searched_columns(text_classes)
    for phrase in phrases:
        per_field = [
            (Occur.Should, Query.boost_query(_phrase(column, phrase), WEIGHTS[column])) for column in columns
        ]
        clauses.append((Occur.Must, Query.boolean_query(per_field)))
    return Query.boolean_query(clauses)


def _phrase(field: str, words: list[str]) -> Query:
    if len(words) == 1:
        return Query.term_query(SCHEMA, field, words[0])
    return Query.phrase_query(SCHEMA, field, words)


def batched(items: Iterable[DossierDocument], size: int) -> Iterator[list[DossierDocument]]:
    it = iter(items)
    while window := list(islice(it, size)):
        yield window


@contextmanager
def _preparer() -> Iterator[Callable[[Iterable[DossierDocument]], Iterator[Prepared]]]:
    """`prepare` over many documents in a worker process, while this one feeds Tantivy."""
    if (os.cpu_count() or 1) < 2:
        yield lambda docs: map(prepare, docs)
        return
    with ProcessPoolExecutor(os.cpu_count(), mp_context=get_context("forkserver")) as pool:
        # In windows, so a reindex from the database never holds every document at once.
        yield lambda docs: (p for window in batched(docs, 2048) for p in pool.map(prepare, window, chunksize=64))
