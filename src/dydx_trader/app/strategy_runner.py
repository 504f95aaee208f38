"""Runs the configured strategies on every closed candle and hands their
signals to the trade flow.

A candle is closed once its end (start + resolution) is not after the clock's
``now()``; the candle still forming is never read. Each strategy evaluates
every closed candle exactly once, oldest first: candles that closed since the
last :meth:`StrategyRunner.tick` are caught up on in order, each with the
series as it stood when that candle closed, so a slow tick skips nothing. On
its first tick an assignment evaluates only the newest closed candle (the
history before the session is for the indicators, not for trading).

HOLD signals are dropped here: they would only fill the journal. The runner
owns no trading rule; the flow validates, sizes and checks every signal.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

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


def closed_candles(
    series: Sequence[Candle], resolution: CandleResolution, now: datetime
) -> Sequence[Candle]:
    """The candles of ``series`` (oldest first) that have closed by ``now``."""
    length = timedelta(seconds=resolution.seconds)
    end = len(series)
    while end and series[end - 1].started_at + length > now:
        end -= 1
    return series[:end]


def evaluate_candle(
    assignment: StrategyAssignment, closed: Sequence[Candle], now: datetime
) -> Signal | None:
    """The strategy's signal on the newest of ``closed`` (oldest first), read as it
    stood then (only the strategy's lookback); ``None`` for HOLD, too few candles
    or a strategy error (logged)."""
    strategy = assignment.strategy
    if len(closed) < strategy.min_candles:
        return None
    window = closed[-strategy.lookback :]
    try:
        signal = strategy.evaluate(assignment.market, Candles.from_candles(window), now)
    except DydxTraderError as error:
        log.warning("%s on %s: %s", strategy.name, assignment.market, error)
        return None
    return None if signal.action is Action.HOLD else signal


class StrategyRunner:
    """Evaluates each assignment once per closed candle (see the module docstring).

    ``candles(market, resolution)`` returns the series oldest first (the last
    one may be forming); ``submit`` takes each BUY / SELL / CLOSE signal, in
    the order the candles closed; ``clock`` tells which candles have closed and
    dates the signals (its aware ``now()``).
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
        self._evaluated: dict[int, datetime] = {}
        self.signals_emitted = 0
        self.candles_evaluated = 0

    @property
    def series(self) -> tuple[tuple[str, CandleResolution], ...]:
        """Every (market, resolution) the strategies read, for the market-data feed."""
        return tuple(dict.fromkeys((a.market, a.resolution) for a in self._assignments))

    @property
    def shortest_resolution(self) -> CandleResolution | None:
        """The finest resolution any strategy reads (a lockstep replay's step)."""
        return min((a.resolution for a in self._assignments), key=lambda r: r.seconds, default=None)

    async def tick(self) -> list[Signal]:
        """Evaluate every candle closed since the last tick, oldest first (by close
        time, then in assignment order); returns the signals submitted."""
        now = self._clock.now()
        pending: list[tuple[datetime, int, Sequence[Candle]]] = []
        for index, assignment in enumerate(self._assignments):
            closed = closed_candles(
                self._candles(assignment.market, assignment.resolution), assignment.resolution, now
            )
            if not closed:
                continue
            last = self._evaluated.get(index)
            fresh = [k for k in range(len(closed)) if last is None or closed[k].started_at > last]
            if last is None:
                fresh = fresh[-1:]
            length = timedelta(seconds=assignment.resolution.seconds)
            for k in fresh:
                pending.append((closed[k].started_at + length, index, closed[: k + 1]))
            self._evaluated[index] = closed[-1].started_at
        pending.sort(key=lambda item: (item[0], item[1]))
        submitted = []
        for _, index, upto in pending:
            self.candles_evaluated += 1
            signal = evaluate_candle(self._assignments[index], upto, now)
            if signal is None:
                continue
            self.signals_emitted += 1
            await self._submit(signal)
            submitted.append(signal)
        return submitted
