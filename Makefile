# Two commands do all the set-up: `make demo` and `make test` (each creates .venv when missing).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/pip install -c constraints.txt

.PHONY: setup demo test test-fast tour-check lint format bench clean

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
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/pytest

# Everything but the tests that run experiments, start processes or train for seconds (the
# `slow` ones, tests/conftest.py): a minute, for the edit-test loop. CI runs `make test`.
test-fast: setup
	$(BIN)/ruff check src tests bench
	$(BIN)/pytest -m "not slow" -p no:cacheprovider

# The whole tour, then every showcase's claims (the lessons its figures show) checked against
# its metrics; exit 1 when one does not hold. CI runs it after `make test`.
tour-check: setup
	$(BIN)/dllab tour --quick --quiet --check --out "$$(mktemp -d)/tour"

lint: setup
	$(BIN)/ruff check src tests bench

format: setup
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

bench: setup
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) runs .pytest_cache
