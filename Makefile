# The two commands a new user runs are `make run` and `make test` (see README.md).
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: setup test selftest bench run

setup: $(VENV)/.installed web/static/vendor/htmx.min.js

# The web pages' front-end packages: npm ci from web/package-lock.json, copied to web/static/vendor.
web/static/vendor/htmx.min.js: web/package-lock.json scripts/vendor-web
	scripts/vendor-web

# pip (not uv or poetry) so that torch and torchvision come from the machine's local wheels.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $@

# Migrate the SQLite database under var/, create the demo course (instructor, TA and student, new
# logins and tokens printed), then serve the API with an embedded worker on http://127.0.0.1:8000.
run: setup
	$(VENV)/bin/torchgrade migrate
	$(VENV)/bin/torchgrade demo
	$(VENV)/bin/torchgrade serve --host 127.0.0.1 --port 8000

test: setup
	scripts/ensure-services
	scripts/ensure-browser
	scripts/ensure-compose
	$(PY) -m pytest -q

selftest: setup
	$(VENV)/bin/torchgrade selftest

bench: setup
	$(PY) bench/sandbox_overhead.py
