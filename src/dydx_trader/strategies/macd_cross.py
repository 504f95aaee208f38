"""MACD cross: momentum turns when the MACD line crosses its signal line."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import ClassVar

from dydx_trader.domain.signal import Action, Signal
from dydx_trader.strategies.base import (
    Explanation,
    ParamReader,
    build_signal,
    check_period,
    check_range,
    denoise,
    params_digest,
    percent_of,
    require_candles,
    scaled_confidence,
)
from dydx_trader.strategies.candles import Candles
from dydx_trader.strategies.exits import NO_STOP, AtrStop
from dydx_trader.strategies.indicators import WARMUP_PERIODS, macd


@dataclass(frozen=True, slots=True)
class MacdCross:
    """BUY when the MACD line crosses above its signal line on the newest
    candle, SELL when it crosses below, HOLD otherwise.

    Confidence: 0.5 at the cross, rising to 1 as the histogram (MACD minus
    signal) reaches ``full_histogram`` as a fraction of the close (0.001 =
    0.1 %): a sharp turn counts for more than a graze.
    """

    name: ClassVar[str] = "macd_cross"

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

    @classmethod
    def from_params(cls, params: Mapping[str, object] | None) -> MacdCross:
        """Build from config: ``fast``, ``slow``, ``signal`` (ints), ``full_histogram``.

        Also ``stop_atr`` and ``atr_period``: see :class:`AtrStop` (default: no stop).
        """
        reader = ParamReader(cls.name, params)
        built = cls(
            fast=reader.integer("fast", 12),
            slow=reader.integer("slow", 26),
            signal=reader.integer("signal", 9),
            full_histogram=reader.number("full_histogram", 0.001),
            stop=AtrStop.read(reader),
        )
        reader.done()
        return built

    @property
    def min_candles(self) -> int:
        # TA-Lib's MACD output starts at index slow + signal - 2; a cross needs two.
        return max(self.stop.min_candles, self.slow + self.signal)

    @property
    def lookback(self) -> int:
        return max(self.min_candles, WARMUP_PERIODS * (self.slow + self.signal))

    def readings(self, candles: Candles) -> dict[str, float]:
        """The newest and previous histogram values (price units) and the MACD line."""
        require_candles(self.name, self.min_candles, candles)
        line, _, hist = macd(candles.close[-self.lookback :], self.fast, self.slow, self.signal)
        return {
            "macd": float(line[-1]),
            "histogram": float(hist[-1]),
            "histogram_prev": float(hist[-2]),
        }

    @property
    def emits_stops(self) -> bool:
        return self.stop.emits_stops

    def verdict(self, candles: Candles) -> tuple[Action, Decimal]:
        r = self.readings(candles)
        price = float(candles.close[-1])
        before = denoise(r["histogram_prev"], price)
        after = denoise(r["histogram"], price)
        if before <= 0 < after:
            action = Action.BUY
        elif before >= 0 > after:
            action = Action.SELL
        else:
            action = Action.HOLD
        return action, scaled_confidence(abs(after) / price, self.full_histogram)

    def evaluate(self, market: str, candles: Candles, now: datetime) -> Signal:
        action, conf = self.verdict(candles)
        return build_signal(
            self.name,
            params_digest(self.fast, self.slow, self.signal, self.full_histogram, self.stop),
            market,
            candles,
            now,
            action,
            conf,
            self.stop.price(candles, action),
        )

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
