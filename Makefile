# The two commands a new user runs are `make run` and `make test` (see README.md).
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: setup test selftest bench

setup: $(VENV)/.installed

# pip (not uv or poetry) so that torch and torchvision come from the machine's local wheels.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $@

test: setup
	scripts/ensure-services
	$(PY) -m pytest -q

selftest: setup
	$(VENV)/bin/torchgrade selftest

bench: setup
	$(PY) bench/sandbox_overhead.py
