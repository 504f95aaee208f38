"""The latest signals, each with the decision it got and the state of its order:
what the operator reads first ("what was asked, what was done, and why")."""

from __future__ import annotations

import json
from dataclasses import dataclass

from dydx_trader.adapters.journal._codec import signal_from_json
from dydx_trader.adapters.journal._db import JournalDb
from dydx_trader.domain.decision import Decision
from dydx_trader.domain.errors import DydxTraderError, JournalUnavailable
from dydx_trader.domain.order import OrderState
from dydx_trader.domain.signal import Signal

# A signal's first decision is the one that counts: a replayed id gets a second,
# "already decided", refusal that must not hide it.
_TIMELINE = (
    "SELECT s.payload, (SELECT d.payload FROM decisions d WHERE d.signal_id = s.signal_id "
    "ORDER BY d.id LIMIT 1), o.state FROM signals s "
    "LEFT JOIN orders o ON o.signal_id = s.signal_id ORDER BY s.rowid DESC LIMIT ?"
)


@dataclass(frozen=True, slots=True)
class SignalOutcome:
    """A signal, its decision (None: not decided yet, or a HOLD) and its order's
    state (None: no order)."""

    signal: Signal
    decision: Decision | None
    order_state: OrderState | None


class SignalTimeline(JournalDb):
    """Signals with their decisions, newest first."""

    def signal_outcomes(self, limit: int = 20) -> list[SignalOutcome]:
        """The ``limit`` latest signals (in the order they were recorded), newest first."""
        rows = self._read(_TIMELINE, max(0, limit))
        return [_outcome(*row) for row in rows]


def _outcome(signal: str, decision: str | None, state: str | None) -> SignalOutcome:
    try:
        decided = None if decision is None else Decision.from_dict(json.loads(decision))
        return SignalOutcome(
            signal_from_json(signal), decided, None if state is None else OrderState(state)
        )
    except (ValueError, DydxTraderError) as error:
        raise JournalUnavailable(f"a stored decision is unreadable: {error}") from None
