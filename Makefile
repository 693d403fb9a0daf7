# skybench: `make help` lists the targets. `make test` and `make bench` set everything up on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON_SYSTEM ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
RUST_SOURCES := $(shell find native/src -name '*.rs') native/Cargo.toml native/Cargo.lock sky_rs.pyi
BENCH_ARGS ?=
# Every core (the tests that share a scratch build or the telemetry stack stay on one worker: tests/conftest.py);
# PYTEST_ARGS="-n 0" runs the suite serially.
PYTEST_ARGS ?= -n auto --dist loadgroup

.PHONY: help
help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

# --- set-up -------------------------------------------------------------------------------------------
# build-deps is order-only: it runs every time (a quick check) but never by itself forces a reinstall.
$(VENV)/.deps: pyproject.toml | build-deps
	$(PYTHON_SYSTEM) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q 'maturin>=1.9,<2'
	$(PIP) install -q --no-build-isolation -e '.[dev]'
	touch $@ $(VENV)/.ext

# The extension is rebuilt (release profile) whenever a Rust source changes.
$(VENV)/.ext: $(VENV)/.deps $(RUST_SOURCES)
	$(PIP) install -q --no-build-isolation --no-deps -e .
	touch $@

.PHONY: venv
venv: $(VENV)/.ext ## Create .venv, install the Python packages and build sky_rs (idempotent)

.PHONY: build-deps
build-deps: ## Install the Debian packages the Rust build needs (libssl-dev, pkg-config; idempotent)
	bash scripts/install-build-deps.sh

.PHONY: telemetry-deps
telemetry-deps: ## Install Prometheus, the Pushgateway and collectd from Debian's packages (idempotent)
	bash scripts/install-telemetry-deps.sh

.PHONY: test-deps
test-deps: ## Install strace, headless Chromium, stress-ng and valgrind from Debian's packages for the tests (idempotent)
	bash scripts/install-test-deps.sh

# --- checks -------------------------------------------------------------------------------------------
.PHONY: test
test: venv telemetry-deps test-deps lint rust-test ## Everything CI checks: lint, cargo test, the pytest suites
	$(PY) -m pytest $(PYTEST_ARGS)

.PHONY: rust-test
rust-test: ## cargo test of the pure Rust logic (no Python needed)
	cd native && cargo test --quiet --no-default-features

.PHONY: lint
lint: venv ## rustfmt, clippy, ruff (lint and format), mypy, import layers, size limits, zizmor (and actionlint if installed) on the workflows
	cd native && cargo fmt --check
	cd native && cargo clippy --quiet --all-targets --no-default-features -- -D warnings
	cd native && cargo clippy --quiet --all-targets --features python -- -D warnings
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	$(PY) -m scripts.check_code_size
	$(VENV)/bin/zizmor --offline --persona pedantic .github/workflows
	@if command -v actionlint >/dev/null; then actionlint; \
	else echo "actionlint not installed (no Debian or installable PyPI package here): skipped"; fi

.PHONY: fmt
fmt: venv ## Format Rust and Python sources in place
	cd native && cargo fmt
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# --- benchmarks ---------------------------------------------------------------------------------------
.PHONY: bench
bench: venv ## Time every Rust/Python pair; writes reports/runs/<id>/ and reports/latest
	$(PY) -m harness bench $(BENCH_ARGS)

.PHONY: bench-quick
bench-quick: venv ## A short bench (fewer rounds, small workloads only)
	$(PY) -m harness bench --quick $(BENCH_ARGS)

.PHONY: bench-full
bench-full: venv ## The long bench, with the 1 GB/1 GiB workloads
	$(PY) -m harness bench --full $(BENCH_ARGS)

.PHONY: criterion
criterion: ## Criterion benches of the Rust functions without Python
	cd native && cargo bench --no-default-features --bench functions

.PHONY: baseline
baseline: venv ## Run the bench and record it as this machine's baseline under reports/baselines/
	$(PY) -m harness baseline $(BENCH_ARGS)

.PHONY: gate
gate: venv ## Regression gate: this tree against REF (default: parent commit), interleaved
	$(PY) -m harness gate $(GATE_ARGS)

.PHONY: calibrate
calibrate: venv ## A/A runs: the noise floor and smallest detectable slowdown per pair on this machine
	$(PY) -m harness calibrate $(CALIBRATE_ARGS)

.PHONY: experiment
experiment: venv ## The gate's proof: A/A false alarms and detection of injected slowdowns (hours; EXPERIMENT_ARGS)
	$(PY) -m harness experiment $(EXPERIMENT_ARGS)

# --- telemetry ----------------------------------------------------------------------------------------
.PHONY: telemetry-up
telemetry-up: telemetry-deps ## Start Prometheus, the Pushgateway and collectd on 127.0.0.1
	bash scripts/telemetry.sh up

.PHONY: telemetry-down
telemetry-down: ## Stop what telemetry-up started
	bash scripts/telemetry.sh down

.PHONY: clean
clean: ## Remove the venv, build outputs and scratch data (keeps committed baselines)
	rm -rf $(VENV) native/target .skybench reports/runs reports/latest .mypy_cache .ruff_cache .pytest_cache
