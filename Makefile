# Two commands do everything: `make run` and `make test`. Each bootstraps .venv itself
# and is fast when nothing changed (stamp files track pyproject.toml).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP_RUN := $(VENV)/.installed-run
STAMP_DEV := $(VENV)/.installed-dev
# Two workers: most tests wait on simulated streams and databases, so the suite runs in
# about 60% of the serial time on this 2-core machine. `make test PYTEST_ARGS=` runs serially.
PYTEST_ARGS ?= -n 2

.PHONY: run test bench lint browser-deps clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP_RUN): pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e .
	touch $@

$(STAMP_DEV): pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP_RUN) $@

# `make run PORT=8600`, `make run HOST=0.0.0.0` (exposes the dashboard and its sign-up).
HOST ?= 127.0.0.1
PORT ?= 8501

run: $(STAMP_RUN)
	$(VENV)/bin/planner db upgrade
	$(VENV)/bin/planner dashboard --host $(HOST) --port $(PORT)

browser-deps:
	@bash scripts/ensure-chromium

# The suite starts about 80 planner processes (CLI, workers, servers, kernels); with
# PYTHONDONTWRITEBYTECODE set (as on this machine) each compiled planner's modules again,
# about 0.1 s of CPU apiece, so they are compiled once first (only changed files).
test: $(STAMP_DEV) browser-deps lint
	$(PY) -m compileall -q planner
	$(PY) -m pytest $(PYTEST_ARGS)

bench: $(STAMP_DEV)
	$(PY) -m benchmarks

lint: $(STAMP_DEV)
	$(VENV)/bin/ruff check planner tests benchmarks app.py
	$(VENV)/bin/ruff format --check planner tests benchmarks app.py

clean:
	rm -rf $(VENV) .pytest_cache
