# Two commands on a fresh machine: `make demo` and `make test`. Both create .venv and are idempotent.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.installed-bench

.PHONY: demo test lint typecheck unit system-deps bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev,cluster]'
	touch $(STAMP)

$(BENCH_STAMP): $(STAMP)
	$(BIN)/pip install -q -e '.[dev,cluster,bench]'
	touch $(BENCH_STAMP)

demo: $(STAMP)
	$(BIN)/perfeng demo

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy src

unit: $(STAMP)
	$(BIN)/pytest tests/unit -q

# Two phases: the tests that mostly wait run on two processes; the diagnoses that judge the
# machine's load run alone afterwards (tests/conftest.py, ALONE).
test: lint typecheck
	$(BIN)/pytest -q -n 2 -m "not alone" --durations=15
	$(BIN)/pytest -q -m alone --durations=10

# Debian programs the integration tests and benchmarks start: nginx and wrk (anchors), openssl
# (TLS certificates), chromium (the HTML report is checked in a real headless browser),
# postgresql (the history store's tests start a real server from its initdb and pg_ctl),
# prometheus (promtool checks and unit-tests the SLO rules; the monitoring tests start a real
# Prometheus on loopback with a temporary TSDB), jmeter and hey (perfeng import reads what
# they write after a short real run).
system-deps:
	@if command -v nginx >/dev/null && command -v wrk >/dev/null && command -v openssl >/dev/null \
		&& command -v chromium >/dev/null && ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 \
		&& command -v prometheus >/dev/null && command -v promtool >/dev/null \
		&& command -v jmeter >/dev/null && command -v hey >/dev/null \
		&& command -v valgrind >/dev/null; then \
		echo "system-deps: nginx, wrk, openssl, chromium, postgresql, prometheus, jmeter, hey and valgrind already installed"; \
	else \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			nginx-light wrk openssl chromium postgresql prometheus jmeter hey valgrind; \
	fi

bench: $(BENCH_STAMP) system-deps
	$(BIN)/python benchmarks/engine_vs_wrk.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
