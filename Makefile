# The two set-up commands of the README:
#   make run    the example site on http://127.0.0.1:8000/ (SQLite), with a demo account
#   make test   lint, type-check and the whole test suite, on SQLite and then on PostgreSQL
# Each creates .venv and installs what it needs on first use.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
STAMP := $(VENV)/.installed
# The second test run's database; pytest-django creates and drops test_<name> on it.
POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/test

.PHONY: run test lint schema bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py ensure_demo_user
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/pytest
	@status=0; $(BIN)/python -m tests.check_postgres "$(POSTGRES_URL)" || status=$$?; \
	if [ $$status -eq 0 ]; then DATABASE_URL="$(POSTGRES_URL)" $(BIN)/pytest; \
	elif [ $$status -ne 75 ]; then exit $$status; fi

# Regenerate the checked-in SDL after changing the schema (tests/test_schema.py checks it).
schema: $(STAMP)
	$(BIN)/python manage.py graphql_schema --schema example_site.schema.schema --out schema.graphql

# The benchmark against drf-chunked-upload 0.6.0 (bench/README.md): about 11 minutes on 2 cores.
# BENCH_ARGS=--quick: a smoke check of under a minute; BENCH_ARGS=--help: every option.
bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) db.sqlite3 media .pytest_cache .mypy_cache .ruff_cache
