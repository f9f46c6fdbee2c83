# microace: `make demo` runs the main job, `make test` runs every test. Both set up .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: all venv test typecheck demo mpy bench fuzz clean socat

all: test

venv: $(STAMP)

$(STAMP): requirements.txt host_tools/pyproject.toml host_tools/setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e ./host_tools
	touch $(STAMP)

# The provisioning tests drive the unix port over a pseudo-terminal made by socat (CI is root).
socat:
	@command -v socat >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq socat; }

test: $(STAMP) socat typecheck
	$(BIN)/pytest $(PYTEST_ARGS)

# The firmware against each board's MicroPython stubs (pinned, installed into build/stubs on
# first use), the test stand-ins against the same stubs, host_tools against CPython
# (typecheck/config.toml; what it allows, with reasons: typecheck/known.toml; docs/BOARDS.md).
typecheck: $(STAMP)
	$(BIN)/python typecheck/run.py

demo: $(STAMP) socat
	$(BIN)/python -m microace_host.demo

mpy: $(STAMP)
	$(BIN)/python -m microace_host.deploy

# Primitives against their CPython peers, then the whole server against aiocoap's (both print
# their ratios), then where the heap goes per module, then the flood's rates (hostile/flood.py);
# docs/BENCHMARKS.md says what runs where.
bench: $(STAMP) socat
	$(BIN)/python bench/run.py
	$(BIN)/python bench/server.py
	$(BIN)/python bench/heap.py
	$(BIN)/python tests/hostile/flood.py --seconds 30

# The long mutation fuzz against a running RS (make test runs a short slice): FUZZ_COUNT mutated
# datagrams and as many mutated tokens; FUZZ_SEED=N repeats a run.
FUZZ_COUNT ?= 100000
fuzz: $(STAMP) socat
	$(BIN)/python tests/hostile/fuzz.py --count $(FUZZ_COUNT) $(if $(FUZZ_SEED),--seed $(FUZZ_SEED))

clean:
	rm -rf $(VENV) build .pytest_cache .hypothesis
