# The two Quickstart commands: `make demo` and `make test`. Both bootstrap what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FORGE := node_modules/.bin/forge
FORGE_PROFILE ?= default

.PHONY: demo test bootstrap build lint typecheck forge pytest clean ipfs

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

bootstrap: $(BIN)/.installed node_modules/.installed

# js-ipfs, a real /api/v0 daemon for the content tests; its own npm project keeps the root `npm ci` fast.
tools/ipfs/node_modules/.installed: tools/ipfs/package.json tools/ipfs/package-lock.json
	npm ci --prefix tools/ipfs --no-audit --no-fund --loglevel=error
	touch $@

ipfs: tools/ipfs/node_modules/.installed

build: bootstrap
	$(BIN)/neurolink build

lint: bootstrap
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: bootstrap
	$(BIN)/mypy

forge: build
	FOUNDRY_PROFILE=$(FORGE_PROFILE) $(FORGE) test

pytest: build ipfs
	$(BIN)/pytest

test: lint typecheck forge pytest

demo: build
	$(BIN)/python scripts/demo.py

clean:
	rm -rf build .pytest_cache .mypy_cache .ruff_cache
