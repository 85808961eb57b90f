# The few commands everyone runs; the README shows the same ones.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: run test lint screenshots install uninstall guides

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(INSTALLED)

## Run triage on what this machine reaches (or on ./triage.yaml, $$TRIAGE_CONFIG, --config).
run: $(INSTALLED)
	$(BIN)/triage $(ARGS)

## Lint, type-check, then every test, against private servers started by the fixtures.
test: guides $(INSTALLED)
	bash tests/system-deps.sh
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m pytest $(PYTEST_ARGS)

GUIDES := ../shared/guides
BINDIR ?= $(HOME)/.local/bin

## The five troubleshooting guides the runbook library was made from, beside this checkout:
## tests/unit/test_library_coverage.py and tests/unit/test_importer.py read them.
guides:
	@count=$$(ls $(GUIDES)/*.txt 2>/dev/null | wc -l); if [ "$$count" -ne 5 ]; then \
		echo "make: the tests need the five troubleshooting guides the runbook library was made from in $(GUIDES)/, beside this checkout (found $$count): test_library_coverage.py checks their symptom sections map to runbooks, test_importer.py measures triage import on them" >&2; \
		exit 1; \
	fi

## Put `triage` on PATH for this user: a link in $(BINDIR) to this checkout's .venv/bin/triage
## (nothing copied or downloaded; moving the checkout breaks it: install again).
install: $(INSTALLED)
	@mkdir -p "$(BINDIR)"
	@if { [ -e "$(BINDIR)/triage" ] || [ -L "$(BINDIR)/triage" ]; } && \
	    [ "$$(readlink "$(BINDIR)/triage")" != "$(CURDIR)/$(BIN)/triage" ]; then \
		echo "make: $(BINDIR)/triage is there already and is not this checkout's; remove it, or pick another folder with BINDIR=DIR" >&2; \
		exit 1; \
	fi
	ln -sfn "$(CURDIR)/$(BIN)/triage" "$(BINDIR)/triage"
	@case ":$$PATH:" in \
		*":$(BINDIR):"*) echo "make: triage is on PATH ($(BINDIR)/triage)" ;; \
		*) echo "make: $(BINDIR) is not on PATH; add this line to ~/.profile, then log in again: export PATH=\"$(BINDIR):\$$PATH\"" ;; \
	esac

## Take away the link `make install` made, if it is this checkout's.
uninstall:
	@if [ "$$(readlink "$(BINDIR)/triage")" = "$(CURDIR)/$(BIN)/triage" ]; then \
		rm "$(BINDIR)/triage" && echo "make: removed $(BINDIR)/triage"; \
	elif [ -e "$(BINDIR)/triage" ] || [ -L "$(BINDIR)/triage" ]; then \
		echo "make: $(BINDIR)/triage is not a link to this checkout's triage; left as it is"; \
	else \
		echo "make: nothing to take away: there is no $(BINDIR)/triage"; \
	fi

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

.PHONY: mutation
## Mutation testing of the core modules against the unit tests; prints each module's score.
mutation: $(INSTALLED)
	rm -rf mutants
	$(BIN)/mutmut run --max-children 2
	$(BIN)/python -m tests.mutation
