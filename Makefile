# tinytx: `make demo` and `make test` do their own setup (scripts/setup.sh).
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: setup demo test test-host lint vectors clean

setup:
	@bash scripts/setup.sh

demo: setup
	$(PY) -m tinytx.cli demo --sample radar

# pytest exits non-zero (5) when it collects no test, which fails this target.
test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check scripts tests
	$(VENV)/bin/ruff format --check scripts tests

clean:
	rm -rf build
