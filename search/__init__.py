"""Search index port and adapters (embedded, Elasticsearch)."""
