# Quick start: `make run` (build, test, publish, report on generated data or
# $XDR_PATH) and `make test` (linters + pytest). Both create .venv and install
# the pinned dependencies when needed.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint system-deps data bench bench-100m docs dashboard spark-cluster \
	spark-cluster-stop clean

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
## system-deps comes first: a missing Chromium stops the run at once.
test: system-deps $(STAMP) lint
	$(BIN)/python -m pytest

## Debian packages the tests need beyond Python: Chromium and its driver for the
## browser tests, Java 17 for Spark (pyspark 4). Installed when missing (as root
## or with passwordless sudo); otherwise the one command to run is printed.
SYSTEM_DEPS := chromium=chromium chromedriver=chromium-driver java=openjdk-17-jre-headless
system-deps:
	@bash scripts/system-deps.sh $(SYSTEM_DEPS)

lint: $(STAMP)
	$(BIN)/ruff check python tests models bench
	$(BIN)/ruff format --check python tests models bench
	$(BIN)/sqlfluff lint models tests/dbt analysis macros

## Generate the default 150k-record input (data/generated/xdr_150k.csv).
data: $(STAMP)
	$(BIN)/xdr generate --records 150000 --out data/generated/xdr_150k.csv

## Benchmark against the notebook approach (pandas + scikit-learn): 150k, 1M and 10M
## generated records (data/bench/, reused), then the incremental load on 10M records
## in 30 files (29 built, the 30th added, a re-run, a --full-refresh).
## Results: bench/results/latest.{md,json,png}.
## Each size is measured on the CSV and on its Parquet re-export (the same records),
## beside DuckDB's plain typed read of the same file (staging's reference).
## Other sizes: make bench BENCH_SIZES="150000 1000000" BENCH_INCREMENTAL=1000000
## One format: make bench BENCH_FORMATS=csv (auto = CSV unless the disk cannot hold
## it, then Parquet).
## Spark beside DuckDB on the same files (local[2], full builds; minutes per size):
## make bench BENCH_ENGINES="duckdb spark" BENCH_SIZES="1000000 10000000"
## Sizes up to 1M run BENCH_REPEAT times, warehouse and notebook alternating; the
## tables show the median run (this machine's speed varies from minute to minute).
BENCH_SIZES ?= 150000 1000000 10000000
BENCH_REPEAT ?= 3
BENCH_INCREMENTAL ?= 10000000
BENCH_FORMATS ?= csv parquet
BENCH_ENGINES ?= duckdb
bench: $(STAMP)
	$(BIN)/python bench/run_bench.py --sizes $(BENCH_SIZES) --formats $(BENCH_FORMATS) \
		--engines $(BENCH_ENGINES) --incremental $(BENCH_INCREMENTAL) --repeat $(BENCH_REPEAT)

## The 100M-record run: Parquet input when the disk cannot hold the 37 GB CSV
## (about 70 GB free in all), DuckDB memory_limit $(BENCH_100M_MEMORY), one dbt
## node at a time (XDR_DBT_THREADS=1, so no two large nodes hold memory at once).
## Results: bench/results/100m/.
BENCH_100M_MEMORY ?= 4GB
BENCH_100M_FORMATS ?= auto
bench-100m: $(STAMP)
	XDR_MEMORY_LIMIT=$(BENCH_100M_MEMORY) XDR_DBT_THREADS=1 $(BIN)/python bench/run_bench.py \
		--sizes 100000000 --formats $(BENCH_100M_FORMATS) --out-dir bench/results/100m

## The interactive dashboard (docs/dashboard.md) on http://127.0.0.1:8501: reads
## the published file read-only and follows new publishes; Ctrl+C stops it.
## Another port or file: XDR_DASHBOARD_PORT=8502 XDR_PUBLISHED_DB=other.duckdb make dashboard
dashboard: $(STAMP)
	$(BIN)/xdr dashboard

## A Spark standalone cluster on 127.0.0.1 that keeps running in the background:
## master spark://127.0.0.1:7077 (or the port of XDR_SPARK_MASTER), web UI
## http://127.0.0.1:8080 when free, two workers of 1 core and
## XDR_SPARK_EXECUTOR_MEMORY (2g) each; logs and pid files in warehouse/spark/cluster/.
## Use it with XDR_ENGINE=spark XDR_SPARK_MASTER=spark://127.0.0.1:7077;
## `xdr spark-cluster status` checks it.
spark-cluster: $(STAMP)
	$(BIN)/xdr spark-cluster start

## Stop that cluster (its executors too).
spark-cluster-stop: $(STAMP)
	$(BIN)/xdr spark-cluster stop

docs: $(STAMP)
	$(BIN)/dbt docs generate

clean:
	rm -rf target logs warehouse/*.duckdb warehouse/*.wal warehouse/tmp reports
