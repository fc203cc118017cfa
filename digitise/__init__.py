"""Scanned pages to a checked, OCR-ed PDF/A with metadata. Knows nothing of the database."""
