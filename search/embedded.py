"""The embedded index: SQLite FTS5 in a local file, in-process, no server.

Why FTS5 and not Tantivy: measured in bench/RESULTS.md (search). In short, FTS5 ships with
Python, its transactions make each update crash-safe for free, and filters, facets and the
visibility scope are plain SQL over the same file, evaluated inside the query.

Tokens come from `search.analysis` (the `cjk` analyzer's), written space-separated into a
contentless FTS5 table with the `ascii` tokenizer, which keeps every non-ASCII character — so a
bigram such as 王伟 is one FTS token — and splits on ASCII punctuation only. Page texts are
joined with a `¶` token that no query can contain, so a phrase never runs from one page into the
next. Each material class's pages are their own column (t1 … t10; t0 for pages outside any
material), so "only class 4" and a requester's granted classes are column filters in the match.

Layout: a directory holding `index-<n>.sqlite` files and `CURRENT`, the name of the live one.
`rebuild` writes a new file and replaces `CURRENT` atomically; every reader notices and reopens.
"""

import os
import sqlite3
import threading
import time
import zlib
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from search.analysis import ANALYZER_VERSION, parse_query, terms
from search.highlight import explain, id_tail
from search.port import (
    TOP_CLASSES,
    DossierDocument,
    Progress,
    SearchError,
    SearchQuery,
    SearchResults,
)

PARTICULARS = ("name", "citizen_id", "id_tail", "archival_code", "enterprise", "titles")
TEXT_COLUMNS = tuple(f"t{c}" for c in range(0, 11))
# bm25 weight per column, in column order: a hit on the name or ID outranks one in the page text.
WEIGHTS = (10.0, 10.0, 8.0, 10.0, 3.0, 2.0) + (1.0,) * len(TEXT_COLUMNS)
PAGE_BREAK = "¶"
BATCH = 500

SCHEMA = f"""
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE dossier (
    id INTEGER PRIMARY KEY,
    custodian_id INTEGER NOT NULL,
    archival_code TEXT NOT NULL,
    enterprise_id INTEGER NOT NULL,
    status TEXT NOT NULL,
    digitisation TEXT NOT NULL,
    classified INTEGER NOT NULL,
    birth_date TEXT NOT NULL,
    retirement_date TEXT,
    classes INTEGER NOT NULL,      -- bit n set: the dossier holds class-n materials
    fingerprint TEXT NOT NULL,
    doc BLOB NOT NULL               -- the indexed document (zlib JSON): snippets and exact deletes
);
CREATE INDEX dossier_custodian ON dossier (custodian_id, archival_code);
CREATE VIRTUAL TABLE dossier_text USING fts5 ({", ".join(PARTICULARS + TEXT_COLUMNS)},
    content='', tokenize='ascii');
"""


def _encode(value: str) -> str:
    # The ascii tokenizer splits on ASCII punctuation, so the `.` `,` `'` a token may hold
    # (1962.03, 1,000) become a non-ASCII middle dot, the same in documents and queries.
    return " ".join(terms(value)).translate(_KEEP)


_KEEP = str.maketrans({".": "·", ",": "·", "'": "·"})


def _columns(doc: DossierDocument) -> list[str]:
    """The FTS row of a document, column by column (recomputed exactly to delete it again)."""
    by_class: dict[int, list[str]] = {c: [] for c in range(0, 11)}
    for page in doc.pages:
        by_class[page.top_class].append(_encode(page.text))
    return [
        _encode(doc.name),
        _encode(doc.citizen_id),
        _encode(id_tail(doc.citizen_id)),
        _encode(doc.archival_code),
        _encode(doc.enterprise_name),
        _encode("\n".join(m.title for m in doc.materials)),
    ] + [f" {PAGE_BREAK} ".join(by_class[c]) for c in range(0, 11)]


def _row(doc: DossierDocument) -> tuple[object, ...]:
    return (
        doc.dossier_id,
        doc.custodian_id,
        doc.archival_code,
        doc.enterprise_id,
        doc.status,
        doc.digitisation,
        int(doc.classified),
        doc.birth_date.isoformat(),
        doc.retirement_date.isoformat() if doc.retirement_date else None,
        sum(1 << c for c in doc.top_classes),
        doc.fingerprint(),
        zlib.compress(doc.to_json(), 1),
    )


