# Quick start: `make serve` (set-up + server) and `make test` (set-up + the whole suite).
VENV ?= .venv
PYTHON ?= python3
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed

.PHONY: install libreoffice chromium web-vendor bench-library serve test bench-ingest bench-render clean tus-js bench-tus mcp-inspector tiktoken-cache bench-tools bench-scrape

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# torch first, pinned (constraints.txt), so no install ever pulls the CUDA wheels.
$(STAMP): pyproject.toml constraints.txt | $(VENV)/bin/python
	$(PIP) install --quiet -c constraints.txt torch==2.13.0
	$(PIP) install --quiet -c constraints.txt -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

# LibreOffice (headless) and Debian's uno bridge make office documents' PDF views: installed when this is
# root with apt-get, else the command to run is printed (the document tests skip without it).
LIBREOFFICE_PACKAGES := libreoffice-writer-nogui libreoffice-calc-nogui libreoffice-impress-nogui python3-uno fonts-dejavu-core

libreoffice:
	@if command -v soffice >/dev/null && /usr/bin/python3 -c 'import uno' 2>/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(LIBREOFFICE_PACKAGES) || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(LIBREOFFICE_PACKAGES); } || \
	  echo "LibreOffice could not be installed: office files get no PDF view (the document tests fail in CI)"; \
	else echo "LibreOffice not found: office files get no PDF view. Install it: sudo apt-get install --no-install-recommends $(LIBREOFFICE_PACKAGES)"; fi

# Debian's Chromium for the web page's browser tests (Playwright drives it; its own browser download is never
# used): installed when this is root with apt-get, else the command to run is printed.
chromium:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; } || \
	  echo "Chromium could not be installed: the browser tests fail in CI"; \
	else echo "Chromium not found: the browser tests will be skipped. Install it: sudo apt-get install chromium"; fi

# The web page's vendored Uppy bundle, fetched again from the npm registry and checked against the committed
# hashes (picsha_mcp/web/vendor/uppy/SHA256SUMS): the committed files are exactly the published package's.
UPPY_VERSION := 6.0.1
UPPY_DIR := picsha_mcp/web/vendor/uppy

web-vendor:
	@tmp=$$(mktemp -d) && cd $$tmp && npm pack --silent uppy@$(UPPY_VERSION) >/dev/null && tar xzf uppy-$(UPPY_VERSION).tgz && \
	cp package/dist/uppy.min.mjs package/dist/uppy.min.css package/LICENSE $(CURDIR)/$(UPPY_DIR)/ && rm -rf $$tmp
	cd $(UPPY_DIR) && sha256sum -c SHA256SUMS

serve: install libreoffice
	$(VENV)/bin/picsha serve

test: install libreoffice chromium tus-js mcp-inspector tiktoken-cache
	$(VENV)/bin/pytest -q

# Real TUS clients and the reference server (tus-js-client, @tus/server) for tests and bench/tus.py.
tus-js: tests/tus_js/node_modules/.package-lock.json

tests/tus_js/node_modules/.package-lock.json: tests/tus_js/package.json
	@if command -v npm >/dev/null; then cd tests/tus_js && npm install --no-audit --no-fund; \
	else echo "npm not found: the tus-js-client tests will be skipped"; fi

# The MCP Inspector's CLI (tests/mcp/test_inspector.py drives it against `picsha mcp`); no browser is fetched.
mcp-inspector: tests/mcp/inspector/node_modules/.package-lock.json

tests/mcp/inspector/node_modules/.package-lock.json: tests/mcp/inspector/package.json
	@if command -v npm >/dev/null; then cd tests/mcp/inspector && npm install --no-audit --no-fund; \
	else echo "npm not found: the MCP Inspector test will be skipped"; fi

# cl100k_base for bench/tool_tokens.py without internet (tiktoken checks the file's SHA-256 itself).
tiktoken-cache: .cache/tiktoken/9b5ad71b2ce5302211f9c61530b329a4922fc6a4

.cache/tiktoken/9b5ad71b2ce5302211f9c61530b329a4922fc6a4: | install
	$(VENV)/bin/python bench/tiktoken_cache.py

bench-tools: install tiktoken-cache
	$(VENV)/bin/python bench/tool_tokens.py
	$(VENV)/bin/python bench/mcp_overhead.py

bench-tus: install tus-js
	$(VENV)/bin/python bench/tus.py

bench-ingest: install
	$(VENV)/bin/python bench/ingest.py

# Scrapy is the baseline only: installed here, never a dependency of Picsha itself.
bench-scrape: install
	$(PIP) install --quiet -c constraints.txt -e ".[bench]"
	$(VENV)/bin/python bench/scrape.py

bench-library: install chromium
	$(VENV)/bin/python bench/library.py

bench-render: install
	$(VENV)/bin/python bench/render.py

clean:
	rm -rf $(VENV) .pytest_cache
