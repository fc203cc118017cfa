"""The embedded index: Tantivy (a Rust search library) in a local directory, in-process, no server.

Why Tantivy and not SQLite FTS5: both were built and measured on the same generated dossiers
(bench/RESULTS.md, "search"). FTS5 indexed about 300 dossiers/s on two cores and a common phrase
took 50–70 ms over only 5,000 dossiers, growing with the collection; Tantivy indexes in its own
threads beside Python's analysis and answers the same phrase in a few milliseconds, with filters,
counts and facets (aggregations) evaluated inside the search. Its commits are atomic: a crash
loses at most the batch being written, never the index.

Tokens come from `search.analysis` (the `cjk` analyzer's), written space-separated into the
fields of `search.fields` with Tantivy's `whitespace` tokenizer and positions, so a phrase is a
Tantivy phrase query over the same bigrams Elasticsearch would make. Values and pages are
joined with a `¶` token no query contains, so a phrase never runs from one page into the next.

Layout: a directory holding `index-<n>/` Tantivy indexes and `CURRENT`, the name of the live one.
`rebuild` writes a new index and replaces `CURRENT` atomically; every reader notices and reopens.
"""

import os
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import date
from itertools import islice
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import tantivy
from tantivy import Occur, Query

from search.analysis import ANALYZER_VERSION, parse_query, terms
from search.fields import FACETS, WEIGHTS, date_terms, facets_from, first_day, particulars, searched_fields
from search.grants import within_grant
from search.highlight import explain
from search.port import (
    DocumentsIndexed,
    DossierDocument,
    SearchError,
    SearchQuery,
    SearchResults,
    fingerprint_of,
)

PAGE_BREAK = f" {'¶'} "
BATCH = 500
WRITER_HEAP = 256 * 1024 * 1024
SCHEMA_VERSION = f"3/{ANALYZER_VERSION}"  # a change in either means: rebuild


def _schema() -> tantivy.Schema:
    b = tantivy.SchemaBuilder()
    for name in (
        "dossier_id",
        "custodian_id",
        "enterprise_id",
        "birth_date",
        "retirement_date",
        "classes",
        "work_start",
    ):
        b.add_integer_field(name, indexed=True, fast=True)  # dates as yyyymmdd, 0 when unknown
    b.add_unsigned_field("fingerprint", fast=True)
    b.add_boolean_field("classified", indexed=True, fast=True)
    for name in ("status", "digitisation", "code_sort"):
        b.add_text_field(name, tokenizer_name="raw", fast=True)
    b.add_text_field("dates", tokenizer_name="raw")  # fields.date_terms: 1978, 1978-09, 1978-09-01 …
    b.add_bytes_field("document", stored=True)  # the indexed document: snippets and pages
    for name in WEIGHTS:
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
    data = doc.to_json()
    return {
        "dossier_id": doc.dossier_id,
        "custodian_id": doc.custodian_id,
        "enterprise_id": doc.enterprise_id,
        "birth_date": _yyyymmdd(doc.birth_date),
        "retirement_date": _yyyymmdd(doc.retirement_date),
        "classes": doc.top_classes,
        "work_start": sorted({_yyyymmdd(first_day(d)) for d in doc.work_start_dates}),
        "dates": date_terms(doc),
        "fingerprint": fingerprint_number(fingerprint_of(data)),
        "classified": doc.classified,
        "status": doc.status,
        "digitisation": doc.digitisation,
        "code_sort": doc.archival_code,
        "document": data,
        "particulars": PAGE_BREAK.join(_encode(v) for v in particulars(doc).values()),
        "titles": PAGE_BREAK.join(_encode(m.title) for m in doc.materials),
        "text": PAGE_BREAK.join(_encode(p.text) for p in doc.pages),
    }


def _document(prepared: Prepared) -> tantivy.Document:
    doc = tantivy.Document()
    for name, value in prepared.items():
        if isinstance(value, list):  # a field of many values
            for v in value:
                doc.add_integer(name, v) if isinstance(v, int) else doc.add_text(name, v)
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


