# osasis-bench: the two commands a newcomer needs are `make repro` and `make test`.
SHELL := /bin/bash
VENV := .venv
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export HF_HUB_OFFLINE := 1
export DVC_NO_ANALYTICS := 1
export OSASIS_BENCH_PROGRESS ?= 0
PROFILE ?= smoke

.PHONY: setup repro test test-fast lint profile clean-results

setup:  ## create .venv with the pinned CPU stack and install the project
	scripts/setup_env.sh

repro: setup  ## run the whole pipeline (smoke profile by default; PROFILE=paper for the paper profile)
	osasis-bench use-profile $(PROFILE)
	dvc repro

test: setup  ## the full test suite (what CI runs)
	python -m pytest -q -n 2 --dist loadscope --no-loadscope-reorder

test-fast: setup  ## skip the slow and pipeline tests
	python -m pytest -q -n 2 --dist loadscope --no-loadscope-reorder -m "not slow and not pipeline"

lint:
	ruff check benchmark osasis baselines tests scripts
