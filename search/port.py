"""The search index port: what the application may ask of any index of dossiers.

A document is one dossier: the retiree's particulars, the catalogue, and the OCR text of every
page with the material it belongs to. The index is a copy the application can always rebuild from
its database, so it holds no fact that is not there too.

Visibility is part of every query (`Scope`), not a filter the caller applies afterwards: a
dossier another bureau holds, or a classified one a requester asks about, is never counted,
faceted or returned.
"""

import hashlib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol, runtime_checkable

import orjson

ISO_PARTIAL = re.compile(r"\d{4}(?:-\d{2}(?:-\d{2})?)?")
TOP_CLASSES = range(1, 11)  # 第一类 … 第十类; 0 holds pages outside any material (covers, blanks)
PAGE_SIZE_MAX = 100
DocumentsIndexed = Callable[[int, int], None]  # (documents indexed so far, 0: the total is not known)


class SearchError(Exception):
    """The index could not do what was asked; the message says why."""


@dataclass(frozen=True)
class PageText:
    number: int  # 1-based page of the digitised copy
    text: str
    material: str | None = None  # 序号 of the material the page belongs to, e.g. 4-1-2
    top_class: int = 0  # its class 1 … 10; 0 when the page belongs to no material
    # Every date the page writes, however written (1978年9月, 一九七八年九月, 1978.09, 78.9 after a label):
    # (start, end, ISO date partial as written), read by the application. A date search finds them all.
    dates: tuple[tuple[int, int, str], ...] = ()


@dataclass(frozen=True)
class MaterialEntry:
    sequence: str
    top_class: int
    title: str


@dataclass(frozen=True)
class DossierDocument:
    dossier_id: int
    archival_code: str
    name: str
    citizen_id: str
    birth_date: date
    retirement_date: date | None
    enterprise_id: int
    enterprise_name: str
    custodian_id: int
    status: str
    digitisation: str
    classified: bool
    materials: tuple[MaterialEntry, ...] = ()
    pages: tuple[PageText, ...] = ()
    # 参加工作时间 as the file has it: the archivist's confirmed value, else the register's and the pages'.
    work_start_dates: tuple[str, ...] = ()
    former_archival_code: str = ""  # 原档号: the code an earlier ledger gave the file, when it was renumbered

    @property
    def top_classes(self) -> list[int]:
        return sorted({m.top_class for m in self.materials})

    def to_json(self) -> bytes:
        return orjson.dumps(self)  # orjson writes dataclasses and dates itself, far faster than asdict

    @classmethod
    def from_json(cls, data: bytes | str) -> "DossierDocument":
        d = orjson.loads(data)
        d["birth_date"] = date.fromisoformat(d["birth_date"])
        d["retirement_date"] = date.fromisoformat(d["retirement_date"]) if d["retirement_date"] else None
        d["materials"] = tuple(MaterialEntry(**m) for m in d["materials"])
        d["pages"] = tuple(PageText(**{**p, "dates": tuple(tuple(x) for x in p["dates"])}) for p in d["pages"])
        d["work_start_dates"] = tuple(d["work_start_dates"])
        return cls(**d)

    def fingerprint(self) -> str:
        """What `verify` compares: any change to what is indexed changes it."""
        return fingerprint_of(self.to_json())


def fingerprint_of(document_json: bytes) -> str:
    return hashlib.sha256(document_json).hexdigest()[:16]  # 64 bits: ample to tell a changed document


@dataclass(frozen=True)
class Scope:
    """Which dossiers a user may find. Built by the application's one visibility rule.

    Bureau staff find what their bureau holds; a requester finds only the dossiers granted to
    them, and matches text only in the material classes granted for each.
    """

    custodian_id: int | None = None
    grants: Mapping[int, frozenset[int]] | None = None  # dossier id → granted classes 1 … 10
    exclude_classified: bool = False  # requesters never see 涉密 dossiers

    def __post_init__(self) -> None:
        if (self.custodian_id is None) == (self.grants is None):
            raise SearchError("a scope is either a bureau's holdings or a requester's grants")


@dataclass(frozen=True)
class SearchQuery:
    scope: Scope
    text: str = ""
    enterprise_ids: frozenset[int] = frozenset()
    statuses: frozenset[str] = frozenset()
    material_classes: frozenset[int] = frozenset()  # dossiers holding materials of any of them
    birth_from: date | None = None
    birth_to: date | None = None
    retired_from: date | None = None
    retired_to: date | None = None
    # Dates asked for (ISO, partial: 1978, 1978-09, 1978-09-01): each must be written on a page of the
    # dossier or be one of its particulars' dates; a partial date finds every fuller one within it.
    dates: tuple[str, ...] = ()
    work_start_from: date | None = None  # 参加工作时间 (document's work_start_dates): any of them in range
    work_start_to: date | None = None
    offset: int = 0
    limit: int = 20

    def __post_init__(self) -> None:
        if self.offset < 0:
            raise SearchError("offset must be 0 or more")
        if not 1 <= self.limit <= PAGE_SIZE_MAX:
            raise SearchError(f"limit must be 1 … {PAGE_SIZE_MAX}")
        if bad := [c for c in self.material_classes if c not in TOP_CLASSES]:
            raise SearchError(f"material class must be 1 … 10, not {bad[0]}")
        if bad_dates := [d for d in self.dates if not ISO_PARTIAL.fullmatch(d)]:
            raise SearchError(f"a date is asked for as 1978, 1978-09 or 1978-09-01, not {bad_dates[0]}")


@dataclass(frozen=True)
class PageHit:
    number: int
    material: str | None
    top_class: int
    snippet: str  # HTML: escaped text with <mark>…</mark> around what matched


@dataclass(frozen=True)
class Hit:
    dossier_id: int
    score: float
    fields: tuple[str, ...]  # particulars that matched: name, citizen_id, archival_code, enterprise, titles …
    pages: tuple[PageHit, ...]  # matching pages, first few
    page_count: int  # how many pages matched in all


@dataclass
class SearchResults:
    total: int
    hits: list[Hit]
    facets: dict[str, dict[str, int]] = field(default_factory=dict)  # enterprise, status, material_class …


@runtime_checkable
class SearchIndex(Protocol):
    description: str

    def upsert(self, documents: Sequence[DossierDocument]) -> None:
        """Add or replace dossiers; visible to searches once it returns."""
        ...

    def delete(self, dossier_ids: Sequence[int]) -> None: ...

    def search(self, query: SearchQuery) -> SearchResults: ...

    def fingerprints(self) -> dict[int, str]:
        """Every indexed dossier's fingerprint, for `verify`."""
        ...

    def rebuild(self, documents: Iterable[DossierDocument], progress: DocumentsIndexed | None = None) -> int:
        """Build a fresh index from `documents` beside the live one, then switch to it atomically."""
        ...

    def close(self) -> None: ...
