# The two commands README opens with: `make demo` and `make test`. Both set themselves up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt constraints.txt | cksum | cut -d' ' -f1)
# The local space page's browser parts (package.json, pinned by package-lock.json), served from here.
NODE_STAMP := node_modules/.installed-$(shell cat package.json package-lock.json | cksum | cut -d' ' -f1)

.PHONY: demo test test-fast lint bench venv clean

$(STAMP): requirements.txt requirements-dev.txt constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	@rm -f $(VENV)/.installed-* && touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@rm -f node_modules/.installed-* && touch $@

venv: $(STAMP) $(NODE_STAMP)

## make demo: the emulator and the bot under gunicorn, webhooks registered; Ctrl-C stops both
demo: $(STAMP) $(NODE_STAMP)
	$(BIN)/python scripts/demo.py

## make test: the whole suite
test: $(STAMP) $(NODE_STAMP)
	$(BIN)/pytest

## make test-fast: unit tests and the in-process integration tests, on SQLite (the PostgreSQL cases
## run in make test, or alone with .venv/bin/pytest -m postgres). In 4 processes (pytest-xdist):
## the tests mostly wait (HTTP round trips, Webex's backoff), so more processes than cores pay.
test-fast: $(STAMP)
	$(BIN)/pytest -n 4 tests/unit tests/integration -m "not postgres"

## make lint: ruff (style, bugs, imports), mypy (types) and import-linter (the layers), as CI runs them
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

## make bench: the benchmark against the emulator and the bot under gunicorn; writes bench/REPORT.md
bench: $(STAMP)
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) node_modules instance .pytest_cache .hypothesis test-artifacts
