# Every target does its own set-up: a fresh machine needs only python3.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test bench soak lint typecheck unit devnet clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall only when the dependency list or the pinned constraints change.
$(STAMP): $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

## run: paper-trade on the embedded devnet with the bundled market data
run: $(STAMP)
	$(BIN)/dydx-trader run $(ARGS)

## test: lint, type-check (strict on the domain) and the whole test suite
test: lint typecheck unit

lint: $(STAMP)
	$(BIN)/ruff check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy src/dydx_trader/domain
	$(BIN)/mypy src

unit: $(STAMP)
	$(BIN)/pytest -q

## bench: one JSON object per line: {"metric", "value", "unit"}
bench: $(STAMP)
	$(BIN)/python bench/run.py

## soak: seeded fault schedules against the devnet, checked after every step (JSON lines);
## SOAK_SCHEDULES=N (default 200) runs more, SOAK_SEED=S replays one
soak: $(STAMP)
	PYTHONPATH=tests $(BIN)/python -m soak

## devnet: the local dYdX stand-in in the foreground
devnet: $(STAMP)
	$(BIN)/dydx-trader devnet

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
