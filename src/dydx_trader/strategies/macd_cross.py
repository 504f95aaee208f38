"""MACD cross: momentum turns when the MACD line crosses its signal line."""

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
from dydx_trader.strategies.indicators import macd


@dataclass(frozen=True, slots=True)
class MacdCross(IndicatorStrategy):
    """BUY when the MACD line crosses above its signal line on the newest
    candle, SELL when it crosses below, HOLD otherwise.

    Confidence: 0.5 at the cross, rising to 1 as the histogram (MACD minus
    signal) reaches ``full_histogram`` as a fraction of the close (0.001 =
    0.1 %): a sharp turn counts for more than a graze.
    """

    name: ClassVar[str] = "macd_cross"
    # The fields that name its signals (their ids), in this order.
    PARAMETERS: ClassVar[tuple[str, ...]] = ("fast", "slow", "signal", "full_histogram")

    fast: int = 12
    slow: int = 26
    signal: int = 9
    full_histogram: float = 0.001
    stop: AtrStop = NO_STOP

    def __post_init__(self) -> None:
        check_period(self.name, "fast", self.fast)
        check_period(self.name, "slow", self.slow)
        check_period(self.name, "signal", self.signal, low=1)
        if self.fast >= self.slow:
            check_range(self.name, "fast", self.fast, 2, self.slow - 1)
        check_range(self.name, "full_histogram", self.full_histogram, 0.0, 1.0, open_low=True)

    @property
    def first_reading(self) -> int:
        # TA-Lib's MACD output starts at index slow + signal - 2; a cross needs two.
        return self.slow + self.signal

    @property
    def warmup_span(self) -> int:
        return self.slow + self.signal

    def readings(self, candles: Candles) -> dict[str, float]:
        """The newest and previous histogram values (price units) and the MACD line."""
        line, _, hist = macd(self.closes(candles), self.fast, self.slow, self.signal)
        return {
            "macd": float(line[-1]),
            "histogram": float(hist[-1]),
            "histogram_prev": float(hist[-2]),
        }

    def verdict(self, candles: Candles) -> tuple[Action, Decimal]:
        r = self.readings(candles)
        price = float(candles.close[-1])
        before = denoise(r["histogram_prev"], price)
        after = denoise(r["histogram"], price)
        return crossing(before, after), scaled_confidence(abs(after) / price, self.full_histogram)

    def explain(self, candles: Candles) -> Explanation:
        r = self.readings(candles)
        price = float(candles.close[-1])
        histogram = denoise(r["histogram"], price)
        above = histogram > 0
        return Explanation(
            values=(("MACD", r["macd"]), ("histogram", r["histogram"])),
            trigger=Action.SELL if above else Action.BUY,
            condition=f"MACD crosses {'below' if above else 'above'} its signal line",
            distance=percent_of(abs(histogram), price),
            unit="%",
        )
