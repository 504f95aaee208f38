"""Strategies on hand-made series where the right signal is known."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import ClassVar

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategy_data import NOW, flat_then, series

from dydx_trader.domain.errors import InvalidInput
from dydx_trader.domain.signal import Action, Signal, SignalSource
from dydx_trader.strategies import (
    BollingerBreakout,
    Composite,
    EmaCross,
    MacdCross,
    RsiReversion,
    atr,
)
from dydx_trader.strategies.base import Explanation
from dydx_trader.strategies.candles import Candles


def test_ema_cross_when_flat_then_jump_up_then_buy() -> None:
    # Flat: both EMAs equal the level; the jump lifts the fast one above the slow one.
    signal = EmaCross().evaluate("BTC-USD", flat_then(100.0, 80, 110.0), NOW)
    assert signal.action is Action.BUY
    # gap = (2/13 - 2/27) x 10 / 110 ~ 0.73 % > full_gap 0.2 % -> full confidence
    assert signal.confidence == Decimal(1)
    assert signal.reference_price == Decimal("110.0")


def test_ema_cross_when_flat_then_drop_then_sell() -> None:
    signal = EmaCross().evaluate("BTC-USD", flat_then(100.0, 80, 90.0), NOW)
    assert signal.action is Action.SELL


def test_ema_cross_when_tiny_jump_then_confidence_between_half_and_one() -> None:
    # gap = (2/13 - 2/27) x 0.1 / 100.1 ~ 8e-5, full_gap 2e-3 -> 0.5 + 0.5 x 0.04 = 0.52
    signal = EmaCross().evaluate("BTC-USD", flat_then(100.0, 80, 100.1), NOW)
    assert signal.action is Action.BUY
    assert Decimal("0.51") < signal.confidence < Decimal("0.53")


def test_ema_cross_when_steady_trend_without_new_cross_then_hold() -> None:
    signal = EmaCross().evaluate("BTC-USD", series(np.linspace(100, 200, 200)), NOW)
    assert signal.action is Action.HOLD
    assert signal.confidence == 0


def test_ema_cross_when_flat_then_hold() -> None:
    assert EmaCross().evaluate("BTC-USD", flat_then(5.0, 60), NOW).action is Action.HOLD


def test_rsi_reversion_when_steadily_falling_then_buy_full_confidence() -> None:
    signal = RsiReversion().evaluate("ETH-USD", series(np.linspace(200, 100, 60)), NOW)
    assert signal.action is Action.BUY  # RSI 0: every move was down
    assert signal.confidence == Decimal(1)


def test_rsi_reversion_when_steadily_rising_then_sell_full_confidence() -> None:
    signal = RsiReversion().evaluate("ETH-USD", series(np.linspace(100, 200, 60)), NOW)
    assert signal.action is Action.SELL
    assert signal.confidence == Decimal(1)


def test_rsi_reversion_when_alternating_equal_moves_then_hold() -> None:
    closes = [100.0 + (i % 2) for i in range(60)]
    assert RsiReversion().evaluate("ETH-USD", series(closes), NOW).action is Action.HOLD


def test_rsi_reversion_when_just_past_threshold_then_confidence_near_half() -> None:
    # Gains 1, losses 3 in a strict alternation: RSI ~ 25; halfway to 0 is 15 ->
    # confidence 0.5 + 0.5 x (30 - 25) / 15 ~ 0.67.
    closes = [100.0]
    for i in range(80):
        closes.append(closes[-1] + (1.0 if i % 2 else -3.0))
    signal = RsiReversion().evaluate("ETH-USD", series(closes), NOW)
    assert signal.action is Action.BUY
    assert Decimal("0.6") < signal.confidence < Decimal("0.75")


def test_macd_cross_when_flat_then_jump_up_then_buy() -> None:
    assert MacdCross().evaluate("SOL-USD", flat_then(50.0, 80, 55.0), NOW).action is Action.BUY


def test_macd_cross_when_flat_then_drop_then_sell() -> None:
    assert MacdCross().evaluate("SOL-USD", flat_then(50.0, 80, 45.0), NOW).action is Action.SELL


def test_macd_cross_when_flat_then_hold() -> None:
    assert MacdCross().evaluate("SOL-USD", flat_then(50.0, 80), NOW).action is Action.HOLD


def test_bollinger_breakout_when_close_jumps_above_band_then_buy() -> None:
    # 19 x 100 and 110: mean 100.5, sd 2.18, upper 104.86; 110 is far past it.
    signal = BollingerBreakout().evaluate("DOGE-USD", flat_then(100.0, 40, 110.0), NOW)
    assert signal.action is Action.BUY
    assert signal.confidence == Decimal(1)


def test_bollinger_breakout_when_close_drops_below_band_then_sell() -> None:
    signal = BollingerBreakout().evaluate("DOGE-USD", flat_then(100.0, 40, 90.0), NOW)
    assert signal.action is Action.SELL


def test_bollinger_breakout_when_already_outside_band_then_hold() -> None:
    # The previous close already broke out; the newest one is no new breakout.
    closes = [100.0] * 40 + [110.0, 100.0]
    assert BollingerBreakout().evaluate("DOGE-USD", series(closes), NOW).action is Action.HOLD


@pytest.mark.parametrize("strategy", [EmaCross(), RsiReversion(), MacdCross(), BollingerBreakout()])
def test_evaluate_when_too_few_candles_then_invalid_input_says_how_many(strategy: object) -> None:
    assert hasattr(strategy, "evaluate")
    with pytest.raises(InvalidInput, match="needs at least"):
        strategy.evaluate("BTC-USD", flat_then(1.0, 5), NOW)  # type: ignore[attr-defined]


def test_evaluate_when_same_candle_twice_then_same_signal_id() -> None:
    candles = flat_then(100.0, 80, 110.0)
    first = EmaCross().evaluate("BTC-USD", candles, NOW)
    again = EmaCross().evaluate("BTC-USD", candles, NOW)
    other_params = EmaCross(fast=5).evaluate("BTC-USD", candles, NOW)
    assert first.id == again.id
    assert first.id != other_params.id
    assert first.id.endswith(f":BTC-USD:{int(candles.timestamps[-1])}")


def test_evaluate_when_market_malformed_then_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="market"):
        EmaCross().evaluate("btc/usd", flat_then(100.0, 80, 110.0), NOW)


def test_atr_when_constant_range_then_that_range() -> None:
    n = 60
    close = np.full(n, 100.0)
    candles = Candles.from_arrays(
        1_700_000_000 + 3600 * np.arange(n), close, close + 2.0, close - 2.0, close
    )
    assert atr(candles, 14) == Decimal("4.0")


def test_atr_when_too_few_candles_or_bad_period_then_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="needs at least"):
        atr(flat_then(1.0, 5), 14)
    with pytest.raises(InvalidInput, match="period"):
        atr(flat_then(1.0, 50), 0)


# -- composite -------------------------------------------------------------------------


@dataclass(frozen=True)
class Fixed:
    """A member that always says the same thing (a fake, for counting votes)."""

    name: ClassVar[str] = "fixed"
    action: Action
    confidence: Decimal
    tag: int = 0
    min_candles: int = 1
    lookback: int = 1
    emits_stops: bool = False

    def verdict(self, candles: Candles) -> tuple[Action, Decimal]:
        return self.action, self.confidence if self.action is not Action.HOLD else Decimal(0)

    def evaluate(self, market: str, candles: Candles, now: datetime) -> Signal:
        action, confidence = self.verdict(candles)
        return Signal(
            id=f"fixed{self.tag}:{market}",
            market=market,
            action=action,
            confidence=confidence,
            source=SignalSource.STRATEGY,
            strategy=self.name,
            created_at=now,
        )

    def explain(self, candles: Candles) -> Explanation:
        return Explanation((), self.action, "always", 0.0, "votes")


def _composite(*votes: tuple[Action, str], min_votes: int = 2) -> Composite:
    members = tuple(Fixed(a, Decimal(c), tag=i) for i, (a, c) in enumerate(votes))
    return Composite(members=members, min_votes=min_votes)


def test_composite_when_all_agree_fully_then_confidence_one() -> None:
    composite = _composite((Action.BUY, "1"), (Action.BUY, "1"), (Action.BUY, "1"))
    signal = composite.evaluate("BTC-USD", flat_then(1.0, 3), NOW)
    assert (signal.action, signal.confidence) == (Action.BUY, Decimal(1))


def test_composite_when_dissent_then_confidence_is_net_weight_per_member() -> None:
    composite = _composite(
        (Action.SELL, "0.9"), (Action.SELL, "0.7"), (Action.BUY, "0.6"), (Action.HOLD, "0")
    )
    signal = composite.evaluate("BTC-USD", flat_then(1.0, 3), NOW)
    # (0.9 + 0.7 - 0.6) / 4 = 0.25
    assert (signal.action, signal.confidence) == (Action.SELL, Decimal("0.25"))


def test_composite_when_fewer_votes_than_min_votes_then_hold() -> None:
    composite = _composite((Action.BUY, "1"), (Action.HOLD, "0"), (Action.HOLD, "0"))
    assert composite.evaluate("BTC-USD", flat_then(1.0, 3), NOW).action is Action.HOLD


def test_composite_when_tie_then_hold() -> None:
    composite = _composite(
        (Action.BUY, "0.8"), (Action.BUY, "0.8"), (Action.SELL, "0.8"), (Action.SELL, "0.8")
    )
    assert composite.evaluate("BTC-USD", flat_then(1.0, 3), NOW).action is Action.HOLD


def test_composite_when_real_members_on_jump_then_trend_members_outvote_rsi() -> None:
    members = (EmaCross(), MacdCross(), BollingerBreakout(), RsiReversion())
    candles = flat_then(100.0, 80, 110.0)
    votes = Composite(members=members).vote("BTC-USD", candles, NOW)
    assert [v.action for v in votes] == [Action.BUY, Action.BUY, Action.BUY, Action.SELL]
    signal = Composite(members=members).evaluate("BTC-USD", candles, NOW)
    expected = (sum(v.confidence for v in votes[:3]) - votes[3].confidence) / 4
    assert signal.action is Action.BUY
    assert signal.confidence == expected.quantize(Decimal("0.0001"))


def test_composite_when_min_votes_out_of_range_or_no_members_then_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="min_votes"):
        Composite(members=(EmaCross(),), min_votes=2)
    with pytest.raises(InvalidInput, match="non-empty"):
        Composite(members=())
    with pytest.raises(InvalidInput, match="plain strategies"):
        Composite(members=(Composite(members=(EmaCross(),), min_votes=1),), min_votes=1)


def test_rsi_reversion_when_price_never_moved_then_hold_not_oversold() -> None:
    # TA-Lib reports RSI 0 for a flat series (0/0); that is no reason to buy.
    signal = RsiReversion().evaluate("ETH-USD", flat_then(100.0, 60), NOW)
    assert signal.action is Action.HOLD


def test_every_strategy_when_price_never_moved_then_hold() -> None:
    candles = flat_then(100.0, 80)
    for strategy in (EmaCross(), RsiReversion(), MacdCross(), BollingerBreakout()):
        assert strategy.evaluate("ETH-USD", candles, NOW).action is Action.HOLD, strategy.name


def test_crossovers_when_flat_then_two_ulp_wobble_then_no_signal() -> None:
    # Without the noise floor this MACD histogram goes 0 -> +1.1e-14 and reads as a
    # BUY cross; a move of 2 ulps is float rounding, not a market move.
    level = 123.456
    wobble = np.nextafter(np.nextafter(level, 1e9), 1e9)
    candles = series([level] * 81 + [wobble])
    assert MacdCross().readings(candles)["histogram"] > 0
    for strategy in (EmaCross(), MacdCross()):
        assert strategy.evaluate("ETH-USD", candles, NOW).action is Action.HOLD


@settings(max_examples=150, deadline=None)
@given(
    level=st.floats(min_value=1e-6, max_value=1e6),
    flat=st.integers(min_value=60, max_value=120),
    ulps=st.lists(st.integers(min_value=-3, max_value=3), min_size=1, max_size=3),
)
def test_every_strategy_when_flat_with_rounding_wobble_then_hold(
    level: float, flat: int, ulps: list[int]
) -> None:
    tail = []
    for step in ulps:
        value = level
        for _ in range(abs(step)):
            value = float(np.nextafter(value, 1e9 if step > 0 else 0.0))
        tail.append(value)
    candles = series([level] * flat + tail)
    for strategy in (EmaCross(), MacdCross(), BollingerBreakout(), RsiReversion()):
        signal = strategy.evaluate("ETH-USD", candles, NOW)
        assert signal.action is Action.HOLD, (strategy.name, level, ulps)
