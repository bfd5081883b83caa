# The two commands README opens with: `make demo` and `make test`. Both set themselves up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt constraints.txt | cksum | cut -d' ' -f1)

.PHONY: demo test venv clean

$(STAMP): requirements.txt requirements-dev.txt constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	@rm -f $(VENV)/.installed-* && touch $@

venv: $(STAMP)

## make demo: the emulator and the bot under gunicorn, webhooks registered; Ctrl-C stops both
demo: $(STAMP)
	$(BIN)/python scripts/demo.py

## make test: the whole suite
test: $(STAMP)
	$(BIN)/pytest

clean:
	rm -rf $(VENV) instance .pytest_cache .hypothesis test-artifacts
