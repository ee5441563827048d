# tinytx: `make demo` and `make test` do their own setup (scripts/setup.sh).
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: setup demo test test-fast lint pins clean

setup:
	@bash scripts/setup.sh

demo: setup
	$(PY) -m tinytx.cli demo --sample radar

# The whole suite, as CI runs it: style first, then every test. pytest exits non-zero
# (5) when it collects no test, which fails this target.
test: setup lint
	$(PY) -m pytest $(PYTEST_ARGS)

# The edit-test loop: no firmware build, no emulator (tests marked `firmware` left out).
test-fast: setup
	$(PY) -m pytest -m "not firmware" $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check scripts tests samples
	$(VENV)/bin/ruff format --check scripts tests samples
	$(VENV)/bin/lint-imports --no-cache

# Re-resolve the pinned Python versions (requirements/constraints.txt); see docs/testing.md.
pins:
	@bash scripts/refresh-pins.sh

clean:
	rm -rf build
