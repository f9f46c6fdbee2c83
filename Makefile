# microace: `make demo` runs the main job, `make test` runs every test. Both set up .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: all venv test demo mpy bench clean socat

all: test

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

# The provisioning tests drive the unix port over a pseudo-terminal made by socat (CI is root).
socat:
	@command -v socat >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq socat; }

test: $(STAMP) socat
	$(BIN)/pytest $(PYTEST_ARGS)

demo: $(STAMP) socat
	$(BIN)/python -m microace_host.demo

mpy: $(STAMP)
	$(BIN)/python -m microace_host.deploy --report

bench: $(STAMP)
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) build .pytest_cache .hypothesis
