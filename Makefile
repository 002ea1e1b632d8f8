# The two set-up commands of the README:
#   make run    the example site on http://127.0.0.1:8000/ (SQLite), with a demo account
#   make test   lint, type-check and the whole test suite on SQLite, what the database can change
#               on PostgreSQL, then the other combinations of Python, Django and database
#               (noxfile.py)
# and the quick loop while working on the app:
#   make test-fast  tests/unit and tests/api on SQLite without the slow ones: no lint, no real
#               servers, no outside clients (about 30 s on 2 cores; it must stay under 3 minutes)
# Each creates .venv and installs what it needs on first use.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
STAMP := $(VENV)/.installed
# The interop tests' outside components: Debian's chromium (driven by Playwright for Python) and
# the pinned npm packages of the Node client test.
CHROMIUM := /usr/bin/chromium
NODE_DIR := tests/interop/node
NODE_STAMP := $(NODE_DIR)/node_modules/.package-lock.json
# The JavaScript client package (js/client): npm ci from its lockfile, then its TypeScript build,
# which the Node interop test (tests/interop/test_js_client.py) imports.
JS_CLIENT := js/client
JS_CLIENT_STAMP := $(JS_CLIENT)/node_modules/.package-lock.json
JS_CLIENT_BUILD := $(JS_CLIENT)/dist/index.js
JS_CLIENT_SOURCES := $(wildcard $(JS_CLIENT)/src/*.ts $(JS_CLIENT)/src/generated/*.ts) $(JS_CLIENT)/build-worker.mjs \
	$(JS_CLIENT)/tsconfig.json
# The example site's home page script (Uppy's Dashboard with the client's plugin), bundled from
# js/example-site into the site's static files (git-ignored).
EXAMPLE_JS := js/example-site
EXAMPLE_JS_STAMP := $(EXAMPLE_JS)/node_modules/.package-lock.json
EXAMPLE_JS_BUILD := example_site/static/example_site/build/uploader.js
# The second test run's database; pytest-django creates and drops test_<name> on it.
POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/test

.PHONY: run test test-fast lint schema bench clean interop-deps js-test

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP) $(EXAMPLE_JS_BUILD)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py ensure_demo_user
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Outside CI a machine without apt or node still runs the rest: those tests then skip, saying
# why. In CI (CI set) a failed install fails here, and the tests would fail rather than skip.
interop-deps: $(CHROMIUM) $(NODE_STAMP) $(JS_CLIENT_BUILD) $(EXAMPLE_JS_BUILD)

$(CHROMIUM):
	@if command -v apt-get >/dev/null && apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	then :; elif [ -n "$$CI" ]; then echo "could not install chromium" >&2; exit 1; \
	else echo "warning: chromium not installed; the browser tests will be skipped" >&2; fi

$(NODE_STAMP): $(NODE_DIR)/package.json $(NODE_DIR)/package-lock.json
	@if command -v npm >/dev/null && npm ci --prefix $(NODE_DIR) --no-audit --no-fund --loglevel=error; \
	then :; elif [ -n "$$CI" ]; then echo "could not install the npm packages" >&2; exit 1; \
	else echo "warning: npm packages not installed; the Apollo tests will be skipped" >&2; fi

$(JS_CLIENT_STAMP): $(JS_CLIENT)/package.json $(JS_CLIENT)/package-lock.json
	@if command -v npm >/dev/null && npm ci --prefix $(JS_CLIENT) --no-audit --no-fund --loglevel=error; \
	then :; elif [ -n "$$CI" ]; then echo "could not install the npm packages of $(JS_CLIENT)" >&2; exit 1; \
	else echo "warning: npm packages of $(JS_CLIENT) not installed; its tests will be skipped" >&2; fi

$(JS_CLIENT_BUILD): $(JS_CLIENT_STAMP) $(JS_CLIENT_SOURCES)
	@if [ -d $(JS_CLIENT)/node_modules ]; then npm run --prefix $(JS_CLIENT) --silent build; \
	elif [ -n "$$CI" ]; then echo "cannot build $(JS_CLIENT) without its npm packages" >&2; exit 1; fi

$(EXAMPLE_JS_STAMP): $(EXAMPLE_JS)/package.json $(EXAMPLE_JS)/package-lock.json | $(JS_CLIENT_STAMP)
	@if command -v npm >/dev/null && npm ci --prefix $(EXAMPLE_JS) --no-audit --no-fund --loglevel=error; \
	then :; elif [ -n "$$CI" ]; then echo "could not install the npm packages of $(EXAMPLE_JS)" >&2; exit 1; \
	else echo "warning: npm packages of $(EXAMPLE_JS) not installed; the home page has no uploader" >&2; fi

$(EXAMPLE_JS_BUILD): $(EXAMPLE_JS_STAMP) $(JS_CLIENT_BUILD) $(EXAMPLE_JS)/src/main.js $(EXAMPLE_JS)/build.mjs
	@if [ -d $(EXAMPLE_JS)/node_modules ]; then npm run --prefix $(EXAMPLE_JS) --silent build; \
	elif [ -n "$$CI" ]; then echo "cannot build $(EXAMPLE_JS) without its npm packages" >&2; exit 1; fi

# The package's unit tests (Vitest), its generated types checked against schema.graphql.
js-test: $(JS_CLIENT_BUILD)
	@if [ -d $(JS_CLIENT)/node_modules ]; then cd $(JS_CLIENT) && npx --no-install vitest run; \
	elif [ -n "$$CI" ]; then echo "cannot test $(JS_CLIENT) without its npm packages" >&2; exit 1; \
	else echo "warning: skipping the tests of $(JS_CLIENT)" >&2; fi

# Regenerate js/client's TypeScript types after changing schema.graphql (js-test checks them).
.PHONY: js-codegen
js-codegen: $(JS_CLIENT_STAMP)
	cd $(JS_CLIENT) && npx --no-install graphql-codegen --config codegen.ts

# The PostgreSQL run leaves out what the database cannot change, which the SQLite run has just
# passed: the outside clients (HTTP to gunicorn, as in noxfile.py) and the tests that start sites
# of their own (the benchmark, the release).
POSTGRES_MARKERS := not interop and not own_database

# pytest-xdist's processes per run: a test waiting on its servers leaves a core to the other
# process's test. PYTEST_WORKERS=0 runs in one process.
PYTEST_WORKERS ?= 2
export PYTEST_WORKERS

test: lint docs interop-deps js-test
	$(BIN)/pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)
	@status=0; $(BIN)/python -m tests.support.check_postgres "$(POSTGRES_URL)" || status=$$?; \
	if [ $$status -eq 0 ]; then DATABASE_URL="$(POSTGRES_URL)" \
	    $(BIN)/pytest -n $(PYTEST_WORKERS) -m "$(POSTGRES_MARKERS)" $(PYTEST_ARGS); \
	elif [ $$status -ne 75 ]; then exit $$status; fi
	$(MAKE) matrix

# The other combinations of Python (pyenv's 3.12 and 3.13 beside 3.11), Django and database,
# each in a virtualenv of its own under .nox/ (noxfile.py; NOX_ARGS="-s NAME" runs one).
# mysqlclient, MariaDB's driver, builds against Debian's libmariadb-dev.
MARIADB_HEADERS := /usr/include/mariadb/mysql.h

.PHONY: matrix
matrix: $(STAMP) $(MARIADB_HEADERS) interop-deps
	$(BIN)/nox $(NOX_ARGS)

$(MARIADB_HEADERS):
	@if command -v apt-get >/dev/null && apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libmariadb-dev pkg-config; \
	then :; elif [ -n "$$CI" ]; then echo "could not install libmariadb-dev" >&2; exit 1; \
	else echo "warning: libmariadb-dev not installed; the MariaDB sessions will fail" >&2; fi

# The documentation site (mkdocs.yml, docs/), built strictly: a broken link or anchor fails.
# Output in build/site (git-ignored); CI builds it as part of make test. The variable only
# silences Material's end-of-life notice.
.PHONY: docs
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir build/site

# The markers come from the test folders (tests/conftest.py); slow is set by hand on tests of more
# than a few seconds. PYTEST_ARGS=... adds options (e.g. -x, -k name, --durations=20).
FAST_MARKERS := not e2e and not interop and not slow

test-fast: $(STAMP)
	DATABASE_URL= $(BIN)/pytest -m "$(FAST_MARKERS)" $(PYTEST_ARGS)

# GraphiQL's scripts and styles, served from the app's static files so GraphiQL renders without
# internet access (js/graphiql/package.json pins them). The copies are committed; run this after
# changing the pins.
.PHONY: graphiql-assets
graphiql-assets:
	npm ci --prefix js/graphiql --no-audit --no-fund --loglevel=error
	node js/graphiql/copy-assets.mjs

# Regenerate the checked-in SDL after changing the schema (tests/api/test_schema.py checks it),
# then js/client's TypeScript types from it (js-test checks those), which a description's
# rewording alone changes.
schema: $(STAMP) $(JS_CLIENT_STAMP)
	$(BIN)/python manage.py graphql_schema --schema example_site.schema.schema --out schema.graphql
	cd $(JS_CLIENT) && npx --no-install graphql-codegen --config codegen.ts

# The benchmark against drf-chunked-upload 0.6.0 (bench/README.md): about 11 minutes on 2 cores.
# BENCH_ARGS=--quick: a smoke check of under a minute; BENCH_ARGS=--help: every option.
bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .nox db.sqlite3 media .pytest_cache .mypy_cache .ruff_cache test-artifacts \
		$(NODE_DIR)/node_modules $(JS_CLIENT)/node_modules $(JS_CLIENT)/dist \
		$(EXAMPLE_JS)/node_modules example_site/static/example_site/build

# Load: 50 concurrent uploads of 1-64 MiB through gunicorn with 4 workers, every stored file's
# checksum verified (bench/README.md). LOAD_ARGS=--help: every option.
.PHONY: load
load: $(STAMP)
	$(BIN)/python -m bench.load $(LOAD_ARGS)
