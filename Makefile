# One command per job; each creates .venv and installs pointkit on first use.
#   make demo    the main job on the embedded default
#   make test    the full check: lint, types, tests, docs examples, coverage gate
#   make bench   benchmarks (never part of the test run)
#   make fuzz    the fuzz suite (tests/fuzz) at length: many more examples than in make test
#   make deep    the tests at the deep Hypothesis profile: each database adapter's conformance
#                machine at 50 runs (20 in make test under CI=true)
#   make lint    ruff check and ruff format --check
#   make docs    the documentation site, built in strict mode into site/

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck pytest fuzz deep bench docs format clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,postgres]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/pointkit demo

test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy
	$(BIN)/mypy conftest.py

pytest: $(STAMP)
	$(BIN)/pytest --cov --cov-report=term

# make test runs tests/fuzz on a small budget; the fuzz profile gives every fuzz test 5,000 examples.
fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=fuzz $(BIN)/pytest tests/fuzz -p no:cacheprovider

# The ci profile gives each database adapter's conformance machine a fifteenth of its runs; the
# deep profile keeps ci's budget and gives them a sixth (tests/conftest.py, adapter_examples()).
deep: $(STAMP)
	HYPOTHESIS_PROFILE=deep $(BIN)/pytest -p no:cacheprovider

# The peer rules engines (the bench extra) are for benchmarks only, never for `make test`.
BENCH_STAMP := $(VENV)/.installed-bench

$(BENCH_STAMP): $(STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BIN)/python bench/run.py
	$(BIN)/python bench/rules_bench.py
	$(BIN)/python bench/lottery_bench.py
	$(BIN)/python bench/async_bench.py
	$(BIN)/python bench/reports_bench.py
	$(BIN)/python bench/memory_bench.py
	$(BIN)/python bench/expiry_bench.py
	$(BIN)/python bench/simulate_bench.py

docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis .coverage build dist site
