# Two commands do all set-up: `make run` (service with demo data) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: install run test check lint typecheck bench schema clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "Reunite needs Python 3.11+: run make with PYTHON=python3.11 (or newer)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

# --demo imports data/orr-separated-children-2018.csv first; a restart finds it imported.
run: $(STAMP)
	$(BIN)/reunite serve --dev --demo

# Branch coverage and its floor are tool.coverage in pyproject.toml.
test: $(STAMP)
	$(BIN)/pytest --cov

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

# What CI runs: style, import contracts (tool.importlinter), types, then the tests.
check: lint typecheck test

schema: $(STAMP)
	$(BIN)/python -m schema.export

bench: $(STAMP)
	$(BIN)/python -m bench.append
	$(BIN)/python -m bench.catchup
	$(BIN)/python -m bench.import
	$(BIN)/python -m bench.graphql
	$(BIN)/python -m bench.cost
	$(BIN)/python -m bench.replay
	$(BIN)/python -m bench.verify

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .coverage
