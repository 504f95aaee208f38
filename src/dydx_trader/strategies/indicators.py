"""Indicators, all computed by TA-Lib (no hand-written indicator math).

Each function takes float64 arrays oldest first and returns TA-Lib's output
unchanged (leading values are NaN until the indicator is defined). Only
:func:`atr` leaves the float world: it returns a ``Decimal`` for the
volatility sizing policy.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import talib

from dydx_trader.domain.errors import InvalidInput
from dydx_trader.strategies.base import float_to_decimal
from dydx_trader.strategies.candles import Candles, FloatArray

# Wilder smoothing (RSI, ATR) and EMAs never forget their seed completely. A
# window this many periods long puts the seed's weight below ~1e-8, so an
# indicator read on the tail equals the full-history value to ~8 digits.
WARMUP_PERIODS = 20


def ema(close: FloatArray, period: int) -> FloatArray:
    """Exponential moving average (TA-Lib ``EMA``, seeded with an SMA)."""
    return np.asarray(talib.EMA(close, timeperiod=period), dtype=np.float64)


def rsi(close: FloatArray, period: int) -> FloatArray:
    """Wilder's relative strength index in [0, 100] (TA-Lib ``RSI``)."""
    return np.asarray(talib.RSI(close, timeperiod=period), dtype=np.float64)


def macd(
    close: FloatArray, fast: int, slow: int, signal: int
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """MACD line, signal line and histogram (TA-Lib ``MACD``), in price units."""
    line, sig, hist = talib.MACD(close, fastperiod=fast, slowperiod=slow, signalperiod=signal)
    return line, sig, hist


def bollinger(
    close: FloatArray, period: int, deviations: float
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Upper, middle (SMA) and lower Bollinger bands (TA-Lib ``BBANDS``), in price units."""
    # matype left at its default, 0 = simple moving average.
    upper, middle, lower = talib.BBANDS(
        close, timeperiod=period, nbdevup=deviations, nbdevdn=deviations
    )
    return upper, middle, lower


def atr_series(candles: Candles, period: int) -> FloatArray:
    """Wilder's average true range (TA-Lib ``ATR``), USDC per base unit."""
    return np.asarray(
        talib.ATR(candles.high, candles.low, candles.close, timeperiod=period), dtype=np.float64
    )


def atr(candles: Candles, period: int = 14) -> Decimal:
    """The newest average true range in USDC per base unit, as a ``Decimal``.

    Read on the last ``WARMUP_PERIODS x period`` candles (see the module
    note). Raises :class:`InvalidInput` when fewer than ``period + 1``
    candles are given or the period is outside [1, 1000].
    """
    if isinstance(period, bool) or not isinstance(period, int) or not 1 <= period <= 1000:
        raise InvalidInput(f"ATR period {period!r} must be an integer in [1, 1000]")
    if len(candles) < period + 1:
        raise InvalidInput(f"ATR({period}) needs at least {period + 1} candles, got {len(candles)}")
    window = candles.tail(max(period + 1, WARMUP_PERIODS * period))
    return float_to_decimal(float(atr_series(window, period)[-1]))
