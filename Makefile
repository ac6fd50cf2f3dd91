# Two commands matter: `make serve` and `make test`. Both build the virtual
# environment on first use, so a fresh machine needs only Python 3.11+ and make.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8080

.PHONY: serve test bench clean

# The console's browser tests (tests/console) drive Debian's Chromium headless;
# Playwright's own browser download is not used. Installed once, when missing
# (sudo when not root). Without apt-get it says so and goes on: those tests then
# skip, or fail under CI=true.
CHROMIUM ?= /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

serve: $(BIN)/.installed
	$(BIN)/modelgate serve --host $(HOST) --port $(PORT)

test: $(BIN)/.installed $(CHROMIUM)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

$(CHROMIUM):
	@if command -v apt-get >/dev/null 2>&1; then \
		echo "Installing Debian's chromium for the console tests..."; \
		$(SUDO) apt-get update -qq >/dev/null && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
		|| echo "warning: could not install chromium; the console tests need $(CHROMIUM)"; \
	else \
		echo "warning: no apt-get; install Chromium at $(CHROMIUM) for the console tests"; \
	fi

$(BIN)/.bench-installed: $(BIN)/.installed bench/requirements.txt
	$(BIN)/python -m pip install --quiet -r bench/requirements.txt
	touch $@

# The full benchmark (bench/README.md): about 5 minutes, loopback only. LiteLLM is
# installed on first use into bench/.cache/litellm-venv. BENCH_ARGS passes options.
bench: $(BIN)/.bench-installed
	$(BIN)/python bench/run.py --json bench/results/latest.json $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache
