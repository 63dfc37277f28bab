# The two commands of the README: `make book` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.casekit-installed
# The whole suite and nbval run on another floating-point path than this CPU's own:
# oneDNN's matmul capped one instruction-set level lower (AVX-512 -> AVX2, AVX2 -> AVX; see
# casekit.testing.regression.perturbation), so a tolerance that holds only on one CPU fails here
# first; tests/test_perturbation.py checks that the cap changes trained weights.
# `make portable` takes a second path that `make test` never does (two levels lower, one
# intra-op thread). Tests that need the CPU's own path set it themselves.
PERTURBED = $(shell $(BIN)/python -m casekit.testing.regression)
PORTABLE = $(shell $(BIN)/python -m casekit.testing.regression --portable)
PYTEST := $(BIN)/python -m pytest
# casekit.testing.nbval_plugin collects the chapters as nbval items that compare shown estimates
# statistically and decisions by their fragility (casekit.testing.regression); everything else
# nbval compares exactly.
NBVAL_ARGS := -p casekit.testing.nbval_plugin --casekit-nbval --nbval-current-env \
         --nbval-sanitize-with tests/nbval_sanitize.cfg -p no:cacheprovider chapters

.PHONY: book test lint unit slow suite nbval portable html browser browser-deps bench chapters lock clean

# Create or update the virtual environment whenever the locked dependencies change: the
# exact, hash-checked environment of requirements.lock, then casekit itself (editable).
$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

## book: execute every chapter (default profile) with papermill, then render the HTML book
book: $(STAMP)
	$(BIN)/casekit run
	$(BIN)/casekit build --executed

## test: lint and types first (seconds), every test under tests/ (fast and slow, one pytest
## session), nbval on every stored chapter, the book build with warnings as errors, then the
## rendered book in headless Chromium
test: lint suite nbval html browser

lint: $(STAMP)
	$(BIN)/ruff check src tests scripts
	$(BIN)/ruff format --check src tests scripts
	$(BIN)/mypy

## unit: the fast tests (under 2 minutes on 2 cores); slow: those that train or start processes
unit: $(STAMP)
	env $(PERTURBED) $(PYTEST) -m "not slow" --ignore=tests/browser

slow: $(STAMP)
	env $(PERTURBED) $(PYTEST) -m slow --ignore=tests/browser

suite: $(STAMP)
	env $(PERTURBED) $(PYTEST) --durations=15 --ignore=tests/browser

nbval: $(STAMP)
	env $(PERTURBED) $(PYTEST) --durations=15 $(NBVAL_ARGS)

## portable: the suite and nbval on a second perturbed float path, one `make test` never
## takes (run it to check portability on demand; not part of `make test`)
portable: $(STAMP)
	env $(PORTABLE) $(PYTEST) --ignore=tests/browser
	env $(PORTABLE) $(PYTEST) $(NBVAL_ARGS)

html: $(STAMP)
	$(BIN)/casekit build

browser: $(STAMP) browser-deps
	$(BIN)/python -m pytest tests/browser

# Debian's chromium and chromium-driver (root, or sudo, is needed to install them).
browser-deps:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get install -y -q chromium chromium-driver || \
	  { $$SUDO apt-get update -q && $$SUDO apt-get install -y -q chromium chromium-driver; }; \
	fi

## bench: plain model.fit against casekit's training paths, on every installed backend (a few
## minutes); saved for the book
bench: $(STAMP)
	$(BIN)/casekit bench --output book/benchmark.json

## chapters: re-execute every chapter and store its outputs (after a change that moves numbers),
## then record the evidence of a re-execution on the perturbed path for tests/test_regression.py
chapters: $(STAMP)
	$(BIN)/casekit run --update
	env $(PERTURBED) $(BIN)/casekit run
	env $(PERTURBED) $(BIN)/casekit evidence --output tests/data/perturbed-evidence.json

clean:
	rm -rf build

## lock: recompile requirements.lock (hashes) from pyproject.toml, keeping existing pins
## unless a range excludes them; `pip-compile --upgrade` moves them on purpose
lock: $(STAMP)
	$(BIN)/pip-compile --quiet --generate-hashes --extra book --extra test --extra jax --allow-unsafe --strip-extras \
	  --no-emit-find-links --no-emit-index-url --output-file requirements.lock pyproject.toml
	$(BIN)/python scripts/lockfile.py .
