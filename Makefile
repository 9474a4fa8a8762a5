# Two commands do everything on a fresh clone: `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-slow test-go-reference lint typecheck bench docs docs-check clean

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

# The slow tests include Spark in local mode: the `spark` extra is installed for them only.
test-slow: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,spark]'
	$(BIN)/python -m pytest -q -m slow

# Go's reference code for signed notes and tiles (golang.org/x/mod/sumdb) checks what
# provledger publishes; tests/test_go_reference.py is skipped where it is not installed.
test-go-reference: $(STAMP)
	command -v go >/dev/null && test -d /usr/share/gocode/src/golang.org/x/mod/sumdb \
		|| apt-get install -y -q golang-go golang-golang-x-mod-dev
	$(BIN)/python -m pytest -q tests/test_go_reference.py

lint: $(STAMP)
	$(BIN)/ruff check ledger cli tests bench docs sample_datasets
	$(BIN)/ruff format --check ledger cli tests bench docs sample_datasets
	$(MAKE) --no-print-directory typecheck

# mypy needs the import package `provledger` as folders: a tree of links in .typecheck/.
typecheck: $(STAMP)
	rm -rf .typecheck && mkdir -p .typecheck/provledger
	cp -as $(CURDIR)/ledger/. .typecheck/provledger/
	cp -as $(CURDIR)/cli .typecheck/provledger/cli
	cd .typecheck && ../$(BIN)/mypy --config-file ../pyproject.toml --cache-dir ../.mypy_cache

docs-check: $(STAMP)
	$(BIN)/python docs/build_tour.py --check
	$(BIN)/python docs/cli_reference.py --check

docs: $(STAMP)
	$(BIN)/python docs/cli_reference.py
	$(BIN)/python docs/build_tour.py

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .typecheck
