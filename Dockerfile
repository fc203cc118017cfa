# One image for the web application (and, with the job system, its workers).
FROM python:3.11-slim-bookworm
# The same Debian packages as `make run` (scripts/debian-packages.txt, read by scripts/bootstrap.sh too).
COPY scripts/debian-packages.txt /tmp/debian-packages.txt
RUN apt-get update \
 && apt-get install -y --no-install-recommends $(sed 's/#.*//' /tmp/debian-packages.txt) \
 && rm -rf /var/lib/apt/lists/* /tmp/debian-packages.txt
WORKDIR /app
COPY pyproject.toml README.md requirements.lock ./
# The tested versions, hash-checked (requirements.lock); then the project without resolving again.
RUN pip install --no-cache-dir --require-hashes -r requirements.lock
COPY archive_service archive_service
COPY digitise digitise
COPY storage storage
COPY search search
RUN pip install --no-cache-dir --no-deps .
# Times are stored in UTC and shown in the bureau's zone (ARCHIVE_TIME_ZONE); TZ makes logs agree.
ENV ARCHIVE_VAR_DIR=/var/lib/archive ARCHIVE_HOST=0.0.0.0 ARCHIVE_PORT=8000 TZ=Asia/Shanghai
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
CMD ["archive", "serve"]
