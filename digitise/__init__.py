"""Scanned pages to a checked, OCR-ed PDF/A with metadata. Knows nothing of the database.

`digitise/` is the pipeline (a library and the `digitise` command); `archive_service/digitisation/`
runs it for a dossier and records the result (objects, page-to-material links, findings). `chinese.py`
serves both packages' command lines and the service's validation messages: it is here because
`digitise` stands alone and cannot import the service."""
