"""Each strategy on the real candles agrees with TA-Lib's own outputs.

For every strategy, TA-Lib is run on the *full* history and the crossings /
threshold breaches found there; the strategy, evaluated on the history up
to each such candle, must report the same action. Indicator readings must
equal TA-Lib's full-history values (the strategies read a warm-up tail).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import numpy as np
import pytest
import talib
from strategy_data import NOW, last_csv_close, real_candles

from dydx_trader.domain.signal import Action, SignalSource
from dydx_trader.strategies import (
    BollingerBreakout,
    EmaCross,
    MacdCross,
    RsiReversion,
    atr,
)
from dydx_trader.strategies.candles import Candles

MARKETS = ["BTC-USD", "ETH-USD", "DOGE-USD"]


def _prefix(candles: Candles, end: int) -> Candles:
    """The candles up to and including index ``end``."""
    return Candles.from_arrays(
        candles.timestamps[: end + 1],
        candles.open[: end + 1],
        candles.high[: end + 1],
        candles.low[: end + 1],
        candles.close[: end + 1],
        candles.volume[: end + 1],
    )


def _cross_actions(before: np.ndarray, after: np.ndarray, margin: np.ndarray) -> dict[int, Action]:
    """Indices where ``after`` changed sign from ``before``, clear of ties by ``margin``."""
    actions: dict[int, Action] = {}
    for i in np.nonzero((before <= 0) & (after > 0) & (np.abs(after) > margin))[0]:
        actions[int(i)] = Action.BUY
    for i in np.nonzero((before >= 0) & (after < 0) & (np.abs(after) > margin))[0]:
        actions[int(i)] = Action.SELL
    return actions


def _sample(actions: dict[int, Action], count: int = 6) -> list[tuple[int, Action]]:
    buys = [(i, a) for i, a in sorted(actions.items()) if a is Action.BUY]
    sells = [(i, a) for i, a in sorted(actions.items()) if a is Action.SELL]
    assert buys and sells, "the real history must contain both kinds of signal"
    return buys[-count:] + sells[-count:]


@pytest.mark.parametrize("market", MARKETS)
def test_ema_cross_when_talib_crosses_then_strategy_signals_same_side(market: str) -> None:
    candles = real_candles(market)
    strategy = EmaCross()
    fast = talib.EMA(candles.close, strategy.fast)
    slow = talib.EMA(candles.close, strategy.slow)
    gap = fast - slow
    actions = _cross_actions(np.r_[np.nan, gap[:-1]], gap, candles.close * 1e-7)
    for end, expected in _sample(actions):
        signal = strategy.evaluate(market, _prefix(candles, end), NOW)
        assert signal.action is expected, f"candle {end}"
        assert Decimal("0.5") <= signal.confidence <= 1
    quiet = next(i for i in range(len(candles) - 1, 100, -1) if i not in actions)
    assert strategy.evaluate(market, _prefix(candles, quiet), NOW).action is Action.HOLD


@pytest.mark.parametrize("market", MARKETS)
def test_ema_cross_readings_when_full_history_then_equal_talib(market: str) -> None:
    candles = real_candles(market)
    readings = EmaCross(fast=9, slow=21).readings(candles)
    assert readings["fast"] == pytest.approx(talib.EMA(candles.close, 9)[-1], rel=1e-9)
    assert readings["slow"] == pytest.approx(talib.EMA(candles.close, 21)[-1], rel=1e-9)
    assert readings["slow_prev"] == pytest.approx(talib.EMA(candles.close, 21)[-2], rel=1e-9)


@pytest.mark.parametrize("market", MARKETS)
def test_rsi_reversion_when_talib_rsi_past_thresholds_then_same_action(market: str) -> None:
    candles = real_candles(market)
    strategy = RsiReversion()
    rsi = talib.RSI(candles.close, strategy.period)
    assert strategy.readings(candles)["rsi"] == pytest.approx(rsi[-1], rel=1e-8)
    checked = {Action.BUY: 0, Action.SELL: 0, Action.HOLD: 0}
    for end in range(400, len(candles), 97):
        value = rsi[end]
        if abs(value - strategy.oversold) < 0.01 or abs(value - strategy.overbought) < 0.01:
            continue
        expected = (
            Action.BUY
            if value < strategy.oversold
            else Action.SELL
            if value > strategy.overbought
            else Action.HOLD
        )
        assert strategy.evaluate(market, _prefix(candles, end), NOW).action is expected
        checked[expected] += 1
    below = int(np.nanargmin(rsi))
    above = int(np.nanargmax(rsi))
    buy = strategy.evaluate(market, _prefix(candles, below), NOW)
    sell = strategy.evaluate(market, _prefix(candles, above), NOW)
    assert buy.action is Action.BUY and sell.action is Action.SELL
    assert checked[Action.HOLD] > 0


@pytest.mark.parametrize("market", MARKETS)
def test_macd_cross_when_talib_histogram_changes_sign_then_same_action(market: str) -> None:
    candles = real_candles(market)
    strategy = MacdCross()
    _, _, hist = talib.MACD(candles.close, strategy.fast, strategy.slow, strategy.signal)
    actions = _cross_actions(np.r_[np.nan, hist[:-1]], hist, candles.close * 1e-7)
    for end, expected in _sample(actions):
        assert strategy.evaluate(market, _prefix(candles, end), NOW).action is expected
    readings = strategy.readings(candles)
    assert readings["histogram"] == pytest.approx(hist[-1], rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("market", MARKETS)
def test_bollinger_breakout_when_talib_bands_broken_then_same_action(market: str) -> None:
    candles = real_candles(market)
    strategy = BollingerBreakout()
    upper, middle, lower = talib.BBANDS(candles.close, strategy.period, 2.0, 2.0)
    close = candles.close
    up = (close[:-1] <= upper[:-1]) & (close[1:] > upper[1:])
    down = (close[:-1] >= lower[:-1]) & (close[1:] < lower[1:])
    actions = {int(i) + 1: Action.BUY for i in np.nonzero(up)[0]}
    actions |= {int(i) + 1: Action.SELL for i in np.nonzero(down)[0]}
    for end, expected in _sample(actions):
        assert strategy.evaluate(market, _prefix(candles, end), NOW).action is expected
    readings = strategy.readings(candles)
    assert readings["upper"] == pytest.approx(upper[-1], rel=1e-12)
    assert readings["lower"] == pytest.approx(lower[-1], rel=1e-12)
    assert readings["middle"] == pytest.approx(middle[-1], rel=1e-12)


@pytest.mark.parametrize("market", MARKETS)
def test_atr_when_real_candles_then_decimal_equal_to_talib(market: str) -> None:
    candles = real_candles(market)
    value = atr(candles, 14)
    assert isinstance(value, Decimal)
    expected = talib.ATR(candles.high, candles.low, candles.close, 14)[-1]
    assert float(value) == pytest.approx(expected, rel=1e-8)


@pytest.mark.parametrize("market", MARKETS)
def test_signal_reference_price_when_real_candles_then_exact_csv_decimal(market: str) -> None:
    candles = real_candles(market)
    signal = EmaCross().evaluate(market, candles, NOW)
    assert signal.reference_price == Decimal(last_csv_close(market))
    assert str(signal.reference_price) == last_csv_close(market)
    assert signal.source is SignalSource.STRATEGY
    # Dated at the evaluated candle's close (its open + 1 hour), not at evaluation time.
    assert signal.created_at == candles.last_started_at + timedelta(hours=1) <= NOW
