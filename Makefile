# mblnn — the two commands of the README:
#   make run    set up (once) and run the default local campaign
#   make test   set up (once) and run the test suite
# `make setup` is idempotent: it does nothing when .venv is up to date with pyproject.toml.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.mblnn-installed
CORES ?= 2
PYTEST_ARGS ?=

.PHONY: setup run test bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,workflow]'
	touch $(STAMP)

run: setup
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/snakemake --profile profiles/local --cores $(CORES)

test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: setup
	$(BIN)/python bench/ed.py

clean:
	rm -rf $(VENV) .snakemake .pytest_cache
