"""RiskGuard: the one owner of the trading state (ACTIVE / REDUCING / HALTED).

It feeds the kill switch (equity samples, order outcomes), persists every
change through the journal, and answers :meth:`RiskGuard.may_trade` before any
order is sent. The persisted state is re-read on every question, so an
operator's ``dydx-trader trading-state halted`` from another process takes
effect at once; if the journal cannot be read, the answer is HALTED (fail
closed). Automatic changes only tighten; loosening is the operator's.

A tightening the journal refuses (locked by another process past its busy
timeout, unwritable) still holds in this process, and stays *pending*:
:meth:`RiskGuard.halt_durably` (the supervisor's halt after a crash) and
:meth:`RiskGuard.persist_pending` (at stop) keep trying to write it, so a
crash is never left without its persisted reason while the journal can
still be written at all.

The kill switch's memory (the drawdown window's peak and its outcome counters)
is persisted too, and taken up again by the next process before its first
sample or outcome: a restart forgets neither a drawdown nor a run of unknown
outcomes. Over a read-only journal (a preview) nothing is persisted: a trip
holds in this process only.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Protocol

from dydx_trader.domain.errors import DydxTraderError, TradingHalted
from dydx_trader.domain.trading_state import (
    Authority,
    KillSwitch,
    KillSwitchMemory,
    OrderOutcome,
    TradingState,
    Trip,
    may_trade,
    stricter,
)

log = logging.getLogger(__name__)

# Waits between attempts to write a pending halt (seconds): doubling, then flat.
_FIRST_RETRY_S = 0.05
_LONGEST_RETRY_S = 1.0


class StateRecord(Protocol):
    @property
    def state(self) -> TradingState: ...

    @property
    def reason(self) -> str: ...


class TradingStateStore(Protocol):
    """Where the trading state and the kill switch's memory persist (the journal)."""

    @property
    def read_only(self) -> bool: ...

    def get_trading_state(self) -> StateRecord: ...

    def set_trading_state(
        self, state: TradingState, reason: str, by: Authority = ..., *, restate: bool = ...
    ) -> StateRecord: ...

    def kill_switch_memory(self) -> KillSwitchMemory | None: ...

    def save_kill_switch_memory(self, memory: KillSwitchMemory) -> None: ...


def _wall_clock() -> datetime:
    return datetime.now(UTC)


