# The README's two commands: `make demo` and `make test`.
# Torch is installed first and pinned to the CPU build present on these
# machines (any other spec pulls gigabytes of CUDA packages); then the project.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: demo test install clean

demo: $(STAMP)
	$(BIN)/hil demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

clean:
	rm -rf $(VENV) .pytest_cache

# Every published figure of benchmarks/RESULTS.md (benchmarks/run_all.py): `make results-quick` runs each
# benchmark at small sizes into out/results-quick/ (minutes); `make results` regenerates the published sizes
# into benchmarks/results/ (hours). `make check-numbers`: every tagged number in RESULTS.md matches its JSON.
.PHONY: results results-quick check-numbers

results: $(STAMP)
	$(BIN)/python benchmarks/run_all.py --full

results-quick: $(STAMP)
	$(BIN)/python benchmarks/run_all.py --quick

check-numbers:
	$(BIN)/python benchmarks/check_numbers.py

# The browser test of `hil view` (tests/test_view_browser.py) needs headless Chromium; without it the test is
# skipped and says so. Not part of `make test` (an apt-get of ~100 MB as root, not a pip install); `.ci/run`
# runs it first, so CI always has the browser test.
.PHONY: browser
browser:
	command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
		(apt-get update && apt-get install -y chromium chromium-driver)
