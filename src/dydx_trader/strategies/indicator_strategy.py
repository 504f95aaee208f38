"""What the single-indicator strategies share (EMA cross, RSI reversion, MACD
cross, Bollinger breakout): reading their parameters, how many candles they
need and read, the window of closes, and turning a verdict into a signal with
its ATR stop. Each strategy keeps only its own parameters and rule."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Hashable, Mapping
from dataclasses import fields
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar, Self

from dydx_trader.domain.signal import Action, Signal
from dydx_trader.strategies.base import ParamReader, require_candles
from dydx_trader.strategies.candles import Candles, FloatArray
from dydx_trader.strategies.exits import AtrStop
from dydx_trader.strategies.indicators import WARMUP_PERIODS


class IndicatorStrategy(ABC):
    """The shared part of an indicator strategy. A subclass is a frozen dataclass
    whose fields are its parameters (ints for periods, floats for thresholds, each
    with its default, each also its config key) and a ``stop`` (:class:`AtrStop`,
    read from ``stop_atr`` and ``atr_period``); it gives :meth:`verdict`,
    :attr:`first_reading` (the candle count from which its indicator is defined
    for the rule, e.g. two values for a cross), :attr:`warmup_span` (the period
    a recursive indicator settles over; 0 for a moving window) and
    :attr:`PARAMETERS` (the names of the fields that name its signals)."""

    __slots__ = ()
    name: ClassVar[str]
    PARAMETERS: ClassVar[tuple[str, ...]]
    if TYPE_CHECKING:
        stop: AtrStop

    @property
    @abstractmethod
    def first_reading(self) -> int:
        """Fewest candles the indicator's rule can be read from."""

    @property
    @abstractmethod
    def warmup_span(self) -> int:
        """Candles over which the indicator settles (times :data:`WARMUP_PERIODS`)."""

    @abstractmethod
    def verdict(self, candles: Candles) -> tuple[Action, Decimal]:
        """The action and its confidence on the newest candle of ``candles``."""

    @classmethod
    def from_params(cls, params: Mapping[str, object] | None) -> Self:
        """Build from config: each of :attr:`PARAMETERS` under its field's name (an
        int where the default is one, else a number), and the stop; any other key
        is refused, naming it."""
        defaults: dict[str, Any] = {field.name: field.default for field in fields(cls)}  # type: ignore[arg-type]
        reader = ParamReader(cls.name, params)
        values: dict[str, Any] = {}
        for name in cls.PARAMETERS:
            default = defaults[name]
            if isinstance(default, int):
                values[name] = reader.integer(name, default)
            else:
                values[name] = reader.number(name, float(default))
        values["stop"] = AtrStop.read(reader)
        built = cls(**values)
        reader.done()
        return built

    @property
    def parameters(self) -> tuple[Hashable, ...]:
        """The values of :attr:`PARAMETERS`, in order (its signals' digest)."""
        return tuple(getattr(self, field) for field in self.PARAMETERS)

    @property
    def min_candles(self) -> int:
        return max(self.stop.min_candles, self.first_reading)

    @property
    def lookback(self) -> int:
        return max(self.min_candles, WARMUP_PERIODS * self.warmup_span)

    @property
    def emits_stops(self) -> bool:
        return self.stop.emits_stops

    def closes(self, candles: Candles) -> FloatArray:
        """The closes the indicator reads: the newest :attr:`lookback` (price units);
        refuses a series shorter than :attr:`min_candles`."""
        require_candles(self.name, self.min_candles, candles)
        return candles.close[-self.lookback :]

    def evaluate(self, market: str, candles: Candles, now: datetime) -> Signal:
        return self.stop.signal(
            self.name, (*self.parameters, self.stop), market, candles, now, self.verdict(candles)
        )


def crossing(before: float, after: float) -> Action:
    """BUY when a difference turns positive on the newest candle, SELL when it turns
    negative, HOLD otherwise (``before`` and ``after`` already denoised)."""
    if before <= 0 < after:
        return Action.BUY
    if before >= 0 > after:
        return Action.SELL
    return Action.HOLD
