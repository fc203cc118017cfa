# One image for the web application (and, with the job system, its workers).
FROM python:3.11-slim-bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends tesseract-ocr tesseract-ocr-chi-sim tesseract-ocr-eng \
      fonts-noto-cjk poppler-utils \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY archive_service archive_service
COPY digitise digitise
COPY storage storage
COPY search search
RUN pip install --no-cache-dir .
ENV ARCHIVE_VAR_DIR=/var/lib/archive ARCHIVE_HOST=0.0.0.0 ARCHIVE_PORT=8000
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
CMD ["archive", "serve"]