class RiskGuard:
    """Decides whether an order may go out now, and trips the kill switch.

    ``clock`` gives the time of equity samples (aware; market time in paper
    mode): the drawdown window is measured on it. A clock that steps back is
    read as standing still until it catches up.
    """

    def __init__(
        self,
        store: TradingStateStore,
        kill_switch: KillSwitch,
        *,
        clock: Callable[[], datetime] = _wall_clock,
    ) -> None:
        self._store = store
        self._kill_switch = kill_switch
        self._clock = clock
        self._restored = False
        # A halt that could not be persisted still holds in this process...
        self._floor = TradingState.ACTIVE
        # ...and waits to be written: (state, reason).
        self._pending: tuple[TradingState, str] | None = None
        self.last_reason = ""

    @property
    def state(self) -> TradingState:
        """The state in force: the persisted one, tightened by any unpersisted halt."""
        try:
            record = self._store.get_trading_state()
        except DydxTraderError as error:
            self.last_reason = f"trading state unreadable: {error}"
            return TradingState.HALTED
        if record.state is not TradingState.ACTIVE:
            self.last_reason = record.reason
        return stricter(record.state, self._floor)

    def may_trade(self, reduces_position: bool) -> TradingHalted | None:
        """``None`` if an order may be sent now, else the refusal (a value, not raised)."""
        refusal = may_trade(self.state, reduces_position)
        if refusal is None:
            return None
        return TradingHalted(
            f"{refusal.message} ({self.last_reason})" if self.last_reason else refusal.message,
            **refusal.numbers,
        )

    def record_equity(self, equity: Decimal) -> Trip | None:
        """Feed an equity sample (USDC, now); a trip moves and persists the state.

        The run loop feeds periodic samples here as well as each decision's, so
        a loss is seen even while no signal arrives.
        """
        switch = self._switch()
        now_ms = int(self._clock().timestamp() * 1000)
        last = switch.last_sample_ms
        before = switch.memory
        trip = switch.record_equity(now_ms if last is None else max(now_ms, last), equity)
        return self._apply(trip, before)

    def record_outcome(self, outcome: OrderOutcome) -> Trip | None:
        """Feed a send's outcome (accepted / rejected / unknown / unsettled)."""
        switch = self._switch()
        before = switch.memory
        return self._apply(switch.record_outcome(outcome), before)

    def halt(self, reason: str) -> None:
        """Move to HALTED now (automatic: kill switch, crash, failed reconciliation).

        Raises the journal's error when the halt cannot be persisted; it holds
        in this process regardless, pending (:meth:`persist_pending`)."""
        self._tighten(TradingState.HALTED, reason)

    async def halt_durably(self, reason: str, patience_s: float = 30.0) -> None:
        """:meth:`halt`, and while the journal refuses it, keep trying for about
        ``patience_s`` seconds (a crash's halt: the reason must reach the journal).
        Already HALTED (a trader restarted halted that crashes again): the new
        reason is journaled too, as HALTED again."""
        try:
            self._tighten(TradingState.HALTED, reason, restate=True)
        except DydxTraderError as error:
            log.error("the halt is not persisted yet (%s); retrying", error)
        await self.persist_pending(patience_s)

    @property
    def pending(self) -> str | None:
        """The reason of a tightening the journal has not taken yet (None: none)."""
        return None if self._pending is None else self._pending[1]

    async def persist_pending(self, patience_s: float) -> bool:
        """Write a tightening the journal refused earlier, retrying (with growing
        waits, about ``patience_s`` seconds in all) while it refuses; True once
        nothing is pending."""
        wait, waited = _FIRST_RETRY_S, 0.0
        while self._pending is not None:
            state, reason = self._pending
            try:
                self._persist(state, reason)
            except DydxTraderError as error:
                if waited >= patience_s:
                    log.error("trading state %s could not be persisted: %s", state.value, error)
                    return False
                await asyncio.sleep(wait)
                waited += wait
                wait = min(wait * 2, _LONGEST_RETRY_S)
        return True

    def reduce(self, reason: str) -> None:
        """Move to REDUCING unless already stricter."""
        self._tighten(TradingState.REDUCING, reason)

    def _switch(self) -> KillSwitch:
        """The kill switch, with the memory an earlier process persisted taken up once."""
        if not self._restored:
            memory = self._store.kill_switch_memory()
            if memory is not None:
                self._kill_switch.restore(memory)
            self._restored = True
        return self._kill_switch

    def _apply(self, trip: Trip | None, before: KillSwitchMemory) -> Trip | None:
        if trip is not None:
            self._tighten(trip.state, trip.reason)
        after = self._kill_switch.memory
        if after != before and not self._store.read_only:
            self._store.save_kill_switch_memory(after)
        return trip

    def _tighten(self, target: TradingState, reason: str, *, restate: bool = False) -> None:
        """Move to ``target`` unless already at least as strict. ``restate``: already
        at ``target`` with nothing pending, journal this new reason all the same."""
        current = self.state
        again = restate and current is target and self._pending is None
        if stricter(current, target) is current and not again:
            if self._pending is not None:
                # Not persisted yet: the journal gets this reason too when it does.
                state, earlier = self._pending
                self._pending = (stricter(state, target), f"{earlier}; then {reason}")
            return  # already at least as strict
        self._floor = stricter(self._floor, target)
        self.last_reason = reason
        log.warning("trading state -> %s: %s", target.value, reason)
        if self._store.read_only:
            return  # a preview: the trip holds here, the journal is not ours to change
        # Raises if the journal is unwritable; then the in-memory floor holds and the
        # change stays pending. Once persisted, the journal holds it (and the operator
        # may lift it).
        self._pending = (target, reason)
        self._persist(target, reason)

    def _persist(self, target: TradingState, reason: str) -> None:
        # ``restate``: the reason is written even if the state is already ``target``
        # (an operator's halt meanwhile, or a crash while halted).
        self._store.set_trading_state(target, reason, Authority.AUTOMATIC, restate=True)
        self._pending = None
        self._floor = TradingState.ACTIVE
