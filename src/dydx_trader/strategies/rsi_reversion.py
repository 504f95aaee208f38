"""RSI mean reversion: buy what is oversold, sell what is overbought."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar

import numpy as np

from dydx_trader.domain.errors import InvalidInput
from dydx_trader.domain.signal import Action
from dydx_trader.strategies.base import (
    Explanation,
    check_period,
    check_range,
    denoise,
    scaled_confidence,
)
from dydx_trader.strategies.candles import Candles
from dydx_trader.strategies.exits import NO_STOP, AtrStop
from dydx_trader.strategies.indicator_strategy import IndicatorStrategy
from dydx_trader.strategies.indicators import rsi


@dataclass(frozen=True, slots=True)
class RsiReversion(IndicatorStrategy):
    """BUY when RSI(``period``) is below ``oversold``, SELL when above
    ``overbought``, HOLD in between.

    Confidence: 0.5 at the threshold, rising linearly to 1 as the RSI goes
    halfway from the threshold to its extreme (``oversold`` -> 0,
    ``overbought`` -> 100). With the defaults, RSI 30 gives 0.5, RSI 15 gives 1.
    """

    name: ClassVar[str] = "rsi_reversion"
    # The fields that name its signals (their ids), in this order.
    PARAMETERS: ClassVar[tuple[str, ...]] = ("period", "oversold", "overbought")

    period: int = 14
    oversold: float = 30.0
    overbought: float = 70.0
    stop: AtrStop = NO_STOP

    def __post_init__(self) -> None:
        check_period(self.name, "period", self.period)
        check_range(self.name, "oversold", self.oversold, 0.0, 100.0, open_low=True)
        check_range(self.name, "overbought", self.overbought, 0.0, 100.0)
        if not self.oversold < self.overbought < 100:
            raise InvalidInput(
                f"strategy {self.name}: oversold {self.oversold} must be below overbought "
                f"{self.overbought}, and overbought below 100"
            )

    @property
    def first_reading(self) -> int:
        # TA-Lib's RSI is defined from candle ``period + 1``.
        return self.period + 1

    @property
    def warmup_span(self) -> int:
        return self.period

    def readings(self, candles: Candles) -> dict[str, float]:
        """The newest RSI value (0-100) and the price range of the window read."""
        close = self.closes(candles)
        return {"rsi": float(rsi(close, self.period)[-1]), "range": float(np.ptp(close))}

    def verdict(self, candles: Candles) -> tuple[Action, Decimal]:
        r = self.readings(candles)
        value = r["rsi"]
        if denoise(r["range"], float(candles.close[-1])) == 0:
            # No move beyond rounding: RSI is (nearly) 0/0, which TA-Lib reports as
            # 0 ("oversold") or, after a 1-ulp rise, 100 ("overbought").
            return Action.HOLD, scaled_confidence(0.0, 1.0)
        if value < self.oversold:
            return Action.BUY, scaled_confidence(self.oversold - value, self.oversold / 2)
        if value > self.overbought:
            return Action.SELL, scaled_confidence(
                value - self.overbought, (100 - self.overbought) / 2
            )
        return Action.HOLD, scaled_confidence(0.0, 1.0)

    def explain(self, candles: Candles) -> Explanation:
        value = self.readings(candles)["rsi"]
        to_oversold, to_overbought = value - self.oversold, self.overbought - value
        buy_nearer = to_oversold <= to_overbought
        return Explanation(
            values=((f"RSI({self.period})", value),),
            trigger=Action.BUY if buy_nearer else Action.SELL,
            condition=f"RSI below {self.oversold:g}"
            if buy_nearer
            else f"RSI above {self.overbought:g}",
            distance=max(0.0, to_oversold if buy_nearer else to_overbought),
            unit="RSI points",
        )
