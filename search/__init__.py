"""Search index port and adapters: embedded (Tantivy, in the data directory; the default) and Elasticsearch.

`search/` is the index and knows nothing of the database; `archive_service/finding/` decides what is
indexed, keeps the index in step with the database and who may find what."""

from search.embedded import EmbeddedSearchIndex
from search.port import (
    DocumentsIndexed,
    DossierDocument,
    Hit,
    MaterialEntry,
    PageHit,
    PageText,
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
    "DocumentsIndexed",
    "Scope",
    "SearchError",
    "SearchIndex",
    "SearchQuery",
    "SearchResults",
]
