"""Bollinger breakout: trade a close that breaks out of its volatility band."""

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
from dydx_trader.strategies.indicator_strategy import IndicatorStrategy
from dydx_trader.strategies.indicators import bollinger


@dataclass(frozen=True, slots=True)
class BollingerBreakout(IndicatorStrategy):
    """BUY when the close crosses above the upper band (SMA(``period``) +
    ``deviations`` standard deviations) on the newest candle, SELL when it
    crosses below the lower band, HOLD otherwise.

    Confidence: 0.5 at the band, rising to 1 as the close goes past it by
    half the band's half-width (upper - middle): a close well outside the
    band is a stronger breakout than one touching it.
    """

    name: ClassVar[str] = "bollinger_breakout"
    # The fields that name its signals (their ids), in this order.
    PARAMETERS: ClassVar[tuple[str, ...]] = ("period", "deviations")

    period: int = 20
    deviations: float = 2.0
    stop: AtrStop = NO_STOP

    def __post_init__(self) -> None:
        check_period(self.name, "period", self.period)
        check_range(self.name, "deviations", self.deviations, 0.0, 10.0, open_low=True)

    @property
    def first_reading(self) -> int:
        # Bands are defined from candle ``period``; a cross needs two of them.
        return self.period + 1

    @property
    def warmup_span(self) -> int:
        # A simple moving window: exactly ``period + 1`` candles give the full value.
        return 0

    def readings(self, candles: Candles) -> dict[str, float]:
        """The newest and previous bands and closes (price units)."""
        close = self.closes(candles)
        upper, middle, lower = bollinger(close, self.period, self.deviations)
        return {
            "upper": float(upper[-1]),
            "middle": float(middle[-1]),
            "lower": float(lower[-1]),
            "upper_prev": float(upper[-2]),
            "lower_prev": float(lower[-2]),
            "close": float(close[-1]),
            "close_prev": float(close[-2]),
        }

    def verdict(self, candles: Candles) -> tuple[Action, Decimal]:
        r = self.readings(candles)
        half_width = r["upper"] - r["middle"]
        above = denoise(r["close"] - r["upper"], r["close"])
        below = denoise(r["lower"] - r["close"], r["close"])
        if r["close_prev"] <= r["upper_prev"] and above > 0:
            action, excess = Action.BUY, above
        elif r["close_prev"] >= r["lower_prev"] and below > 0:
            action, excess = Action.SELL, below
        else:
            action, excess = Action.HOLD, 0.0
        return action, scaled_confidence(excess, half_width / 2)

    def explain(self, candles: Candles) -> Explanation:
        r = self.readings(candles)
        close = r["close"]
        to_upper, to_lower = r["upper"] - close, close - r["lower"]
        buy_nearer = to_upper <= to_lower
        return Explanation(
            values=(("upper", r["upper"]), ("middle", r["middle"]), ("lower", r["lower"])),
            trigger=Action.BUY if buy_nearer else Action.SELL,
            condition="close crosses above the upper band"
            if buy_nearer
            else "close crosses below the lower band",
            distance=percent_of(to_upper if buy_nearer else to_lower, close),
            unit="%",
        )
