# The two Quickstart commands: `make demo` and `make test`. Both bootstrap what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FORGE := node_modules/.bin/forge
FORGE_PROFILE ?= default

.PHONY: demo test bootstrap build lint typecheck forge pytest clean ipfs slither

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

# Static analysis in its own venv (slither-analyzer needs web3<8); settings in slither.config.json,
# findings and their triage in docs/PROTOCOL.md. Fails on high-severity findings.
SLITHER_VENV := .venv-slither
$(SLITHER_VENV)/.installed:
	test -x $(SLITHER_VENV)/bin/python || $(PYTHON) -m venv $(SLITHER_VENV)
	$(SLITHER_VENV)/bin/pip install --quiet --disable-pip-version-check slither-analyzer==0.11.6
	touch $@

slither: build $(SLITHER_VENV)/.installed
	for c in JobMarket Staking NeuroToken; do \
		PATH=$(CURDIR)/node_modules/.bin:$$PATH $(SLITHER_VENV)/bin/slither contracts/$$c.sol \
			--config-file slither.config.json --fail-high || exit 1; \
	done

clean:
	rm -rf build .pytest_cache .mypy_cache .ruff_cache
