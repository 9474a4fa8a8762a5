# Two commands do everything on a fresh clone: `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-slow lint bench docs docs-check clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/provledger demo

# One worker per core (pytest-xdist); every test has its own ledger home, so they can run
# side by side.
test: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow" -n auto

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow

lint: $(STAMP)
	$(BIN)/ruff check ledger cli tests bench docs sample_datasets
	$(BIN)/ruff format --check ledger cli tests bench docs sample_datasets
	$(BIN)/mypy

docs-check: $(STAMP)
	$(BIN)/python docs/build_tour.py --check
	$(BIN)/python docs/cli_reference.py --check

docs: $(STAMP)
	$(BIN)/python docs/cli_reference.py
	$(BIN)/python docs/build_tour.py

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
