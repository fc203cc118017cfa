"""Digitising a dossier: runs the `digitise/` pipeline for it and records the result (the use copy and
master objects, page-to-material links, QC findings). `digitise/` itself knows nothing of the database."""
