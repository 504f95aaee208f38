"""Runs the configured strategies on each newly closed candle and hands their
signals to the trade flow.

A candle is evaluated once, when the next one has started (the newest candle
of a series is still forming). HOLD signals are dropped here: they would only
fill the journal. The runner owns no trading rule; the flow validates, sizes
and checks every signal it passes on.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from dydx_trader.app.ports import Clock
from dydx_trader.domain.errors import DydxTraderError
from dydx_trader.domain.signal import Action, Signal
from dydx_trader.domain.venue import Candle, CandleResolution
from dydx_trader.strategies.base import Strategy
from dydx_trader.strategies.candles import Candles

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StrategyAssignment:
    """One strategy on one market's candles of one resolution."""

    strategy: Strategy
    market: str
    resolution: CandleResolution


class StrategyRunner:
    """Evaluates each assignment once per closed candle.

    ``candles(market, resolution)`` returns the series oldest first (the last
    one may be forming); ``submit`` takes each BUY / SELL / CLOSE signal;
    ``clock`` stamps the signals (its aware ``now()``).
    """

    def __init__(
        self,
        assignments: Sequence[StrategyAssignment],
        candles: Callable[[str, CandleResolution], Sequence[Candle]],
        submit: Callable[[Signal], Awaitable[object]],
        clock: Clock,
    ) -> None:
        self._assignments = tuple(assignments)
        self._candles = candles
        self._submit = submit
        self._clock = clock
        self._evaluated: dict[tuple[str, str, CandleResolution], datetime] = {}
        self.signals_emitted = 0

    @property
    def series(self) -> tuple[tuple[str, CandleResolution], ...]:
        """Every (market, resolution) the strategies read, for the market-data feed."""
        return tuple(dict.fromkeys((a.market, a.resolution) for a in self._assignments))

    async def tick(self) -> list[Signal]:
        """Evaluate what has closed since the last tick; returns the signals submitted."""
        submitted = []
        for assignment in self._assignments:
            signal = self._evaluate(assignment)
            if signal is None:
                continue
            self.signals_emitted += 1
            await self._submit(signal)
            submitted.append(signal)
        return submitted

    def _evaluate(self, assignment: StrategyAssignment) -> Signal | None:
        series = self._candles(assignment.market, assignment.resolution)
        closed = series[:-1]  # the newest candle is still forming
        if len(closed) < assignment.strategy.min_candles:
            return None
        key = (assignment.strategy.name, assignment.market, assignment.resolution)
        last = closed[-1].started_at
        if self._evaluated.get(key) == last:
            return None
        self._evaluated[key] = last
        try:
            signal = assignment.strategy.evaluate(
                assignment.market, Candles.from_candles(closed), self._clock.now()
            )
        except DydxTraderError as error:
            log.warning("%s on %s: %s", assignment.strategy.name, assignment.market, error)
            return None
        return None if signal.action is Action.HOLD else signal
