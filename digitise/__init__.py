"""Scanned pages to a checked, OCR-ed PDF/A with metadata. Knows nothing of the database.

`digitise/` is the pipeline (a library and the `digitise` command); `archive_service/digitisation/`
runs it for a dossier and records the result (objects, page-to-material links, findings). `chinese.py`
(library words in Chinese) and `terminal.py` (both command lines) serve both packages: they are here
because `digitise` stands alone and cannot import the service."""
