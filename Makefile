# The commands of README.md: `make run`, `make check` (before every commit) and `make test` (before you
# stop). Each sets up what is missing first.
.PHONY: bootstrap run check test bench lint

bootstrap:
	@scripts/bootstrap.sh

run: bootstrap
	.venv/bin/archive db upgrade
	.venv/bin/archive demo --if-empty --with-scans --in-background
	.venv/bin/archive serve

# Python keeps its compiled modules in __pycache__ (git ignores them) even where the environment says not to
# (PYTHONDONTWRITEBYTECODE, set on the python-svc VM): otherwise every test process, and every `archive` process a
# test starts, compiled the project again and pytest rewrote the test modules and its plugins' (hypothesis,
# schemathesis) each time — collecting the suite took 11.8 s of CPU, 5.4 s with the compiled modules kept.
check test: export PYTHONDONTWRITEBYTECODE =

# ruff, ruff format and mypy (tests/test_code_checks.py) and every test that needs no browser, broker, S3
# server, OCR run or server process of its own, on SQLite (the PostgreSQL variants run in `make test`): the
# markers tests/conftest.py sets.
check: bootstrap
	.venv/bin/pytest -q -n 2 -p no:cacheprovider -m "not (e2e or brokers or s3 or ocr or served or postgresql)"

test: bootstrap
	.venv/bin/pytest -q -n 2  # two workers: tests/conftest.py keeps the shared-server groups on one

bench: bootstrap
	@command -v gs >/dev/null && command -v wrk >/dev/null || (apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ghostscript wrk)
	.venv/bin/pip install -q -e '.[test,bench]'
	@for b in bench/*.py; do echo "== $$b"; .venv/bin/python $$b || exit 1; done

lint: bootstrap
	.venv/bin/ruff check archive_service digitise storage search tests bench
	.venv/bin/ruff format --check archive_service digitise storage search tests bench
	.venv/bin/mypy archive_service digitise storage search
