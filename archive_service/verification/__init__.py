"""校对与复核: a person checks what the OCR read against the page image, and a second person confirms."""