_INSERT_DOSSIER = "INSERT OR REPLACE INTO dossier VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
_FTS_COLS = ", ".join(PARTICULARS + TEXT_COLUMNS)
_FTS_MARKS = ", ".join("?" * len(PARTICULARS + TEXT_COLUMNS))
_INSERT_TEXT = f"INSERT INTO dossier_text (rowid, {_FTS_COLS}) VALUES (?, {_FTS_MARKS})"
_DELETE_TEXT = f"INSERT INTO dossier_text (dossier_text, rowid, {_FTS_COLS}) VALUES ('delete', ?, {_FTS_MARKS})"


class EmbeddedSearchIndex:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.description = f"embedded index (SQLite FTS5) in {self.root}"
        self._local = threading.local()
        self.root.mkdir(parents=True, exist_ok=True)
        if not (self.root / "CURRENT").exists():
            self._publish(self._create_file())

    # -- files -----------------------------------------------------------------------------------

    def _current(self) -> Path:
        return self.root / (self.root / "CURRENT").read_text().strip()

    def _create_file(self) -> Path:
        path = self.root / f"index-{time.time_ns()}.sqlite"
        conn = sqlite3.connect(path)
        conn.executescript(SCHEMA)
        conn.execute("INSERT INTO meta VALUES ('analyzer', ?)", (ANALYZER_VERSION,))
        conn.execute("PRAGMA journal_mode=WAL")
        conn.commit()
        conn.close()
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

    def _conn(self) -> sqlite3.Connection:
        """This thread's connection to the live file; reopened when a rebuild has switched files."""
        path = self._current()
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None or self._local.path != path:
            if conn is not None:
                conn.close()
            conn = sqlite3.connect(path, timeout=60, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA synchronous=NORMAL")
            version = conn.execute("SELECT value FROM meta WHERE key = 'analyzer'").fetchone()[0]
            if version != ANALYZER_VERSION:
                raise SearchError(f"index built with analyzer {version}, this code has {ANALYZER_VERSION}: rebuild it")
            self._local.conn, self._local.path = conn, path
        return conn

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # -- writing ---------------------------------------------------------------------------------

    def upsert(self, documents: Sequence[DossierDocument]) -> None:
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            self._delete_text(conn, [d.dossier_id for d in documents])
            _insert(conn, documents)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def delete(self, dossier_ids: Sequence[int]) -> None:
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            self._delete_text(conn, dossier_ids)
            conn.executemany("DELETE FROM dossier WHERE id = ?", [(i,) for i in dossier_ids])
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    @staticmethod
    def _delete_text(conn: sqlite3.Connection, dossier_ids: Sequence[int]) -> None:
        # A contentless FTS5 row is removed by giving back exactly the values it was given.
        for start in range(0, len(dossier_ids), BATCH):
            ids = list(dossier_ids[start : start + BATCH])
            marks = ",".join("?" * len(ids))
            old = conn.execute(f"SELECT id, doc FROM dossier WHERE id IN ({marks})", ids).fetchall()
            conn.executemany(
                _DELETE_TEXT,
                [(i, *_columns(DossierDocument.from_json(zlib.decompress(blob)))) for i, blob in old],
            )

    def rebuild(self, documents: Iterable[DossierDocument], progress: Progress | None = None) -> int:
        path = self._create_file()
        conn = sqlite3.connect(path, isolation_level=None)
        # Nobody reads this file until it is published, and a crash leaves only an unused file.
        conn.execute("PRAGMA journal_mode=OFF")
        conn.execute("PRAGMA synchronous=OFF")
        count = 0
        try:
            batch: list[DossierDocument] = []
            for doc in documents:
                batch.append(doc)
                if len(batch) == BATCH:
                    count += _insert_batch(conn, batch)
                    batch = []
                    if progress:
                        progress(count, 0)
            count += _insert_batch(conn, batch)
            conn.execute("INSERT INTO dossier_text (dossier_text) VALUES ('optimize')")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.close()
            with open(path, "rb") as f:
                os.fsync(f.fileno())
        except BaseException:
            conn.close()
            path.unlink(missing_ok=True)
            raise
        old = self._current()
        self._publish(path)
        for stale in self.root.glob(f"{old.name}*"):
            stale.unlink(missing_ok=True)
        return count

    def optimize(self) -> None:
        """Merge the FTS segments into one (faster queries after many small updates)."""
        self._conn().execute("INSERT INTO dossier_text (dossier_text) VALUES ('optimize')")

    # -- reading ---------------------------------------------------------------------------------

    def fingerprints(self) -> dict[int, str]:
        return dict(self._conn().execute("SELECT id, fingerprint FROM dossier"))

    def search(self, query: SearchQuery) -> SearchResults:
        conn = self._conn()
        phrases = parse_query(query.text)
        where, params = _filters(query)
        text_classes = query.text_classes()
        if phrases:
            columns = searched_columns(text_classes)
            match = " AND ".join(f'{{{" ".join(columns)}}} : "{" ".join(p).translate(_KEEP)}"' for p in phrases)
            sql = (
                f"SELECT d.id, bm25(dossier_text, {', '.join(map(str, WEIGHTS))}), d.archival_code,"
                " d.enterprise_id, d.status, d.classes, d.digitisation"
                f" FROM dossier_text JOIN dossier d ON d.id = dossier_text.rowid WHERE dossier_text MATCH ? AND {where}"
            )
            rows = conn.execute(sql, [match, *params]).fetchall()
            rows.sort(key=lambda r: (r[1], r[2]))  # bm25: lower is better; then 档号
        else:
            sql = (
                "SELECT d.id, 0.0, d.archival_code, d.enterprise_id, d.status, d.classes, d.digitisation"
                f" FROM dossier d WHERE {where} ORDER BY d.archival_code"
            )
            rows = conn.execute(sql, params).fetchall()
        page = rows[query.offset : query.offset + query.limit]
        docs = _documents(conn, [r[0] for r in page])
        hits = [explain(docs[r[0]], -r[1], phrases, text_classes) for r in page]
        return SearchResults(total=len(rows), hits=hits, facets=_facets(rows))


def searched_columns(text_classes: frozenset[int] | None) -> tuple[str, ...]:
    """The columns a phrase may match: all, or, limited to some classes, their pages only
    (the catalogue titles name every class's materials, so they drop out too)."""
    if text_classes is None:
        return PARTICULARS + TEXT_COLUMNS
    return tuple(c for c in PARTICULARS if c != "titles") + tuple(f"t{c}" for c in sorted(text_classes))


def _insert(conn: sqlite3.Connection, documents: Sequence[DossierDocument]) -> None:
    conn.executemany(_INSERT_DOSSIER, [_row(d) for d in documents])
    conn.executemany(_INSERT_TEXT, [(d.dossier_id, *_columns(d)) for d in documents])


def _insert_batch(conn: sqlite3.Connection, documents: Sequence[DossierDocument]) -> int:
    if documents:
        conn.execute("BEGIN")
        _insert(conn, documents)
        conn.execute("COMMIT")
    return len(documents)


def _filters(query: SearchQuery) -> tuple[str, list[object]]:
    scope = query.scope
    where = ["d.custodian_id = ?"]
    params: list[object] = [scope.custodian_id]
    if scope.dossier_ids is not None:
        where.append(f"d.id IN ({','.join(str(int(i)) for i in scope.dossier_ids) or 'NULL'})")
    if scope.exclude_classified:
        where.append("d.classified = 0")
    for column, values in (("d.enterprise_id", query.enterprise_ids), ("d.status", query.statuses)):
        if values:
            where.append(f"{column} IN ({','.join('?' * len(values))})")
            params += sorted(values)
    if query.material_classes:
        where.append("(d.classes & ?) != 0")
        params.append(sum(1 << c for c in query.material_classes))
    for column, op, value in (
        ("d.birth_date", ">=", query.birth_from),
        ("d.birth_date", "<=", query.birth_to),
        ("d.retirement_date", ">=", query.retired_from),
        ("d.retirement_date", "<=", query.retired_to),
    ):
        if value is not None:
            where.append(f"{column} {op} ?")
            params.append(value.isoformat())
    return " AND ".join(where), params


def _facets(rows: list[tuple]) -> dict[str, dict[str, int]]:
    enterprise: Counter[str] = Counter()
    status: Counter[str] = Counter()
    digitisation: Counter[str] = Counter()
    classes: Counter[str] = Counter()
    for _id, _score, _code, enterprise_id, st, bits, dig in rows:
        enterprise[str(enterprise_id)] += 1
        status[st] += 1
        digitisation[dig] += 1
        for c in TOP_CLASSES:
            if bits >> c & 1:
                classes[str(c)] += 1
    return {
        "enterprise": dict(enterprise.most_common()),
        "status": dict(status.most_common()),
        "material_class": dict(sorted(classes.items(), key=lambda kv: int(kv[0]))),
        "digitisation": dict(digitisation.most_common()),
    }


def _documents(conn: sqlite3.Connection, ids: list[int]) -> dict[int, DossierDocument]:
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    rows = conn.execute(f"SELECT id, doc FROM dossier WHERE id IN ({marks})", ids)
    return {i: DossierDocument.from_json(zlib.decompress(blob)) for i, blob in rows}
