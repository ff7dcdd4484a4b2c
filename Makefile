# Two commands do all set-up: `make run` (service with demo data) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
# The Node clients (clients/audit.mjs, clients/apollo_flow.mjs), installed from their lock file.
CLIENTS_STAMP := clients/node_modules/.installed-$(shell cksum clients/package-lock.json | cut -d' ' -f1)

.PHONY: install clients browser run test check lint typecheck bench schema clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "Reunite needs Python 3.11+: run make with PYTHON=python3.11 (or newer)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

# Without npm their tests skip (they need node); CI has both.
$(CLIENTS_STAMP): clients/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		cd clients && npm ci --no-audit --no-fund --loglevel=error \
		&& rm -f node_modules/.installed-* && touch ../$(CLIENTS_STAMP); \
	else echo "npm not found: the Node clients' tests (tests/e2e/test_graphql_http_audit.py," \
		"tests/e2e/test_apollo_client.py) are skipped; install Node 18+ and npm to run them"; fi

clients: $(CLIENTS_STAMP)

# The console's browser tests (tests/e2e/test_console.py) drive Debian's chromium through
# Playwright; installed here when missing and run as root, else they are skipped.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			apt-get install -y -qq chromium chromium-driver >/dev/null 2>&1 \
			|| { apt-get update -qq && apt-get install -y -qq chromium chromium-driver; }; \
		else echo "chromium not found: the console's browser tests are skipped;" \
			"install it with apt-get install chromium chromium-driver"; fi; }

# --demo imports data/orr-separated-children-2018.csv first; a restart finds it imported.
run: $(STAMP)
	$(BIN)/reunite serve --dev --demo

# Branch coverage and its floor are tool.coverage in pyproject.toml.
test: $(STAMP) $(CLIENTS_STAMP) browser
	$(BIN)/pytest --cov

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

# What CI runs: style, import contracts (tool.importlinter), types, then the tests.
check: lint typecheck test

# What clients generate from: schema/schema.graphql and schema/possible-types.json.
schema: $(STAMP)
	$(BIN)/python -m schema.export

bench: $(STAMP)
	$(BIN)/python -m bench.append
	$(BIN)/python -m bench.catchup
	$(BIN)/python -m bench.import
	$(BIN)/python -m bench.graphql
	$(BIN)/python -m bench.plans
	$(BIN)/python -m bench.cost
	$(BIN)/python -m bench.replay
	$(BIN)/python -m bench.verify
	$(BIN)/python -m bench.access_log

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .coverage clients/node_modules \
		bench/postgraphile/node_modules
