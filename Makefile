# The few commands everyone runs; the README shows the same ones.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: run test lint screenshots

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(INSTALLED)

## Run triage on what this machine reaches (or on ./triage.yaml, $$TRIAGE_CONFIG, --config).
run: $(INSTALLED)
	$(BIN)/triage $(ARGS)

## Lint, type-check, then every test, against private servers started by the fixtures.
test: $(INSTALLED)
	bash tests/system-deps.sh
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(INSTALLED)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## Regenerate the SVGs in screenshots/ from a private Redis in a known state.
screenshots: $(INSTALLED)
	$(BIN)/python -m screenshots.make
