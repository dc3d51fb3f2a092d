# One task runner for developers and CI. `make test` and `make demo` work on a fresh machine
# with only Python: they create .venv, install Longplay and its dependencies, and install the
# Debian packages the tests drive (BitTorrent clients, ffmpeg for the benchmarks) when missing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO_DIR ?= demo-archive
# bench/web.py's 10M archive (make bench: ~10 GB, kept for reuse by the search3 benches)
BENCH_WEB ?= bench-web
PYTEST_WORKERS ?= 2

# Debian packages the test suite runs for real (see tests/clients.py).
DEB_PACKAGES := qbittorrent-nox transmission-cli aria2 opentracker nodejs npm chromium wrk
# Debian libraries Longplay itself loads (Chromaprint through ctypes): `make venv` installs them.
DEB_LIBRARIES := libchromaprint1
# What the benchmarks compare against or measure on: fpcalc (libchromaprint-tools) and real
# music, GPL-3+ game soundtracks (planetblupi-music-ogg) for bench/analysis.py.
BENCH_PACKAGES := ffmpeg mktorrent transmission-cli libchromaprint-tools planetblupi-music-ogg

.PHONY: help venv system-deps demo test test-fast bench soak lint readme clean

help:
	@echo "make demo   build the demo archive from the built-in sample and serve it (DEMO_DIR=$(DEMO_DIR))"
	@echo "make test   set up and run the whole test suite"
	@echo "make bench  run the benchmarks at full size (results: bench/RESULTS.md)"
	@echo "make soak   fuzzers at 10,000 cases per parser, atheris at 200,000 runs, 20 crash points per job (make test: fewer)"
	@echo "make lint   ruff check, ruff format --check and mypy"
	@echo "make readme rerun the README's commands and put their real output in place"

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,analysis,cluster]'
	@bash scripts/system-deps.sh $(DEB_LIBRARIES)
	touch $(STAMP)

venv: $(STAMP)

system-deps:
	@bash scripts/system-deps.sh $(DEB_PACKAGES) $(DEB_LIBRARIES)

demo: $(STAMP)
	rm -rf $(DEMO_DIR)
	$(BIN)/longplay demo $(DEMO_DIR)

tests/js/node_modules: tests/js/package.json tests/js/package-lock.json
	npm ci --prefix tests/js --no-audit --no-fund

test: $(STAMP) system-deps tests/js/node_modules
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) -m "not slow"

test-fast: $(STAMP)
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) -m "not slow and not clients"

bench: $(STAMP) system-deps
	@bash scripts/system-deps.sh $(BENCH_PACKAGES)
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) -m slow
	for b in bench/[!_]*.py; do case $$b in bench/web.py|bench/search3_*.py) continue;; esac; \
		echo "== $$b"; $(BIN)/python $$b || exit 1; done
	@# The web player's 10M archive, kept for the two search3 benches that measure on it
	$(BIN)/python bench/web.py --dir $(BENCH_WEB)
	$(BIN)/python bench/search3_keys.py $(BENCH_WEB)/archive
	$(BIN)/python bench/search3_http.py $(BENCH_WEB)/archive

soak: $(STAMP)
	LONGPLAY_FUZZ_EXAMPLES=10000 $(BIN)/python -m pytest -n $(PYTEST_WORKERS) tests/test_fuzz_parsers.py tests/test_fuzz_inputs.py
	LONGPLAY_ATHERIS_RUNS=200000 $(BIN)/python -m pytest tests/test_fuzz_atheris.py
	LONGPLAY_CRASH_POINTS=20 LONGPLAY_CRASH_RESULTS=crash-points.jsonl \
		$(BIN)/python -m pytest -n $(PYTEST_WORKERS) tests/test_crash_points.py

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/mypy bench  # apart: its scripts import one another by bare name

readme: $(STAMP)
	$(BIN)/python scripts/readme.py

clean:
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache .mypy_cache .ruff_cache
