# Quickstart: `make run` serves the API on SQLite; `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test bench lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@ $(VENV)/.installed

run: $(VENV)/.installed
	$(BIN)/promo serve

test: $(VENV)/.dev-installed
	$(BIN)/pytest

bench: $(VENV)/.dev-installed
	for script in benchmarks/[!_]*.py; do $(BIN)/python $$script || exit 1; done

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/mypy domain application projections infrastructure interfaces benchmarks

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache
