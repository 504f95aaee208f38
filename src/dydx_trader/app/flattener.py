"""FLATTENING: close every position, keep the protective orders until flat, then HALTED.

When the trading state is FLATTENING (the kill switch's ``trip_state``, or
``dydx-trader trading-state flatten``), each :meth:`Flattener.step` reads the
positions fresh and, once nothing sent earlier is still in flight, closes each
one with a CLOSE the trader issues itself: a reduce-only IOC order inside the
slippage bound, decided and journaled like any signal (its id names the market
and the height, so a close that fills only in part is followed by another).
The protective orders stay where they are meanwhile (the protection manager
cancels them only once their position is gone). When no position is left the
state moves to HALTED, automatically, with the reason it flattened for; only an
operator lifts it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from dydx_trader.app.balance_snapshot import BalanceSnapshot
from dydx_trader.app.ports import ChainHeightReader
from dydx_trader.domain.errors import DydxTraderError, describe
from dydx_trader.domain.signal import Action, Signal, SignalSource
from dydx_trader.domain.trading_state import TradingState

log = logging.getLogger(__name__)


class FlattenGuard(Protocol):
    """The trading state, and the move to HALTED once flat."""

    @property
    def state(self) -> TradingState: ...

    @property
    def last_reason(self) -> str: ...

    def halt(self, reason: str) -> None: ...


class FreshPositions(Protocol):
    async def get_snapshot(self) -> BalanceSnapshot: ...

    def invalidate(self, reason: str) -> None: ...


class Flattener:
    """Closes every position while the state is FLATTENING, then halts.

    ``close(signal)`` sends a trader-issued CLOSE through the account actor;
    ``in_flight()`` counts the orders the actor still follows.
    """

    def __init__(
        self,
        *,
        guard: FlattenGuard,
        positions: FreshPositions,
        heights: ChainHeightReader,
        close: Callable[[Signal], Awaitable[object]],
        in_flight: Callable[[], int],
        now: Callable[[], datetime],
    ) -> None:
        self._guard = guard
        self._positions = positions
        self._heights = heights
        self._close = close
        self._in_flight = in_flight
        self._now = now

    async def step(self) -> bool:
        """One round; True while flattening has work left (positions or orders in flight)."""
        if self._guard.state is not TradingState.FLATTENING:
            return False
        if self._in_flight():
            return True  # let the closes sent before settle first
        try:
            self._positions.invalidate("flattening")
            snapshot = await self._positions.get_snapshot()
            open_positions = [p for p in snapshot.positions if p.size != Decimal(0)]
            if not open_positions:
                reason = self._guard.last_reason
                self._guard.halt(f"flattened: every position closed ({reason})")
                return False
            height = await self._heights.latest_block_height()
            for position in open_positions:
                await self._close(self._signal(position.market, height))
        except DydxTraderError as error:
            log.warning("flattening: %s; trying again", describe(error))
        return True

    async def run(self, interval_s: float) -> None:
        """Step every ``interval_s`` seconds (live mode)."""
        while True:
            await self.step()
            await asyncio.sleep(interval_s)

    def _signal(self, market: str, height: int) -> Signal:
        return Signal(
            id=f"flatten-{market}-{height}",
            market=market,
            action=Action.CLOSE,
            confidence=Decimal(1),
            source=SignalSource.STRATEGY,
            strategy="flatten",
            created_at=self._now(),
        )