class EmbeddedSearchIndex:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.description = f"embedded index (Tantivy) in {self.root}"
        self._lock = threading.Lock()
        self._index: tantivy.Index | None = None
        self._path: Path | None = None
        self.root.mkdir(parents=True, exist_ok=True)
        if not (self.root / "CURRENT").exists():
            # Several processes (web workers, job workers) may open a new installation's index at once:
            # the first to publish wins and the others use its index, not a second empty one over it.
            created = self._create()
            if not self._publish(created, only_if_absent=True):
                shutil.rmtree(created, ignore_errors=True)

    # -- files -----------------------------------------------------------------------------------

    def _current(self) -> Path:
        return self.root / (self.root / "CURRENT").read_text().strip()

    def _create(self) -> Path:
        path = self.root / f"index-{time.time_ns()}"
        path.mkdir()
        tantivy.Index(SCHEMA, path=str(path))
        (path / "archive-schema").write_text(SCHEMA_VERSION)
        return path

    def _publish(self, path: Path, *, only_if_absent: bool = False) -> bool:
        """Make `path` the live index: write CURRENT beside and rename it into place (atomic); with
        `only_if_absent`, only if there is no live index yet (False: another process published first).
        The temporary name is this process's and thread's own, so two publishers never share it."""
        tmp = self.root / f"CURRENT.tmp-{os.getpid()}-{threading.get_ident()}"
        with open(tmp, "w") as f:
            f.write(path.name)
            f.flush()
            os.fsync(f.fileno())
        try:
            if only_if_absent:
                try:
                    os.link(tmp, self.root / "CURRENT")  # fails if it exists: create-if-absent, atomically
                except FileExistsError:
                    return False
            else:
                os.replace(tmp, self.root / "CURRENT")
        finally:
            tmp.unlink(missing_ok=True)
        fd = os.open(self.root, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        return True

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

    def rebuild(self, documents: Iterable[DossierDocument], progress: DocumentsIndexed | None = None) -> int:
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
        return {int(i or 0): f"{int(p or 0):016x}" for i, p in zip(ids, prints, strict=True)}

    def search(self, query: SearchQuery) -> SearchResults:
        searcher = self._open().searcher()
        phrases = parse_query(query.text)
        q = _query(query, phrases)
        if query.scope.grants is not None:
            found = searcher.search(q, max(1, len(query.scope.grants)), count=False)
            candidates = [(score, _stored(searcher, address)) for score, address in found.hits]
            return within_grant(query, phrases, candidates)
        # One pass counts and facets (every dossier has one status: their sum is the total), a
        # second finds the page; Tantivy releases the GIL, so the two run on two cores at once.
        counting = _FACET_POOL.submit(searcher.aggregate, q, FACETS)
        if phrases:
            found = searcher.search(q, query.limit, count=False, offset=query.offset)
        else:
            found = searcher.search(
                q, query.limit, count=False, offset=query.offset, order_by_field="code_sort", order=tantivy.Order.Asc
            )
        aggs = counting.result()
        total = sum(b["doc_count"] for b in aggs["status"]["buckets"])
        hits = [
            explain(_stored(searcher, a), score if phrases else 0.0, phrases, None, query.dates)
            for score, a in found.hits
        ]
        return SearchResults(total=total, hits=hits, facets=facets_from(aggs))


def _stored(searcher: tantivy.Searcher, address: tantivy.DocAddress) -> DossierDocument:
    return DossierDocument.from_json(searcher.doc(address)["document"][0])


_FACET_POOL = ThreadPoolExecutor(2, thread_name_prefix="search-facets")


def _query(query: SearchQuery, phrases: list[list[str]]) -> Query:
    scope = query.scope
    term = lambda field, value: Query.term_query(SCHEMA, field, value)  # noqa: E731
    one_of = lambda field, values: Query.term_set_query(SCHEMA, field, sorted(values))  # noqa: E731
    must: list[Query] = []
    must_not: list[Query] = []
    if scope.custodian_id is not None:
        must.append(term("custodian_id", scope.custodian_id))
    if scope.grants is not None:
        must.append(one_of("dossier_id", scope.grants) if scope.grants else Query.empty_query())
    if scope.exclude_classified:
        must_not.append(term("classified", True))
    if query.enterprise_ids:
        must.append(one_of("enterprise_id", query.enterprise_ids))
    if query.statuses:
        must.append(one_of("status", query.statuses))
    if query.material_classes:
        must.append(one_of("classes", query.material_classes))
    for d in query.dates:
        must.append(term("dates", d))
    for field, low, high in (
        ("birth_date", query.birth_from, query.birth_to),
        ("retirement_date", query.retired_from, query.retired_to),
        ("work_start", query.work_start_from, query.work_start_to),
    ):
        if low or high:
            # Unknown dates are 0: an upper bound alone must not take them in.
            lower = _yyyymmdd(low) if low else 1
            upper = _yyyymmdd(high) if high else None
            must.append(
                Query.range_query(SCHEMA, field, tantivy.FieldType.Integer, lower, upper, use_inverted_index=True)
            )
    # Filters match without scoring; only the phrases decide the order.
    clauses = [(Occur.Must, Query.const_score_query(q, 0.0)) for q in must]
    clauses += [(Occur.MustNot, q) for q in must_not]
    fields = searched_fields(restricted=scope.grants is not None)
    for phrase in phrases:
        per_field = [(Occur.Should, Query.boost_query(_phrase(field, phrase), WEIGHTS[field])) for field in fields]
        clauses.append((Occur.Must, Query.boolean_query(per_field)))
    return Query.boolean_query(clauses)


def _phrase(field: str, words: list[str]) -> Query:
    if len(words) == 1:
        return Query.term_query(SCHEMA, field, words[0])
    return Query.phrase_query(SCHEMA, field, list[str | tuple[int, str]](words))


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
