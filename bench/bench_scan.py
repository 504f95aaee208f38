"""Time of one full scan: every default strategy over 250 markets x 1,000 candles.

The strategies are the four simple ones (EMA cross, RSI reversion, MACD
cross, Bollinger breakout) and their composite, exactly as ``dydx-trader
scan`` runs them. Candles are seeded geometric random walks (hourly, 250
different series), built before timing: the metric is the evaluation, not
the loading. The process is pinned to one CPU where the OS allows it.

Prints one JSON line: {"metric": "scan_ms_250_markets", "value": <median ms>, "unit": "ms"}.
"""

from __future__ import annotations

import gc
import json
import os
import statistics
import time
from datetime import UTC, datetime

import numpy as np

from dydx_trader.strategies import default_strategies
from dydx_trader.strategies.candles import Candles
from dydx_trader.strategies.scan import scan

MARKETS = 250
CANDLES = 1_000
ROUNDS = 15
NOW = datetime(2025, 7, 26, 5, tzinfo=UTC)


def _market_candles(seed: int) -> Candles:
    rng = np.random.default_rng(seed)
    returns = rng.normal(0.0, 0.01, CANDLES)
    close = 100.0 * np.exp(np.cumsum(returns))
    open_ = np.r_[100.0, close[:-1]]
    spread = np.abs(rng.normal(0.0, 0.004, CANDLES)) * close
    high = np.maximum(open_, close) + spread
    low = np.minimum(open_, close) - spread
    ts = 1_700_000_000 + 3600 * np.arange(CANDLES, dtype=np.int64)
    return Candles.from_arrays(ts, open_, high, low, close, rng.uniform(1, 100, CANDLES))


def main() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    strategies = default_strategies()
    markets = {f"M{i:03d}-USD": _market_candles(i) for i in range(MARKETS)}
    results = scan(strategies, markets, NOW)  # warm-up (imports, caches)
    assert len(results) == MARKETS * len(strategies)
    assert all(r.signal is not None for r in results)
    timings = []
    gc.collect()
    for _ in range(ROUNDS):
        start = time.perf_counter()
        scan(strategies, markets, NOW)
        timings.append((time.perf_counter() - start) * 1000)
    median_ms = round(statistics.median(timings), 2)
    print(json.dumps({"metric": "scan_ms_250_markets", "value": median_ms, "unit": "ms"}))


if __name__ == "__main__":
    main()
