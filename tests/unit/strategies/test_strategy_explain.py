"""Strategies explain themselves (TA-Lib's values, the distance to the trigger),
say whether they emit stops, and date their signals at the candle's close."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import talib
from strategy_data import HOUR, T0, flat_then, real_candles, series

from dydx_trader.domain.signal import Action
from dydx_trader.strategies import (
    AtrStop,
    BollingerBreakout,
    Composite,
    EmaCross,
    MacdCross,
    RsiReversion,
    default_strategies,
)
from dydx_trader.strategies.base import Strategy
from dydx_trader.strategies.scan import scan_market


def test_explain_when_ema_cross_then_talib_values_and_gap_to_the_cross() -> None:
    candles = real_candles("ETH-USD")
    explanation = EmaCross(fast=9, slow=21).explain(candles)

    values = dict(explanation.values)
    fast, slow = talib.EMA(candles.close, 9)[-1], talib.EMA(candles.close, 21)[-1]
    assert values["EMA(9)"] == pytest.approx(fast, rel=1e-9)
    assert values["EMA(21)"] == pytest.approx(slow, rel=1e-9)
    assert explanation.trigger is (Action.SELL if fast > slow else Action.BUY)
    assert explanation.unit == "%"
    assert explanation.distance == pytest.approx(abs(fast - slow) / candles.close[-1] * 100)


def test_explain_when_rsi_between_thresholds_then_points_to_the_nearer_one() -> None:
    candles = real_candles("BTC-USD")
    strategy = RsiReversion(period=14, oversold=30, overbought=70)
    rsi = talib.RSI(candles.close, 14)[-1]

    explanation = strategy.explain(candles)

    assert dict(explanation.values)["RSI(14)"] == pytest.approx(rsi, rel=1e-8)
    nearer_buy = rsi - 30 <= 70 - rsi
    assert explanation.trigger is (Action.BUY if nearer_buy else Action.SELL)
    assert explanation.distance == pytest.approx(rsi - 30 if nearer_buy else 70 - rsi)
    assert explanation.unit == "RSI points"


def test_explain_when_close_breaks_out_then_distance_zero_and_buy() -> None:
    candles = flat_then(100.0, 30, 120.0)

    explanation = BollingerBreakout(period=20).explain(candles)

    assert explanation.trigger is Action.BUY and explanation.distance == 0
    assert BollingerBreakout(period=20).verdict(candles)[0] is Action.BUY


def test_explain_when_composite_then_member_votes_and_votes_missing() -> None:
    candles = flat_then(100.0, 80, 110.0)  # EMA and MACD cross up, Bollinger breaks out
    composite = Composite(members=(EmaCross(), MacdCross(), RsiReversion()), min_votes=3)

    explanation = composite.explain(candles)

    votes = dict(explanation.values)
    assert votes["ema_cross"] > 0 and votes["macd_cross"] > 0
    assert explanation.trigger is Action.BUY and explanation.unit == "votes"
    assert explanation.distance == 1  # two of the three needed vote BUY


@pytest.mark.parametrize("strategy", default_strategies(), ids=lambda s: s.name)
def test_explain_when_any_strategy_then_finite_values_and_non_negative_distance(
    strategy: Strategy,
) -> None:
    explanation = strategy.explain(real_candles("SOL-USD"))
    assert explanation.values and explanation.condition
    assert explanation.distance >= 0
    assert all(value == value for _, value in explanation.values)  # no NaN


def test_emits_stops_when_stop_atr_set_then_true_and_composite_uses_its_own() -> None:
    assert not EmaCross().emits_stops
    assert EmaCross(stop=AtrStop(2.0)).emits_stops
    assert not Composite(members=(EmaCross(stop=AtrStop(2.0)), MacdCross())).emits_stops
    assert Composite(members=(EmaCross(), MacdCross()), stop=AtrStop(1.5)).emits_stops


def test_evaluate_when_candle_closed_then_signal_dated_at_its_close() -> None:
    candles = flat_then(100.0, 80, 110.0)
    close = datetime.fromtimestamp(T0 + HOUR * 80, UTC) + timedelta(hours=1)
    much_later = close + timedelta(days=2)

    signal = EmaCross().evaluate("BTC-USD", candles, much_later)

    assert signal.action is Action.BUY
    assert signal.created_at == close == candles.last_closed_at


def test_evaluate_when_candle_still_forming_then_dated_now_never_in_the_future() -> None:
    candles = flat_then(100.0, 80, 110.0)
    mid_candle = candles.last_started_at + timedelta(minutes=20)

    signal = EmaCross().evaluate("BTC-USD", candles, mid_candle)

    assert signal.created_at == mid_candle


def test_last_closed_at_when_a_candle_is_missing_then_interval_still_one_hour() -> None:
    candles = series([1.0, 2.0, 3.0, 4.0])
    gapped = type(candles).from_arrays(
        [T0, T0 + HOUR, T0 + 3 * HOUR, T0 + 4 * HOUR], *([candles.close] * 4)
    )

    assert gapped.interval_s == HOUR
    assert gapped.last_closed_at == datetime.fromtimestamp(T0 + 5 * HOUR, UTC)


def test_scan_market_when_explain_asked_then_each_result_carries_one() -> None:
    results = scan_market(default_strategies(), "ETH-USD", real_candles("ETH-USD"),
                          datetime(2025, 7, 26, 5, tzinfo=UTC), explain=True)  # fmt: skip

    assert results and all(r.explanation is not None for r in results)
