# The two commands of the README: `make book` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.casekit-installed
# nbval re-executes the stored chapters on another floating-point path than the one that
# wrote them (oneDNN's matmul capped at AVX: no FMA, no AVX2/AVX-512), so a green run here
# means green on other CPUs; tests/test_perturbation.py checks the cap changes the weights.
NBVAL_ENV := ONEDNN_MAX_CPU_ISA=AVX
# casekit.nbval_plugin compares shown estimates statistically and decisions by their
# fragility (casekit.regression); everything else nbval compares exactly.
NBVAL := env $(NBVAL_ENV) $(BIN)/python -m pytest --nbval --nbval-current-env -p casekit.nbval_plugin \
         --nbval-sanitize-with tests/nbval_sanitize.cfg -p no:cacheprovider chapters

.PHONY: book test unit nbval html browser browser-deps bench chapters clean

# Create or update the virtual environment whenever the pinned dependencies change.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $(STAMP)

## book: execute every chapter (default profile) with papermill, then render the HTML book
book: $(STAMP)
	$(BIN)/casekit run
	$(BIN)/casekit build --executed

## test: unit tests, nbval on every stored chapter, the book build with warnings as errors,
## then the rendered book in headless Chromium
test: unit nbval html browser

unit: $(STAMP)
	$(BIN)/python -m pytest --ignore=tests/browser

nbval: $(STAMP)
	$(NBVAL)

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

## bench: plain model.fit against casekit's training paths (a few minutes); saved for the book
bench: $(STAMP)
	$(BIN)/casekit bench --output book/benchmark.json

## chapters: re-execute every chapter and store its outputs (after a change that moves numbers),
## then record the evidence of a re-execution on the perturbed path for tests/test_regression.py
chapters: $(STAMP)
	$(BIN)/casekit run --update
	env $(NBVAL_ENV) $(BIN)/casekit run
	env $(NBVAL_ENV) $(BIN)/casekit evidence --output tests/data/perturbed-evidence.json

clean:
	rm -rf build
