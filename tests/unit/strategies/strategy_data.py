"""Test helpers: the shared real candles and hand-made series."""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from dydx_trader.strategies.candles import Candles

# The bundled copy of shared/market-data (byte for byte; see its README).
MARKET_DATA = Path(__file__).resolve().parents[3] / "src" / "dydx_devnet" / "data"
NOW = datetime(2025, 7, 26, 5, 0, tzinfo=UTC)
HOUR = 3600
T0 = 1_700_000_000


def real_candles(market: str = "BTC-USD") -> Candles:
    """The shared hourly candles of ``market``; skips the test when shared/ is absent."""
    path = MARKET_DATA / f"{market}-1HOUR.csv"
    if not path.is_file():
        pytest.skip(f"shared market data not found at {path} (expected beside the repo)")
    return _load(path)


@functools.cache
def _load(path: Path) -> Candles:
    # Candles are immutable (read-only arrays), so tests may share one load.
    return Candles.from_csv_text(path.read_text(), source=path.name)


def last_csv_close(market: str = "BTC-USD") -> str:
    """The newest close of ``market`` exactly as the CSV writes it."""
    path = MARKET_DATA / f"{market}-1HOUR.csv"
    if not path.is_file():
        pytest.skip(f"shared market data not found at {path}")
    return path.read_text().strip().splitlines()[-1].split(",")[4]


def series(closes: list[float] | np.ndarray) -> Candles:
    """Hourly candles whose open/high/low equal the close (a line chart)."""
    close = np.asarray(closes, dtype=np.float64)
    ts = T0 + HOUR * np.arange(len(close), dtype=np.int64)
    return Candles.from_arrays(ts, close, close, close, close, np.ones(len(close)))


def flat_then(level: float, count: int, *tail: float) -> Candles:
    """``count`` candles at ``level``, then the ``tail`` closes."""
    return series([level] * count + list(tail))
