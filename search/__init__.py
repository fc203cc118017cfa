"""Search index port and adapters: embedded (SQLite FTS5, the default) and Elasticsearch."""

from search.embedded import EmbeddedSearchIndex
from search.port import (
    DossierDocument,
    Hit,
    MaterialEntry,
    PageHit,
    PageText,
    Progress,
    Scope,
    SearchError,
    SearchIndex,
    SearchQuery,
    SearchResults,
)

__all__ = [
    "DossierDocument",
    "EmbeddedSearchIndex",
    "Hit",
    "MaterialEntry",
    "PageHit",
    "PageText",
    "Progress",
    "Scope",
    "SearchError",
    "SearchIndex",
    "SearchQuery",
    "SearchResults",
]
