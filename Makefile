# The two commands of the README: `make run` serves, `make test` tests; both set everything up first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
STAMP := $(VENV)/.installed-$(shell cksum < pyproject.toml | cut -d' ' -f1)
NODE_STAMP := node_modules/.installed-$(shell cat package.json package-lock.json | cksum | cut -d' ' -f1)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT := $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get

.PHONY: install assets browser gdal poppler db migrate seed run test lint format clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || { \
		echo "installing python3-venv (apt-get)"; \
		$(APT) update -qq && $(APT) install -y -qq python3-venv; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

# Leaflet for the map comes from the npm registry, never from a CDN or a copy in the repository.
$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || { echo "installing npm (apt-get)"; \
		$(APT) update -qq && $(APT) install -y -qq npm; }
	npm ci --no-audit --no-fund --loglevel=error
	@rm -f node_modules/.installed-* && touch $@

assets: $(NODE_STAMP)

# The map tests drive Debian's Chromium through Playwright (no browser download).
browser:
	@command -v chromium >/dev/null || { echo "installing chromium (apt-get)"; \
		$(APT) update -qq && $(APT) install -y -qq chromium; }

# The OGC API tests read the service with GDAL's OAPIF driver, as GIS staff do.
gdal:
	@command -v ogrinfo >/dev/null || { echo "installing gdal-bin (apt-get)"; \
		$(APT) update -qq && $(APT) install -y -qq gdal-bin; }

# The report tests read the PDF with poppler's pdftotext and render its map page with pdftoppm.
poppler:
	@command -v pdftotext >/dev/null || { echo "installing poppler-utils (apt-get)"; \
		$(APT) update -qq && $(APT) install -y -qq poppler-utils; }

db: install
	$(BIN)/broadband db up

migrate: db
	$(BIN)/broadband migrate

seed: migrate
	$(BIN)/broadband seed --if-empty

run: seed assets
	$(BIN)/broadband serve --port $(PORT)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy service tests benchmarks
	$(BIN)/lint-imports

test: db lint assets browser gdal poppler
	$(BIN)/pytest

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
