# Every target does its own set-up: a fresh machine needs only python3.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test bench soak lint typecheck unit devnet clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall only when the dependency list or the pinned constraints change.
# Two steps: the project with its pinned dependencies (v4-proto 9.6.1 among them),
# then the unmodified official client without its own dependencies, whose
# v4-proto < 9 pin would otherwise refuse the protobufs of chain v9.4+ (leverage).
$(STAMP): $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	$(BIN)/python -m pip install --quiet --no-deps -c constraints.txt dydx-v4-client
	touch $(STAMP)

## run: paper-trade on the embedded devnet with the bundled market data
run: $(STAMP)
	$(BIN)/dydx-trader run $(ARGS)

## test: lint, type-check (strict on the whole trader) and the whole test suite
test: lint typecheck unit

lint: $(STAMP)
	$(BIN)/ruff check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy --strict src/dydx_trader
	$(BIN)/mypy src

unit: $(STAMP)
	$(BIN)/pytest -q -rs

## bench: one JSON object per line: {"metric", "value", "unit"}
bench: $(STAMP)
	$(BIN)/python bench/run.py

## soak: seeded fault schedules against the devnet, checked after every step (JSON lines);
## SOAK_SCHEDULES=N (default 200) runs more, SOAK_SEED=S replays one,
## SOAK_LATENCY_MS=100 puts 100 ms of network latency on every devnet answer
soak: $(STAMP)
	PYTHONPATH=tests $(BIN)/python -m soak

## devnet: the local dYdX stand-in in the foreground
devnet: $(STAMP)
	$(BIN)/dydx-trader devnet

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
