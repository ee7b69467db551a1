# Every target creates and reuses the local virtualenv (.venv) on its own.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: demo serve test lint bench system-deps messages gateway-wheel clean

$(INSTALLED): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

system-deps:
	bash scripts/install-system-deps.sh

# DEMO_ARGS, e.g. `make demo DEMO_ARGS="--speed 10"` (a meal's diners in a tenth of the time), or --no-scales.
demo: $(INSTALLED)
	$(BIN)/canteen demo $(DEMO_ARGS)

serve: $(INSTALLED)
	$(BIN)/canteen serve

# The checks first (seconds), then the suite: a style slip, a type error or a broken import contract fails it.
test: $(INSTALLED) system-deps lint
	$(BIN)/python -m pytest

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# Known vulnerabilities of the installed packages, from PyPI's vulnerability data (AUDIT_ARGS="-s osv": OSV's).
# It needs the network, so it is no part of `make test`; --strict fails on a package that could not be checked
# rather than passing it unexamined.
.PHONY: audit
audit: $(INSTALLED)
	$(BIN)/pip-audit --local --skip-editable --strict --progress-spinner off $(AUDIT_ARGS)

# The API fuzzed longer than `make test` does (3 examples per operation, SQLite): FUZZ_EXAMPLES per operation and
# mode, for every role and a station key, on SQLite and PostgreSQL; it prints the figures of each run.
FUZZ_EXAMPLES ?= 25
.PHONY: fuzz
fuzz: $(INSTALLED) system-deps
	CANTEEN_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) CANTEEN_FUZZ_DATABASES=sqlite,postgresql \
		$(BIN)/python -m pytest tests/test_fuzz.py -s

bench: $(INSTALLED) system-deps
	$(BIN)/python benchmarks/run.py

# The gateway alone for the box beside a scale (pyserial and httpx only): dist/canteen_gateway-<version>-py3-none-any.whl.
# It needs no project install, only the virtualenv's pip (and setuptools, from the index when the venv's is too old).
gateway-wheel:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python gateway/build_wheel.py --dist dist

# Re-extract translatable strings and merge them into the catalogues (then translate the new entries).
messages: $(INSTALLED)
	$(BIN)/pybabel extract -F babel.cfg $(addprefix -k ,InvalidInput Conflict NotFound Forbidden Unauthorized TooManyAttempts PayloadTooLarge N_) \
		--no-location --sort-output -o var/messages.pot .
	$(BIN)/pybabel update -i var/messages.pot -d canteen/web/locales -l zh_CN --no-fuzzy-matching --ignore-obsolete

clean:
	rm -rf $(VENV) var dist
