# Two commands matter: `make run` (a city-wide flood scenario, no broker) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SCENARIO ?= scenarios/chongqing-record-rainfall.yaml
OUT ?= runs/latest

.PHONY: run test lint typecheck pytest bench clean

# The stamp is rebuilt when pyproject.toml changes, so a pull that adds a dependency installs it.
$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(BIN)/.installed-dev: pyproject.toml $(BIN)/.installed
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

run: $(BIN)/.installed
	$(BIN)/alertsim run $(SCENARIO) --out $(OUT)

# System programs the tests drive for real: the broker, its command-line clients, a browser.
SYSTEM_PACKAGES := mosquitto:mosquitto mosquitto_sub:mosquitto-clients chromium:chromium promtool:prometheus

# Bytecode is written and reused (__pycache__, ignored by git and Docker) even where the
# environment sets PYTHONDONTWRITEBYTECODE: without it every pytest process recompiles and
# assertion-rewrites 190 test modules (3.6 s more of CPU each: 7.2 s against 3.6 s to collect),
# and so does every Python process the tests start (swarms, services, spawned workers).
# --no-loadscope-reorder: xdist takes the files in the order tests/conftest.py collects them in,
# the longest first (tests/support/schedule.py), not its default of the most tests first.
test: export PYTHONDONTWRITEBYTECODE :=
test: $(BIN)/.installed-dev
	.ci/ensure-packages $(SYSTEM_PACKAGES)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -n 2 --dist loadfile --no-loadscope-reorder -m 'not solo'
	$(BIN)/python -m pytest -m solo

bench: $(BIN)/.installed-dev
	$(BIN)/python bench/virtual_city.py

clean:
	rm -rf $(VENV) runs .mypy_cache .pytest_cache .ruff_cache
