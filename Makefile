# Photo Factory task runner. `make help` lists the targets.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: help install test test-e2e test-unit test-integration test-acceptance test-adversity bench run lint stop-pg

help:
	@echo "make install   - .venv/ with the photo-factory CLI and every extra"
	@echo "make test      - the whole test suite (starts a private PostgreSQL if needed)"
	@echo "make bench     - the benchmarks (ours next to a baseline, with the ratio)"
	@echo "make run       - the whole pipeline on this machine, no Docker (Ctrl-C stops it)"
	@echo "make lint      - ruff and mypy"

$(BIN)/photo-factory: pyproject.toml requirements.lock
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.lock
	$(BIN)/pip install -q --no-deps -e .
	@touch $@

install: $(BIN)/photo-factory

test: install
	$(BIN)/python -m pytest

test-unit: install
	$(BIN)/python -m pytest tests/unit

test-integration: install
	$(BIN)/python -m pytest tests/integration

test-acceptance: install
	$(BIN)/python -m pytest tests/acceptance

test-e2e: install
	PF_E2E=1 $(BIN)/python -m pytest tests/e2e -n 0

test-adversity: install
	$(BIN)/python -m pytest tests/adversity

bench: install
	$(BIN)/python -m bench

run: install
	$(BIN)/python -m photo_factory.devrun

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy photo_factory librarian processor dashboard service-monitor/service_monitor

stop-pg:
	$(BIN)/python -c "import tempfile, pathlib; from photo_factory import localpg; localpg.stop_cluster(pathlib.Path(tempfile.gettempdir()) / 'photo-factory-test-pg'); localpg.stop_cluster(pathlib.Path('var/pg'))"
