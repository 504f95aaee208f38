"""Stops for strategy signals, placed a multiple of the ATR away from the close."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from dydx_trader.domain.signal import Action, Signal
from dydx_trader.strategies.base import (
    ParamReader,
    build_signal,
    check_period,
    check_range,
    float_to_decimal,
    params_digest,
)
from dydx_trader.strategies.candles import Candles
from dydx_trader.strategies.indicators import atr


@dataclass(frozen=True, slots=True)
class AtrStop:
    """A stop-loss ``multiple`` x ATR(``period``) on the losing side of the newest
    close (below it for BUY, above it for SELL). ``multiple`` 0 means no stop.

    The stop is put on the close's own decimal grid (the exchange's price
    digits) and rounded *away* from the close: a wider stop makes a
    risk-based size smaller, never larger.
    """

    multiple: float = 0.0
    period: int = 14

    def __post_init__(self) -> None:
        check_range("stop", "stop_atr", self.multiple, 0.0, 50.0)
        check_period("stop", "atr_period", self.period, low=1)

    @classmethod
    def read(cls, reader: ParamReader) -> AtrStop:
        """From a strategy's config: ``stop_atr`` (multiple, default 0) and ``atr_period``."""
        return cls(multiple=reader.number("stop_atr", 0.0), period=reader.integer("atr_period", 14))

    @property
    def emits_stops(self) -> bool:
        """True when BUY and SELL signals get a stop (a non-zero multiple)."""
        return self.multiple > 0

    @property
    def min_candles(self) -> int:
        """Candles the ATR needs (0 when there is no stop)."""
        return self.period + 1 if self.multiple else 0

    def price(self, candles: Candles, action: Action) -> Decimal | None:
        """The stop for a BUY or SELL at the newest close (USDC); None for CLOSE/HOLD,
        without a multiple, or when the stop would not be a positive price."""
        if not self.multiple or action not in (Action.BUY, Action.SELL):
            return None
        close = float_to_decimal(float(candles.close[-1]))
        distance = float_to_decimal(self.multiple * float(atr(candles, self.period)))
        exponent = close.as_tuple().exponent
        grid = Decimal(1).scaleb(exponent if isinstance(exponent, int) else 0)
        if action is Action.BUY:
            stop = (close - distance).quantize(grid, rounding=ROUND_FLOOR)
        else:
            stop = (close + distance).quantize(grid, rounding=ROUND_CEILING)
        if stop <= 0 or stop == close:
            return None
        return stop

    def signal(
        self,
        name: str,
        parameters: tuple[Hashable, ...],
        market: str,
        candles: Candles,
        now: datetime,
        verdict: tuple[Action, Decimal],
    ) -> Signal:
        """Strategy ``name``'s signal for ``verdict`` on the newest candle, carrying this
        stop; ``parameters`` name it (its id's digest)."""
        action, conf = verdict
        return build_signal(
            name,
            params_digest(*parameters),
            market,
            candles,
            now,
            action,
            conf,
            self.price(candles, action),
        )


NO_STOP = AtrStop()
"""Signals without a stop-loss (the default)."""
