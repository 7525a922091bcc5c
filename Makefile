# The commands the README and CI use. `make demo` and `make test` set everything up themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test test-fast lint typecheck bench lab clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "okta-alerts needs Python >= 3.11 (found $$($(PYTHON) --version))"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m ipykernel install --sys-prefix --name okta-alerts --display-name "okta-alerts" >/dev/null
	touch $(STAMP)

demo: install
	$(BIN)/okta-alerts demo

test: install
	$(BIN)/ruff check okta_alerts receiver tests bench notebooks
	$(BIN)/ruff format --check okta_alerts receiver tests bench notebooks
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest

# The inner loop: no notebook kernels, no server processes, no fuzzing (under a minute).
test-fast: install
	$(BIN)/pytest -m "not slow and not fuzz" -q

lint: install
	$(BIN)/ruff check okta_alerts receiver tests bench notebooks
	$(BIN)/ruff format --check okta_alerts receiver tests bench notebooks

typecheck: install
	$(BIN)/mypy

bench: install
	$(BIN)/python -m bench

# Kernels start in notebooks/, so the data dir (or config file) is passed as an absolute path.
lab: install
	@if [ -z "$$OKTA_ALERTS_CONFIG" ] && [ -f okta-alerts.toml ]; then \
		export OKTA_ALERTS_CONFIG="$(CURDIR)/okta-alerts.toml"; \
	elif [ -z "$$OKTA_ALERTS_DATA_DIR" ]; then \
		export OKTA_ALERTS_DATA_DIR="$(CURDIR)/data"; \
	fi; \
	exec $(BIN)/jupyter lab --ServerApp.ip=127.0.0.1 --ServerApp.root_dir="$(CURDIR)" \
		--LabApp.default_url=/lab/tree/notebooks $$([ "$$(id -u)" = 0 ] && echo --allow-root)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
