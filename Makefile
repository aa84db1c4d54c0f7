# Two commands do all the set-up: `make demo` and `make test` (each creates .venv when missing).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/pip install -c constraints.txt

.PHONY: setup demo test test-fast tour-check lint format bench notebooks lab clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) --upgrade pip
	$(PIP) torch==2.13.0
	$(PIP) -e ".[dev]"
	touch $@

demo: setup
	$(BIN)/dllab tour --quick

test: setup
	$(BIN)/ruff check src tests bench notebooks
	$(BIN)/ruff format --check src tests bench notebooks
	$(BIN)/pytest

# Everything but the tests that run experiments, start processes or train for seconds (the
# `slow` ones, tests/conftest.py): a minute, for the edit-test loop. CI runs `make test`.
test-fast: setup
	$(BIN)/ruff check src tests bench notebooks
	$(BIN)/pytest -m "not slow" -p no:cacheprovider

# The whole tour, then every showcase's claims (the lessons its figures show) checked against
# its metrics; exit 1 when one does not hold. CI runs it after `make test`.
tour-check: setup
	$(BIN)/dllab tour --quick --quiet --check --out "$$(mktemp -d)/tour"

lint: setup
	$(BIN)/ruff check src tests bench notebooks

format: setup
	$(BIN)/ruff format src tests bench notebooks
	$(BIN)/ruff check --fix src tests bench notebooks

bench: setup
	$(BIN)/python -m bench

# notebooks/*.py (jupytext percent format) are the sources: this refreshes their exercise cells
# from the registry and writes each .ipynb, without outputs (a test checks they are current).
notebooks: setup
	$(BIN)/python notebooks/build.py

# JupyterLab on the notebooks, from .venv with the `notebooks` extra (as root too: a container).
lab: $(VENV)/.notebooks
	cd notebooks && ../$(BIN)/jupyter lab $$([ "$$(id -u)" = 0 ] && echo --allow-root)

$(VENV)/.notebooks: $(VENV)/.installed
	$(PIP) -e ".[dev,notebooks]"
	touch $@

clean:
	rm -rf $(VENV) runs .pytest_cache
