"""ATR stops on strategy signals: on the losing side, on the price grid, rounded away."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
import talib
from strategy_data import HOUR, NOW, T0, real_candles

from dydx_trader.domain.errors import InvalidInput
from dydx_trader.domain.signal import Action
from dydx_trader.strategies import (
    AtrStop,
    BollingerBreakout,
    EmaCross,
    MacdCross,
    RsiReversion,
    build_strategy,
)
from dydx_trader.strategies.candles import Candles


def ranged(closes: list[float], half_range: float = 2.0) -> Candles:
    """Candles opening at the previous close, spanning +-``half_range`` around the close."""
    close = np.asarray(closes, dtype=np.float64)
    open_ = np.r_[close[0], close[:-1]]
    high = np.maximum(open_, close) + half_range
    low = np.minimum(open_, close) - half_range
    return Candles.from_arrays(T0 + HOUR * np.arange(len(close)), open_, high, low, close)


def test_buy_when_stop_atr_then_stop_below_close_rounded_down_on_close_grid() -> None:
    candles = ranged([100.0] * 80 + [110.0])
    # Last true range: high 112 - low 98 = 14; earlier ones 4.
    # Wilder ATR(14) = (13 x 4 + 14) / 14 = 4.714...; 2 ATR = 9.428...
    # 110.0 - 9.428... = 100.571... -> floor to the 0.1 grid of "110.0" = 100.5.
    signal = EmaCross(stop=AtrStop(2.0)).evaluate("BTC-USD", candles, NOW)
    assert signal.action is Action.BUY
    assert signal.stop_loss == Decimal("100.5")


def test_sell_when_stop_atr_then_stop_above_close_rounded_up() -> None:
    candles = ranged([100.0] * 80 + [90.0])
    # 90.0 + 9.428... = 99.428... -> ceiling on the 0.1 grid = 99.5.
    signal = MacdCross(stop=AtrStop(2.0)).evaluate("BTC-USD", candles, NOW)
    assert signal.action is Action.SELL
    assert signal.stop_loss == Decimal("99.5")


def test_hold_or_no_multiple_then_no_stop() -> None:
    assert (
        EmaCross(stop=AtrStop(2.0)).evaluate("BTC-USD", ranged([100.0] * 80), NOW).stop_loss is None
    )
    assert EmaCross().evaluate("BTC-USD", ranged([100.0] * 80 + [110.0]), NOW).stop_loss is None


def test_stop_when_it_would_be_below_zero_then_omitted() -> None:
    candles = ranged([1.0] * 40 + [1.5], half_range=0.9)
    signal = BollingerBreakout(stop=AtrStop(40.0)).evaluate("DOGE-USD", candles, NOW)
    assert signal.action is Action.BUY
    assert signal.stop_loss is None


@pytest.mark.parametrize("market", ["BTC-USD", "DOGE-USD"])
def test_stop_when_real_candles_then_talib_atr_multiple_on_price_grid(market: str) -> None:
    candles = real_candles(market)
    stop = AtrStop(1.5, 10)
    distance = 1.5 * float(talib.ATR(candles.high, candles.low, candles.close, 10)[-1])
    close = Decimal(repr(float(candles.close[-1])))
    buy = stop.price(candles, Action.BUY)
    sell = stop.price(candles, Action.SELL)
    assert buy is not None and sell is not None
    grid = Decimal(1).scaleb(int(close.as_tuple().exponent))
    assert buy % grid == 0 and sell % grid == 0
    # Rounded away from the close: at least the ATR distance, less than one grid step more.
    slack = distance * 1e-9
    assert distance - slack <= float(close - buy) < distance + float(grid)
    assert distance - slack <= float(sell - close) < distance + float(grid)
    assert stop.price(candles, Action.CLOSE) is None


def test_config_when_stop_params_then_built_and_part_of_signal_id() -> None:
    built = build_strategy("rsi_reversion", {"stop_atr": "2.5", "atr_period": 10})
    assert built == RsiReversion(stop=AtrStop(2.5, 10))
    composite = build_strategy("composite", {"stop_atr": 1})
    assert composite.stop == AtrStop(1.0)  # type: ignore[attr-defined]
    candles = ranged([100.0] * 80 + [110.0])
    assert (
        built.evaluate("BTC-USD", candles, NOW).id
        != RsiReversion().evaluate("BTC-USD", candles, NOW).id
    )


@pytest.mark.parametrize(
    ("params", "fragment"),
    [({"stop_atr": -1}, "stop_atr is -1"), ({"stop_atr": 51}, "stop_atr is 51"),
     ({"atr_period": 0}, "atr_period is 0")],
)  # fmt: skip
def test_config_when_stop_params_out_of_range_then_invalid_input(
    params: dict[str, object], fragment: str
) -> None:
    with pytest.raises(InvalidInput, match=fragment):
        build_strategy("ema_cross", params)


def test_min_candles_when_stop_period_longer_than_indicator_then_raised() -> None:
    assert BollingerBreakout(period=5, stop=AtrStop(1.0, 30)).min_candles == 31
    assert BollingerBreakout(period=5).min_candles == 6
