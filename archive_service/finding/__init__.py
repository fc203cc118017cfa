"""Finding dossiers (检索): the search index kept in step with the database, and searching it.

The index itself is `search/` (a port with embedded and Elasticsearch adapters); this domain
decides what is indexed (`documents`), keeps the index following every change through an outbox
written in the changing transaction (`outbox`, `worker`), and who may find what (`service`).
"""
