# The two commands of the README: `make run` (the app with demo data on the embedded
# default) and `make test` (lint, then the whole suite on PostgreSQL and Redis, then the
# money story of tests/embedded on the embedded default, SQLite and the in-memory channel
# layer, as `make run` uses them). Both create the virtualenv and install the project
# first when needed.

PYTHON ?= $(shell command -v python3.12 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/marketplace
TEST_REDIS_URL ?= redis://127.0.0.1:6379/0

NPM ?= npm
SPECTRAL := node_modules/.bin/spectral

.PHONY: install run test lint format constraints bench audit bank

install: $(VENV)/.installed

# constraints.txt pins every package to the versions the suite last passed with, so a
# fresh machine installs what CI tested; refresh it with `make constraints`.
$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 12), "Python 3.12 is required"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,bench]'
	touch $@

constraints: install
	$(BIN)/python -m pip freeze --exclude-editable > constraints.txt

# --ws-max-size: uvicorn refuses a websocket frame over 64 KiB (close 1009) before reading
# it; the same number as settings.WEBSOCKET_MAX_FRAME_BYTES (tests/security checks it).
run: install
	DEBUG=1 $(BIN)/python manage.py migrate --noinput
	DEBUG=1 $(BIN)/python manage.py seed_demo
	@echo "Serving on http://$(HOST):$(PORT)/  (admin: http://$(HOST):$(PORT)/admin/)"
	DEBUG=1 $(BIN)/python manage.py auto_release --loop --interval 60 & scheduler=$$!; \
	DEBUG=1 $(BIN)/python manage.py db_worker --interval 1 --no-reload & worker=$$!; \
	trap 'kill $$scheduler $$worker 2>/dev/null' EXIT INT TERM; \
	DEBUG=1 $(BIN)/uvicorn marketplace.asgi:application --host $(HOST) --port $(PORT) --lifespan off \
		--ws-max-size 65536

# Spectral, pinned in package.json and package-lock.json, installed exactly as locked:
# again whenever either file is newer than the last install (npm ci starts from an empty
# node_modules). No install scripts: Spectral needs none.
node_modules/.installed: package.json package-lock.json
	$(NPM) ci --ignore-scripts --no-audit --no-fund
	touch $@

# Ruff, then the OpenAPI schema (/api/schema/) under Spectral's `spectral:oas` rules
# (.spectral.yaml), where a warning fails as an error does. The schema is generated
# without a database: DEBUG=1 needs no SECRET_KEY, and --skip-checks opens no connection.
lint: install node_modules/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	DEBUG=1 $(BIN)/python manage.py spectacular --skip-checks --file "$$tmp/schema.yaml" && \
	$(SPECTRAL) lint --ruleset .spectral.yaml --fail-severity=warn "$$tmp/schema.yaml"

# Two pytest runs, both always run; the target fails if either does. The first is the
# suite on PostgreSQL and Redis. The second (`--embedded`, which conftest.py allows only
# for the tests marked `embedded`) runs tests/embedded with DATABASE_URL and REDIS_URL
# unset and DEBUG=1, exactly the embedded default of `make run`, on a throwaway SQLite
# path (the test database itself is in memory).
test: lint
	status=0; \
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-$(TEST_REDIS_URL)} \
	SECRET_KEY=test-only-secret DEBUG=0 SECURE_SSL_REDIRECT=0 PAYMENTS_SANDBOX=1 \
	$(BIN)/pytest $(PYTEST_ARGS) || status=1; \
	echo "--- the money story on the embedded default (SQLite, in-memory channel layer)"; \
	tmp=$$(mktemp -d) && \
	env -u DATABASE_URL -u REDIS_URL SQLITE_PATH=$$tmp/db.sqlite3 DEBUG=1 PAYMENTS_SANDBOX=1 \
	$(BIN)/pytest --embedded tests/embedded $(EMBEDDED_PYTEST_ARGS) || status=1; \
	rm -rf "$$tmp"; \
	exit $$status

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Known vulnerabilities of every package installed in .venv (pip-audit against PyPI's
# advisory data; AUDIT_ARGS="-s osv" asks OSV instead). --strict fails when a package
# could not be checked, so "No known vulnerabilities found" means each one was.
audit: install
	$(BIN)/pip-audit --strict --local --skip-editable --progress-spinner off $(AUDIT_ARGS)

# The benchmark suite, apart from the tests (bench/README.md says how to read its table):
# it makes its own bench_* databases on the PostgreSQL of BENCH_POSTGRES (default
# postgres://postgres@127.0.0.1:5432) and uses Redis db 12 (BENCH_REDIS_URL), needs
# pgbench, and takes about ten minutes on 2 cores. BENCH_QUICK=1 for a faster pass,
# BENCH_ARGS="--only http" (services, http, realtime, data) for some sections.
bench: install
	$(BIN)/python -m bench $(BENCH_ARGS)

# The bank test under faults, the long version (tests/bank/run.py; a short one runs in
# the suite): BANK_WORKERS workers (default 8) run a random mix of money and group calls
# through the services and the HTTP API for BANK_SECONDS (default 300) while a worker is
# SIGKILLed, backends are terminated and PostgreSQL and Redis restart, then every call is
# checked against the ledger. It starts its own PostgreSQL cluster (port 55432, as user
# postgres when run as root) and Redis (port 6390); BANK_ARGS adds options (--help).
bank: install
	$(BIN)/python -m tests.bank.run $(BANK_ARGS)
