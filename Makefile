# The two Quickstart commands: `make demo` and `make test`. Both bootstrap what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FORGE := node_modules/.bin/forge
FORGE_PROFILE ?= default

.PHONY: demo test bootstrap sandbox-tool browser-tool build lint typecheck forge fuzz pytest clean ipfs slither brownie brownie-env

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The job sandbox (bubblewrap) comes from the system's packages: installed when we are root,
# else a warning (devnets run jobs unsandboxed; `node run` refuses public chains without it).
sandbox-tool:
	@command -v bwrap >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null; \
		else echo "warning: bubblewrap missing; install it (sudo apt-get install bubblewrap) to sandbox jobs" >&2; fi; }

# The explorer's browser tests drive Debian's Chromium through Playwright (its own browser download
# needs the internet): installed when we are root, else a warning.
browser-tool:
	@test -x /usr/bin/chromium || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
		else echo "warning: chromium missing; install it (sudo apt-get install chromium) for the browser tests" >&2; fi; }

bootstrap: $(BIN)/.installed node_modules/.installed sandbox-tool browser-tool

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
	$(BIN)/lint-imports

typecheck: bootstrap
	$(BIN)/mypy

forge: build
	FOUNDRY_PROFILE=$(FORGE_PROFILE) $(FORGE) test

# The deep fuzzing profile (>= 100,000 handler calls per invariant); minutes, so not part of `make test`.
fuzz: build
	FOUNDRY_PROFILE=deep $(FORGE) test

pytest: build ipfs
	$(BIN)/pytest

test: lint typecheck forge pytest

# `make demo DEMO_ARGS=--hold` keeps the devnet (and its explorer) up until Enter.
demo: build
	$(BIN)/python scripts/demo.py $(DEMO_ARGS)

# Brownie pins web3 7 and ~80 exact versions, so it gets its own venv; its compiler is the
# project's solc-js shim, found by py-solc-x as $(SOLCX_BINARY_PATH)/solc-v0.8.37. HOME is
# redirected so brownie's network list and keystores stay inside .venv-brownie.
BROWNIE_VENV := .venv-brownie
BROWNIE_ENV := HOME=$(CURDIR)/$(BROWNIE_VENV)/home SOLCX_BINARY_PATH=$(CURDIR)/$(BROWNIE_VENV)/solcx

$(BROWNIE_VENV)/.installed: requirements/brownie.txt
	test -x $(BROWNIE_VENV)/bin/python || $(PYTHON) -m venv $(BROWNIE_VENV)
	$(BROWNIE_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements/brownie.txt
	mkdir -p $(BROWNIE_VENV)/solcx $(BROWNIE_VENV)/home build/brownie
	printf '#!/bin/sh\nexec "%s" "$$@"\n' "$(CURDIR)/neurolink/compiler/solc" > $(BROWNIE_VENV)/solcx/solc-v0.8.37
	chmod +x $(BROWNIE_VENV)/solcx/solc-v0.8.37
	touch $@

# Then: env $$(make -s brownie-env) .venv-brownie/bin/brownie run scripts/brownie_deploy.py --network <id>
brownie: $(BROWNIE_VENV)/.installed node_modules/.installed
	mkdir -p build/brownie
	env $(BROWNIE_ENV) $(BROWNIE_VENV)/bin/brownie compile

brownie-env:
	@echo $(BROWNIE_ENV)

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
