"""RSI mean reversion: buy what is oversold, sell what is overbought."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

import numpy as np

from dydx_trader.domain.errors import InvalidInput
from dydx_trader.domain.signal import Action, Signal
from dydx_trader.strategies.base import (
    ParamReader,
    build_signal,
    check_period,
    check_range,
    denoise,
    params_digest,
    require_candles,
    scaled_confidence,
)
from dydx_trader.strategies.candles import Candles
from dydx_trader.strategies.exits import NO_STOP, AtrStop
from dydx_trader.strategies.indicators import WARMUP_PERIODS, rsi


@dataclass(frozen=True, slots=True)
class RsiReversion:
    """BUY when RSI(``period``) is below ``oversold``, SELL when above
    ``overbought``, HOLD in between.

    Confidence: 0.5 at the threshold, rising linearly to 1 as the RSI goes
    halfway from the threshold to its extreme (``oversold`` -> 0,
    ``overbought`` -> 100). With the defaults, RSI 30 gives 0.5, RSI 15 gives 1.
    """

    name: ClassVar[str] = "rsi_reversion"

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

    @classmethod
    def from_params(cls, params: Mapping[str, object] | None) -> RsiReversion:
        """Build from config: ``period`` (int), ``oversold``, ``overbought`` (0-100).

        Also ``stop_atr`` and ``atr_period``: see :class:`AtrStop` (default: no stop).
        """
        reader = ParamReader(cls.name, params)
        built = cls(
            period=reader.integer("period", 14),
            oversold=reader.number("oversold", 30.0),
            overbought=reader.number("overbought", 70.0),
            stop=AtrStop.read(reader),
        )
        reader.done()
        return built

    @property
    def min_candles(self) -> int:
        # TA-Lib's RSI is defined from candle ``period + 1``.
        return max(self.stop.min_candles, self.period + 1)

    @property
    def lookback(self) -> int:
        return max(self.min_candles, WARMUP_PERIODS * self.period)

    def readings(self, candles: Candles) -> dict[str, float]:
        """The newest RSI value (0-100) and the price range of the window read."""
        require_candles(self.name, self.min_candles, candles)
        close = candles.close[-self.lookback :]
        return {"rsi": float(rsi(close, self.period)[-1]), "range": float(np.ptp(close))}

    def evaluate(self, market: str, candles: Candles, now: datetime) -> Signal:
        r = self.readings(candles)
        value = r["rsi"]
        if denoise(r["range"], float(candles.close[-1])) == 0:
            # No move beyond rounding: RSI is (nearly) 0/0, which TA-Lib reports as
            # 0 ("oversold") or, after a 1-ulp rise, 100 ("overbought").
            action, conf = Action.HOLD, scaled_confidence(0.0, 1.0)
        elif value < self.oversold:
            action = Action.BUY
            conf = scaled_confidence(self.oversold - value, self.oversold / 2)
        elif value > self.overbought:
            action = Action.SELL
            conf = scaled_confidence(value - self.overbought, (100 - self.overbought) / 2)
        else:
            action, conf = Action.HOLD, scaled_confidence(0.0, 1.0)
        return build_signal(
            self.name,
            params_digest(self.period, self.oversold, self.overbought, self.stop),
            market,
            candles,
            now,
            action,
            conf,
            self.stop.price(candles, action),
        )
