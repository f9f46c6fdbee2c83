# microace: `make demo` runs the main job, `make test` runs every test. Both set up .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: all venv test lint typecheck demo mpy bench fuzz clean socat firmware multilib

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

# With MicroPython source at hand, the board proxy is built first (its source tree also checks
# the board manifests), then the e2e and hostile suites run again on it.
test: $(STAMP) socat lint typecheck
	@if [ -n "$(MICROPY_SRC)" ]; then $(MAKE) --no-print-directory firmware; fi
	$(if $(MICROPY_SRC),MICROPY_DIR=$(abspath $(MICROPY_DIR))) $(BIN)/pytest $(PYTEST_ARGS)
	@if [ -n "$(MICROPY_SRC)" ]; then \
	  $(BIN)/pytest --proxy $(PROXY) tests/e2e tests/hostile $(PYTEST_ARGS); \
	else echo "board proxy: $(NO_SOURCE): its tests skip"; fi

# The house style (ruff.toml): pycodestyle, pyflakes, and no `# noqa` that no rule needs.
lint: $(STAMP)
	$(BIN)/ruff check .

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
# their ratios), then where the heap goes per module, on the pip port and on the board proxy
# (built first when there is MicroPython source), then the flood's rates (hostile/flood.py);
# docs/BENCHMARKS.md says what runs where.
bench: $(STAMP) socat
	@if [ -n "$(MICROPY_SRC)" ]; then $(MAKE) --no-print-directory firmware; \
	else echo "board proxy: $(NO_SOURCE): its columns are left out"; fi
	$(BIN)/python bench/run.py
	$(BIN)/python bench/server.py
	@if [ -n "$(MICROPY_SRC)" ]; then echo "the same capacity on the board proxy (32-bit, frozen) at its 48k serving heap:"; \
	  MICROACE_PROXY=$(abspath $(PROXY)) $(BIN)/python bench/server.py --rs-heap 48k --skip-heap --requests 1000 --reps 1; fi
	$(BIN)/python bench/heap.py
	$(BIN)/python tests/hostile/flood.py --seconds 30
	$(BIN)/python bench/edhoc.py
	$(BIN)/python bench/profiles.py
	@if [ -x "$(PROXY)" ]; then MICROACE_PROXY=$(abspath $(PROXY)) $(BIN)/python bench/profiles.py --from 32; fi

# The long mutation fuzz against a running RS (make test runs a short slice): FUZZ_COUNT mutated
# datagrams and as many mutated tokens; FUZZ_SEED=N repeats a run.
FUZZ_COUNT ?= 100000
fuzz: $(STAMP) socat
	$(BIN)/python tests/hostile/fuzz.py --count $(FUZZ_COUNT) $(if $(FUZZ_SEED),--seed $(FUZZ_SEED))

# The board proxy: a 32-bit unix-port MicroPython with microace frozen in through the board
# manifests (build-support/unix_proxy is the variant: no FFI, no btree, mbedtls, -m32). The source
# tree is MICROPY_DIR (a MicroPython checkout), else ../shared's tarball unpacked under build/.
# Rebuilt only when firmware/ or boards/ changed; `pytest --proxy $(PROXY)` runs on it.
MICROPY_TARBALL ?= ../shared/micropython/micropython-src.tar.gz
PROXY_BUILD := $(abspath build/proxy)
PROXY := build/proxy/micropython
NO_SOURCE := no MicroPython source (pass MICROPY_DIR=... or put $(MICROPY_TARBALL) beside the worktree)
ifdef MICROPY_DIR
MICROPY_SRC := $(MICROPY_DIR)
else ifneq ($(wildcard $(MICROPY_TARBALL)),)
MICROPY_DIR := build/micropython
MICROPY_SRC := $(MICROPY_TARBALL)
endif
FIRMWARE_INPUTS := $(shell find firmware boards build-support -type f -not -name '*.pyc' -not -name '*.json' 2>/dev/null)

ifdef MICROPY_SRC
firmware: $(PROXY)
else
firmware:
	@echo "make firmware: $(NO_SOURCE)" >&2; exit 1
endif

build/micropython/py/mpconfig.h: $(MICROPY_TARBALL)
	mkdir -p build
	tar xzf $< -C build
	touch $@

multilib:
	@dpkg -s gcc-multilib >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq gcc-multilib; }

$(PROXY): $(FIRMWARE_INPUTS) $(MICROPY_DIR)/py/mpconfig.h | multilib
	$(MAKE) -C $(MICROPY_DIR)/mpy-cross -j2
	$(MAKE) -C $(MICROPY_DIR)/ports/unix -j2 VARIANT_DIR=$(abspath build-support/unix_proxy) \
	  BUILD=$(PROXY_BUILD)
	touch $@

clean:
	rm -rf $(VENV) build .pytest_cache .hypothesis
