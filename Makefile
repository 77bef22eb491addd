# Two commands do everything (see README):
#   make run   — set up, load the demo data into SQLite, start the platform on :8000
#   make test  — set up, make sure PostgreSQL is up, run the whole test suite on both databases
# Every step is idempotent: a second run only does what is missing.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | sha1sum | cut -c1-12)

.PHONY: setup run test lint bench bench-quick demo clean system-deps

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q -r requirements.lock
	$(BIN)/pip install --disable-pip-version-check -q --no-deps -e .
	@rm -f $(VENV)/.installed-* && touch $@

system-deps:
	@bash scripts/system-deps.sh

# Front-end packages (ECharts) from the npm registry, as the lock file pins them.
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

setup: system-deps $(STAMP) node_modules/.package-lock.json

demo: setup
	$(BIN)/xinyong db upgrade
	$(BIN)/xinyong demo

run: demo
	$(BIN)/xinyong serve

test: setup
	@bash scripts/ensure-postgres.sh
	$(BIN)/ruff check xinyong tests benchmarks
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

lint: setup
	$(BIN)/ruff check xinyong tests benchmarks

# Full size (1M subjects / 20M records, generated once into var/bench and database xinyong_bench;
# ~15 min the first time, ~30 GB of disk). `make bench-quick` runs small sizes in minutes.
bench: setup
	@bash scripts/ensure-postgres.sh
	@dpkg -s wrk >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/python -m benchmarks.run_all

bench-quick: setup
	@bash scripts/ensure-postgres.sh
	@dpkg -s wrk >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/python -m benchmarks.run_all --quick

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
