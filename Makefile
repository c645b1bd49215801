# borderwatch: `make demo` and `make test` work from a fresh clone.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PYTEST_ARGS ?=
# Test processes: the integration and chaos tests mostly wait on workers and brokers, so two share
# a 2-core machine well (PYTEST_WORKERS=0: one process, as pytest runs alone).
PYTEST_WORKERS ?= 2
EVAL_ARGS ?=
SOAK_ARGS ?=

.PHONY: install sysdeps demo test test-unit bench soak eval model clean help

help:
	@echo "make demo    - embedded broker + worker + replay of the bundled Central Asia data"
	@echo "make test    - the whole suite (unit, integration on the embedded broker, e2e)"
	@echo "make bench   - throughput benchmarks, printed as JSON"
	@echo "make soak    - one worker at 200 events/s for 10 minutes: RSS, consumer lag, counts as JSON (SOAK_ARGS=--help)"
	@echo "make eval    - every detector on the labelled episodes; writes the table into docs/DETECTION.md"
	@echo "make model   - retrain the packaged hazard model on the bundled development borders"
	@echo "make install - just the virtualenv"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e ".[test]"
	@touch $(STAMP)

install: $(STAMP)

# Debian packages the tests drive for real (promtool, amtool, ...). Installs as root, else says what is missing.
sysdeps:
	@bash scripts/install-system-deps.sh

demo: install
	$(BIN)/python -m streams.demo

test: install sysdeps
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

test-unit: install
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) tests/unit $(PYTEST_ARGS)

bench: install
	$(BIN)/python -m bench.run

# Not part of `make test`: ten minutes at a sustained rate; exits 1 if RSS or lag fails its criterion.
soak: install
	$(BIN)/python -m bench.soak $(SOAK_ARGS)

# Every registered detector against the reference rules on labelled history and synthetic scenarios.
eval: install
	$(BIN)/python -m streams.eval_table $(EVAL_ARGS)

# The hazard model that ships with the package: trained on the bundled development borders only.
MODEL_DATA := streams/data/mie-1.0-dev-borders.csv
MODEL_LABELS := streams/data/escalations-mie-dev-borders.csv
model: install
	$(BIN)/borderwatch train --input $(MODEL_DATA) --format mie --labels $(MODEL_LABELS) --out streams/data/hazard-model.json

clean:
	rm -rf $(VENV) .pytest_cache .borderwatch .demo
