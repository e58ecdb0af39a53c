# Omnihub: `make run` serves the demo, `make test` runs the whole suite. Both set up .venv themselves.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HASH   := $(shell cat pyproject.toml | cksum | cut -d' ' -f1)
RUN_STAMP  := $(VENV)/.run-$(HASH)
DEV_STAMP  := $(VENV)/.dev-$(HASH)
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test test-sqlite test-postgres lint bench bench-smoke system-deps services clean help

help:
	@echo "make run    - install, migrate, seed the demo once and serve http://$(HOST):$(PORT)"
	@echo "make test   - install dev tools and run the suite on SQLite, then on PostgreSQL + Redis"
	@echo "make lint   - ruff, import contracts"
	@echo "make bench  - run the benchmarks and rewrite bench/RESULTS.md"

$(BIN)/python:
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	@touch $@

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	@touch $@ $(RUN_STAMP)

run: $(RUN_STAMP)
	@$(BIN)/omnihub migrate
	@$(BIN)/omnihub demo
	@echo ""
	@echo "  Omnihub demo:  http://$(HOST):$(PORT)"
	@echo "  Log in as      admin@example.com / omnihub-demo   (or sam@example.com / omnihub-demo)"
	@echo ""
	@# Webhook URLs shown to admins follow HOST/PORT unless OMNIHUB_PUBLIC_URL is set (environment or .env).
	@if [ -z "$$OMNIHUB_PUBLIC_URL" ] && ! grep -qs '^OMNIHUB_PUBLIC_URL=' .env; then \
		export OMNIHUB_PUBLIC_URL=http://$(HOST):$(PORT); fi; \
	$(BIN)/omnihub serve --host $(HOST) --port $(PORT)

system-deps:
	@scripts/system-deps.sh

services:
	@scripts/ensure-services.sh

test: $(DEV_STAMP) system-deps services
	@$(MAKE) --no-print-directory lint
	@$(MAKE) --no-print-directory test-sqlite
	@$(MAKE) --no-print-directory test-postgres

test-sqlite: $(DEV_STAMP)
	@echo "== suite on SQLite (embedded default) =="
	$(BIN)/python -m pytest -q -p no:cacheprovider

test-postgres: $(DEV_STAMP)
	@if scripts/ensure-services.sh --check; then \
		echo "== suite on PostgreSQL + Redis =="; \
		OMNIHUB_TEST_BACKEND=postgres $(BIN)/python -m pytest -q -p no:cacheprovider; \
	else \
		echo "== PostgreSQL + Redis pass SKIPPED: servers not reachable (see above) =="; \
	fi

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports

bench: $(DEV_STAMP) system-deps services
	$(BIN)/python -m bench.run --save var/bench-rounds

bench-smoke: $(DEV_STAMP)
	$(BIN)/python -m bench.run --smoke

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
