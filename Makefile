# Two commands do everything: `make run` and `make test`. The rest are conveniences.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.run-installed
TEST_STAMP := $(VENV)/.test-installed
PYBABEL_EXTRACT := $(BIN)/pybabel extract -F babel.cfg -k __ -k lazy_gettext --no-location \
	--sort-output --project=jijiao -o locales/messages.pot .

.PHONY: run test test-later lint bench i18n i18n-compile migrate clean

$(BIN)/python:
	$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -e .
	touch $@

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@ $(RUN_STAMP)

run: $(RUN_STAMP)
	$(BIN)/jijiao run

migrate: $(RUN_STAMP)
	$(BIN)/jijiao migrate

lint: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# Two workers (the CI machine has 2 cores; the tests mostly wait on browsers, servers and
# subprocesses); each test file stays on one worker, files marked `long` first
# (tests/conftest.py). WORKERS=0 runs in one process.
WORKERS ?= 2
XDIST := -n $(WORKERS) --dist loadfile --no-loadscope-reorder
test: $(TEST_STAMP) lint
	$(BIN)/python -m pytest $(XDIST) $(PYTEST_ARGS)

# The tests that touch dates once more, with the clock fixture 2 years and 5 months later
# (across a new year and the 2028 leap day, in a year the holiday calendar does not know): a
# test or a rule that secretly depends on today's date fails here. .ci/run runs it.
LATER ?= 2029-04-27T02:00:00+00:00
# (The app itself on a machine dated years ahead is tests/e2e/test_far_machine_date_e2e.py, in
# `make test`; the slow process-level e2e and infra tests are not repeated here.)
DATE_TESTS := tests/unit tests/bot tests/exam tests/study tests/reminders tests/payments \
	tests/web tests/conversation
test-later: $(TEST_STAMP)
	JIJIAO_TEST_NOW=$(LATER) $(BIN)/python -m pytest $(XDIST) $(DATE_TESTS) $(PYTEST_ARGS)

# The soak (bench/bench_soak.py) runs 15 minutes when started by itself; here it runs
# SOAK_MINUTES, 2 unless given (`make bench SOAK_MINUTES=15` for the documented soak).
SOAK_MINUTES ?= 2
bench: $(TEST_STAMP)
	@set -e; for script in bench/bench_*.py; do echo "== $$script"; \
		SOAK_MINUTES=$(SOAK_MINUTES) $(BIN)/python $$script; done

# Translators: `make i18n` refreshes the catalogs from the code; edit the .po files; commit.
i18n: $(TEST_STAMP)
	$(PYBABEL_EXTRACT)
	$(BIN)/pybabel update -i locales/messages.pot -d locales -D messages \
		--ignore-obsolete --no-fuzzy-matching -w 100
	$(MAKE) i18n-compile

i18n-compile: $(RUN_STAMP)
	$(BIN)/pybabel compile -d locales -D messages --statistics

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
