# Trustdesk. Needs only Python 3.11+ and make; everything else comes from the lock file.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run run-matrix test fuzz coverage mutants venv extras lint typecheck format lock clean

run: venv ## serve Trustdesk with the SQLite file, the in-process bus and the demo data (development mode)
	TRUSTDESK_ENVIRONMENT=development $(BIN)/trustdesk db upgrade
	TRUSTDESK_ENVIRONMENT=development $(BIN)/trustdesk demo
	TRUSTDESK_ENVIRONMENT=development TRUSTDESK_SMTP_LISTEN=127.0.0.1:2525 $(BIN)/trustdesk serve

run-matrix: venv ## the same against a local Synapse (code in .venv-synapse, data in var/synapse; stays up)
	TRUSTDESK_ENVIRONMENT=development $(BIN)/trustdesk db upgrade
	TRUSTDESK_ENVIRONMENT=development $(BIN)/trustdesk demo --platform matrix
	set -a; . var/matrix.env; set +a; TRUSTDESK_ENVIRONMENT=development $(BIN)/trustdesk serve

test: venv extras ## lint, type-check and run the whole test suite
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/pytest $(PYTEST_ARGS)

# The API fuzz run alone (Schemathesis over the OpenAPI schema, SQLite, about a minute); `make test` runs it
# too, since pytest collects tests/fuzz. See docs/testing.md.
fuzz: venv
	$(BIN)/pytest tests/fuzz $(PYTEST_ARGS)

# Branch coverage on SQLite of the unit tests, the fuzz run and the API integration tests (about 14 minutes,
# so never part of `make test`); fails under the floor in pyproject.toml. Report: var/coverage/html/.
COVERAGE_TESTS ?= tests/unit tests/fuzz tests/integration/test_intake_api.py tests/integration/test_lawful_e2e.py \
	tests/integration/test_notice_api.py tests/integration/test_match_api.py
coverage: venv ## branch coverage with its floor (see docs/testing.md)
	mkdir -p var/coverage
	$(BIN)/coverage erase
	$(BIN)/coverage run -m pytest $(COVERAGE_TESTS) -m "not postgres and not slow" $(PYTEST_ARGS)
	$(BIN)/coverage html
	$(BIN)/coverage report

# Mutation testing (mutmut) of the pure core and the access-control code, on demand: see [tool.mutmut] in
# pyproject.toml for the files and the tests that must kill their mutants. Work folder: mutants/.
mutants: venv ## mutate the core, list the survivors (`mutmut show <name>` shows one)
	rm -rf mutants
	$(BIN)/mutmut run --max-children 2
	$(BIN)/mutmut results

venv: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -c 'import sys; sys.exit("Trustdesk needs Python 3.11+") if sys.version_info < (3, 11) else None'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

# The optional extras (classifiers: NudeNet, AGPL model files; video: vpdq, built against FFmpeg's
# development libraries). Each is tried on every `make test` until it installs; without one, its tests skip
# with a message (CI requires both).
extras: $(VENV)/.extra-classifiers $(VENV)/.extra-video

$(VENV)/.extra-%: requirements-%.lock $(STAMP)
	@if $(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes -r $< ; then \
		touch $@; \
	else \
		echo "warning: the optional extra '$*' did not install; its tests skip (see README: Optional extras)"; \
	fi

format: venv
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

lock: ## re-resolve requirements.lock from pyproject.toml (needs the package registry)
	$(PYTHON) -m venv /tmp/trustdesk-lock && /tmp/trustdesk-lock/bin/pip install --quiet pip-tools
	/tmp/trustdesk-lock/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras --extra dev \
		-o requirements.lock pyproject.toml
	for extra in classifiers video; do \
		/tmp/trustdesk-lock/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras --extra $$extra \
			-c requirements.lock -o requirements-$$extra.lock pyproject.toml; \
	done

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
