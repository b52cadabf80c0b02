# hotelcore — every target bootstraps what it needs (a .venv on first use, the embedded
# PostgreSQL 18 unless DATABASE_URL is set, the migrations).

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
HC     := $(VENV)/bin/hotelcore
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml tools/pyproject.toml | cksum | cut -d' ' -f1)

.DEFAULT_GOAL := help
.PHONY: help demo test bench lint db psql migrate revision docs clean serve

help: ## this list
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-9s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml tools/pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "hotelcore needs Python 3.11+")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	@# the runtime, and its tools (demo, bench, dataset, simulated vendor) for development and tests
	@$(PY) -m pip install -q --disable-pip-version-check -e '.[dev,tools]' -e ./tools
	@rm -f $(VENV)/.installed-*; touch $@

demo: $(STAMP) ## the main job: start the database, migrate, run the demo
	$(HC) demo $(DEMO_ARGS)

# The whole suite runs on one pytest-xdist worker per core (tests/conftest.py groups the tests that
# must not overlap); a targeted run (PYTEST_ARGS set) on one process unless PYTEST_WORKERS says so.
PYTEST_WORKERS ?= $(if $(PYTEST_ARGS),0,auto)

test: $(STAMP) ## the test suite against a real PostgreSQL (embedded, or DATABASE_URL)
	@$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadgroup $(PYTEST_ARGS); rc=$$?; \
	 if [ $$rc -eq 5 ]; then echo "pytest collected no test: failing on purpose"; exit 1; fi; exit $$rc

bench: $(STAMP) ## benchmarks with baselines (BENCH_ARGS=--quick for a short run)
	$(HC) bench $(BENCH_ARGS)

serve: $(STAMP) ## the HTTP API
	$(HC) serve

lint: $(STAMP) ## ruff on Python, sqlfluff on SQL, migrations check (released revisions too), squawk on every revision's DDL
	$(VENV)/bin/ruff check pyapi tools tests migrations
	$(VENV)/bin/ruff format --check pyapi tools tests migrations
	$(VENV)/bin/sqlfluff lint db --dialect postgres --processes 2
	$(HC) migrations check
	$(HC) migrations lint

db: $(STAMP) ## start the database and print its URL
	@$(HC) db start

psql: $(STAMP) ## open psql on the database
	@$(HC) psql

migrate: $(STAMP) ## upgrade the database to the head revision
	$(HC) migrate

revision: $(STAMP) ## write a revision for new db/schema files: make revision m="what changed"
	$(HC) migrations new -m "$(m)"

docs: $(STAMP) ## regenerate README's SQL API tables from the database
	$(HC) docs

clean: ## stop the embedded server, remove its data and the virtualenv
	-@test -x $(HC) && $(HC) db stop
	rm -rf .hotelcore $(VENV) .pytest_cache .ruff_cache .hypothesis *.egg-info tools/*.egg-info demo-report.html
