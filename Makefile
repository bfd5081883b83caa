# The two commands README opens with: `make demo` and `make test`. Both set themselves up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Two stamps, each named by the checksum of the files it installs from: the runtime set, all that
# make demo needs (requirements.txt), and the test and lint tools on top of it (make test, lint,
# bench: requirements-dev.txt).
RUNTIME_STAMP := $(VENV)/.installed-runtime-$(shell cat requirements.txt constraints.txt | cksum | cut -d' ' -f1)
DEV_STAMP := $(VENV)/.installed-dev-$(shell cat requirements.txt requirements-dev.txt constraints.txt | cksum | cut -d' ' -f1)
# The local space page's browser parts (package.json, pinned by package-lock.json), served from here.
NODE_STAMP := node_modules/.installed-$(shell cat package.json package-lock.json | cksum | cut -d' ' -f1)

.PHONY: demo test test-fast lint bench venv clean

$(RUNTIME_STAMP): requirements.txt constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt -c constraints.txt
	@rm -f $(VENV)/.installed-runtime-* && touch $@

# requirements-dev.txt includes requirements.txt: this adds the tools to the runtime set.
$(DEV_STAMP): $(RUNTIME_STAMP) requirements-dev.txt
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	@rm -f $(VENV)/.installed-dev-* && touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@rm -f node_modules/.installed-* && touch $@

venv: $(DEV_STAMP) $(NODE_STAMP)

## make demo: the emulator and the bot under gunicorn, webhooks registered; Ctrl-C stops both.
## make demo CONNECT=1: the bot starts with no admin token; connect the emulated org through the
## Integration's consent page (the link it prints), as a Full Administrator would.
demo: $(RUNTIME_STAMP) $(NODE_STAMP)
	$(BIN)/python scripts/demo.py $(if $(CONNECT),--connect)

## make test: the whole suite
test: $(DEV_STAMP) $(NODE_STAMP)
	$(BIN)/pytest

## make test-fast: unit tests and the in-process integration tests, on SQLite, without those that
## wait through the watcher's windows (the PostgreSQL and slow cases run in make test, or alone with
## .venv/bin/pytest -m postgres, -m slow). In 4 processes (pytest-xdist): the tests mostly wait
## (HTTP round trips, Webex's backoff), so more processes than cores pay.
test-fast: $(DEV_STAMP)
	$(BIN)/pytest -n 4 tests/unit tests/integration -m "not postgres and not slow"

## make lint: ruff (style, bugs, imports), mypy (types) and import-linter (the layers), as CI runs them
lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

## make bench: the benchmark against the emulator and the bot under gunicorn; writes bench/REPORT.md
bench: $(DEV_STAMP)
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) node_modules instance .pytest_cache .hypothesis test-artifacts
