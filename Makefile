# The two commands of the README: `make book` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.casekit-installed
NBVAL := $(BIN)/python -m pytest --nbval --nbval-current-env \
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

## chapters: re-execute every chapter and store its outputs (after a change that moves numbers)
chapters: $(STAMP)
	$(BIN)/casekit run --update

clean:
	rm -rf build
