# Two commands on a fresh machine: `make run` (Nurture with demo data on
# http://localhost:5000) and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# `make test PYTEST_ARGS='-m "not browser"'` narrows a run (CI splits the heavy tiers).
PYTEST_ARGS ?=

.PHONY: run test lint bench clean screenshots

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/nurture init
	$(VENV)/bin/nurture demo
	$(VENV)/bin/nurture run

test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy
	$(PY) -m pytest $(PYTEST_ARGS)

# Every console page photographed into var/screenshots/, each checked to draw its charts.
screenshots: $(STAMP)
	$(PY) -m pytest -q tests/browser/test_screenshots.py

bench: $(STAMP)
	$(VENV)/bin/nurture bench engine

clean:
	rm -rf var .pytest_cache
