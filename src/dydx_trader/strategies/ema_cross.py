"""EMA crossover: follow the trend when a fast EMA crosses a slow one."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar

from dydx_trader.domain.signal import Action
from dydx_trader.strategies.base import (
    Explanation,
    check_period,
    check_range,
    denoise,
    percent_of,
    scaled_confidence,
)
from dydx_trader.strategies.candles import Candles
from dydx_trader.strategies.exits import NO_STOP, AtrStop
from dydx_trader.strategies.indicator_strategy import IndicatorStrategy, crossing
from dydx_trader.strategies.indicators import ema


@dataclass(frozen=True, slots=True)
class EmaCross(IndicatorStrategy):
    """BUY when EMA(``fast``) crosses above EMA(``slow``) on the newest candle,
    SELL when it crosses below, HOLD otherwise.

    Confidence: 0.5 at the cross, rising to 1 as the gap between the EMAs
    reaches ``full_gap`` (a fraction of the close, 0.002 = 0.2 %). A cross
    with the averages already far apart is a decisive move.
    """

    name: ClassVar[str] = "ema_cross"
    # The fields that name its signals (their ids), in this order.
    PARAMETERS: ClassVar[tuple[str, ...]] = ("fast", "slow", "full_gap")

    fast: int = 12
    slow: int = 26
    full_gap: float = 0.002
    stop: AtrStop = NO_STOP

    def __post_init__(self) -> None:
        check_period(self.name, "fast", self.fast)
        check_period(self.name, "slow", self.slow)
        if self.fast >= self.slow:
            check_range(self.name, "fast", self.fast, 2, self.slow - 1)
        check_range(self.name, "full_gap", self.full_gap, 0.0, 1.0, open_low=True)

    @property
    def first_reading(self) -> int:
        # The slow EMA is defined from candle ``slow``; a cross needs two values.
        return self.slow + 1

    @property
    def warmup_span(self) -> int:
        return self.slow

    def readings(self, candles: Candles) -> dict[str, float]:
        """The newest and previous EMA values the decision uses (price units)."""
        close = self.closes(candles)
        fast, slow = ema(close, self.fast), ema(close, self.slow)
        return {
            "fast": float(fast[-1]),
            "slow": float(slow[-1]),
            "fast_prev": float(fast[-2]),
            "slow_prev": float(slow[-2]),
        }

    def verdict(self, candles: Candles) -> tuple[Action, Decimal]:
        r = self.readings(candles)
        price = float(candles.close[-1])
        before = denoise(r["fast_prev"] - r["slow_prev"], price)
        after = denoise(r["fast"] - r["slow"], price)
        return crossing(before, after), scaled_confidence(abs(after) / price, self.full_gap)

    def explain(self, candles: Candles) -> Explanation:
        r = self.readings(candles)
        price = float(candles.close[-1])
        gap = denoise(r["fast"] - r["slow"], price)
        above = gap > 0
        return Explanation(
            values=((f"EMA({self.fast})", r["fast"]), (f"EMA({self.slow})", r["slow"])),
            trigger=Action.SELL if above else Action.BUY,
            condition=f"EMA({self.fast}) crosses {'below' if above else 'above'} EMA({self.slow})",
            distance=percent_of(abs(gap), price),
            unit="%",
        )
