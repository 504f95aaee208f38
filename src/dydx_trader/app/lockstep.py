"""The lockstep replay: paper trading in market time, one closed candle at a time.

The venue's clock (the devnet's manual clock, :class:`VenueClock`) moves only
when the trader has finished reacting. For each candle close, in order:

1. the venue produces its blocks up to the close;
2. the market clock (:class:`~dydx_trader.app.market_clock.MarketTimeClock`)
   takes the venue's block time, and markets, candles and the balance are read
   again over REST (no stream races the replay);
3. every strategy evaluates the candle that closed, exactly once, and its
   signals go through ``trader.submit``, the live path;
4. the orders settle: one-second blocks are produced until the trader has
   nothing in flight (at most ``settle_blocks``);
5. the account is marked to market (a fresh read; the kill switch sees it);
6. only then does the clock move on.

The same data, seed and configuration give the same signals, orders, fills
and samples, whatever the speed: ``pace`` only waits (a ceiling on market
seconds per wall second), it never changes what happens.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from dydx_trader.app.market_clock import MarketTimeClock
from dydx_trader.app.strategy_runner import StrategyRunner
from dydx_trader.domain.errors import Unavailable
from dydx_trader.domain.margin import AccountRisk
from dydx_trader.domain.venue import CandleResolution

log = logging.getLogger(__name__)

SETTLE_BLOCK_S = 1
DEFAULT_SETTLE_BLOCKS = 60
# Candles re-read per series after each step: the one that closed, the one
# forming, and one spare.
CATCH_UP_CANDLES = 3


@dataclass(frozen=True, slots=True)
class ClockReading:
    """The venue clock's answer: the latest block and the replay window.

    ``data`` maps each replayed market to its first and last bundled candle
    (data time).
    """

    height: int
    block_time: datetime
    replay_start: datetime
    replay_end: datetime | None
    finished: bool
    data: dict[str, tuple[datetime, datetime]] = field(default_factory=dict)


class VenueClock(Protocol):
    """A venue whose blocks come on request (the devnet's manual clock)."""

    async def status(self) -> ClockReading: ...

    async def advance_to(
        self, when: datetime, *, block_seconds: int | None = None
    ) -> ClockReading: ...

    async def advance_blocks(self, count: int, block_seconds: float = 1.0) -> ClockReading: ...


class LockstepTrader(Protocol):
    """What the replay needs of a :class:`~dydx_trader.app.trader.Trader`."""

    async def catch_up(
        self, candle_series: Sequence[tuple[str, CandleResolution]], *, candles: int
    ) -> None: ...

    async def settle_round(self) -> int: ...

    async def mark_to_market(self) -> AccountRisk: ...


@dataclass(frozen=True, slots=True)
class Step:
    """One candle close of the replay, after settlement: the market time, how
    many orders were still in flight when the step gave up waiting (0 normally),
    and the account marked to market (``None`` when it could not be read)."""

    at: datetime
    unsettled: int
    risk: AccountRisk | None


class LockstepReplay:
    """Drives ``trader`` and ``runner`` through the venue's replay window.

    ``on_step`` sees every :class:`Step`; ``pace(market_seconds)`` is awaited
    after each step with the market time elapsed since the start (it may sleep
    to honour a speed ceiling); ``should_stop()`` ends the replay early.
    """

    def __init__(
        self,
        trader: LockstepTrader,
        runner: StrategyRunner,
        venue: VenueClock,
        clock: MarketTimeClock,
        *,
        on_step: Callable[[Step], None],
        pace: Callable[[float], Awaitable[None]],
        should_stop: Callable[[], bool],
        settle_blocks: int = DEFAULT_SETTLE_BLOCKS,
    ) -> None:
        step = runner.shortest_resolution
        if step is None:
            raise ValueError("a replay needs at least one strategy")
        self._trader = trader
        self._runner = runner
        self._venue = venue
        self._clock = clock
        self._on_step = on_step
        self._pace = pace
        self._should_stop = should_stop
        self._settle_blocks = settle_blocks
        self._step = timedelta(seconds=step.seconds)

    async def prepare(self, backfill: int) -> ClockReading:
        """Read where the venue is, set the market clock there, and load
        ``backfill`` candles of each series (the indicators' history)."""
        reading = await self._venue.status()
        self._clock.set(reading.block_time)
        await self._trader.catch_up(self._runner.series, candles=backfill)
        return reading

    async def run(self, start: ClockReading) -> None:
        """Replay from ``start`` (what :meth:`prepare` returned) to the window's end."""
        end = start.replay_end
        if end is None:
            raise ValueError("the venue's replay has no end")
        began = self._clock.now()
        await self._react()  # the candle that closed at the start
        for close in _closes(self._clock.now(), end, self._step):
            if self._should_stop():
                return
            if close > self._clock.now():
                reading = await self._venue.advance_to(close)
                self._clock.set(reading.block_time)
                await self._trader.catch_up(self._runner.series, candles=CATCH_UP_CANDLES)
            await self._react()
            await self._pace((self._clock.now() - began).total_seconds())

    async def _react(self) -> None:
        await self._runner.tick()
        unsettled = await self._settle()
        self._on_step(Step(self._clock.now(), unsettled, await self._sample()))

    async def _settle(self) -> int:
        """Produce one-second blocks until nothing is in flight; returns what is left."""
        in_flight = await self._trader.settle_round()
        for _ in range(self._settle_blocks):
            if not in_flight:
                break
            reading = await self._venue.advance_blocks(1, SETTLE_BLOCK_S)
            self._clock.set(reading.block_time)
            in_flight = await self._trader.settle_round()
        if in_flight:
            log.warning(
                "%d order(s) still in flight after %d blocks at %s; the replay goes on",
                in_flight,
                self._settle_blocks,
                self._clock.now(),
            )
        return in_flight

    async def _sample(self) -> AccountRisk | None:
        try:
            return await self._trader.mark_to_market()
        except Unavailable as error:
            log.warning("no equity sample at %s: %s", self._clock.now(), error)
            return None


def _closes(after: datetime, end: datetime, step: timedelta) -> list[datetime]:
    """The candle closes (multiples of ``step`` since the epoch) in ``(after, end]``."""
    seconds = int(step.total_seconds())
    first = (int(after.timestamp()) // seconds + 1) * seconds
    last = int(end.timestamp())
    zone = after.tzinfo
    return [datetime.fromtimestamp(t, zone) for t in range(first, last + 1, seconds)]
