# Two commands matter: `make serve` and `make test`. Both build the virtual
# environment on first use, so a fresh machine needs only Python 3.11+ and make.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8080

.PHONY: serve test bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

serve: $(BIN)/.installed
	$(BIN)/modelgate serve --host $(HOST) --port $(PORT)

test: $(BIN)/.installed
	$(BIN)/python -m pytest $(PYTEST_ARGS)

$(BIN)/.bench-installed: $(BIN)/.installed bench/requirements.txt
	$(BIN)/python -m pip install --quiet -r bench/requirements.txt
	touch $@

# The full benchmark (bench/README.md): about 5 minutes, loopback only. LiteLLM is
# installed on first use into bench/.cache/litellm-venv. BENCH_ARGS passes options.
bench: $(BIN)/.bench-installed
	$(BIN)/python bench/run.py --json bench/results/latest.json $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache
