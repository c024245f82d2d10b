# Quick start: `make run` (build, test, publish, report on generated data or
# $XDR_PATH) and `make test` (linters + pytest). Both create .venv and install
# the pinned dependencies when needed.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint data bench bench-100m docs clean

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

## The main job: generate the default data if XDR_PATH is unset, dbt build, publish, report.
run: $(STAMP)
	$(BIN)/xdr run

## Linters and the whole test suite (pytest runs dbt builds on generated data).
test: $(STAMP) lint
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check python tests models bench
	$(BIN)/ruff format --check python tests models bench
	$(BIN)/sqlfluff lint models tests/dbt analysis macros

## Generate the default 150k-record input (data/generated/xdr_150k.csv).
data: $(STAMP)
	$(BIN)/xdr generate --records 150000 --out data/generated/xdr_150k.csv

docs: $(STAMP)
	$(BIN)/dbt docs generate

clean:
	rm -rf target logs warehouse/*.duckdb warehouse/*.wal warehouse/tmp reports
