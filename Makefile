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

## The tests, three times in a row, each while two more processes keep the CPUs busy
## (bench/load.py; BUSY=N for more): a test that waits for time instead of a state fails here.
## Stops at the first failing run.
.PHONY: test-under-load
BUSY ?= 2
test-under-load: $(INSTALLED)
	bash tests/system-deps.sh
	for run in 1 2 3; do \
		echo "test-under-load: run $$run of 3"; \
		$(BIN)/python -m bench.load --busy $(BUSY) -- $(BIN)/python -m pytest $(PYTEST_ARGS) \
			|| exit 1; \
	done
