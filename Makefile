# Quick start: `make serve` (set-up + server) and `make test` (set-up + the whole suite).
VENV ?= .venv
PYTHON ?= python3
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed

.PHONY: install serve test bench-ingest clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# torch first, pinned (constraints.txt), so no install ever pulls the CUDA wheels.
$(STAMP): pyproject.toml constraints.txt | $(VENV)/bin/python
	$(PIP) install --quiet -c constraints.txt torch==2.13.0
	$(PIP) install --quiet -c constraints.txt -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

serve: install
	$(VENV)/bin/picsha serve

test: install
	$(VENV)/bin/pytest -q

bench-ingest: install
	$(VENV)/bin/python bench/ingest.py

clean:
	rm -rf $(VENV) .pytest_cache
