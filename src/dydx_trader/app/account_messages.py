"""The messages an :class:`~dydx_trader.app.account_actor.AccountActor` takes,
and :class:`TradeResult`, what it answers for a signal."""

from __future__ import annotations

from dataclasses import dataclass

from dydx_trader.domain.decision import Decision
from dydx_trader.domain.order import Order, OrderIntent
from dydx_trader.domain.signal import Signal


@dataclass(frozen=True, slots=True)
class SubmitSignal:
    """Decide on ``signal`` and, if accepted, send its order. Answers a :class:`TradeResult`."""

    signal: Signal


@dataclass(frozen=True, slots=True)
class PreviewSignal:
    """Decide on ``signal`` without journaling or sending anything."""

    signal: Signal


@dataclass(frozen=True, slots=True)
class ClosePosition:
    """Close ``signal``'s market (a CLOSE the trader itself issues, e.g. to flatten):
    decided and sent like any signal, without the signal validator's rules."""

    signal: Signal


@dataclass(frozen=True, slots=True)
class Flush:
    """Answers ``None`` once every message sent before it has been handled (the
    settlements queued ahead of it released their reservations)."""


@dataclass(frozen=True, slots=True)
class SampleEquity:
    """Read a balance snapshot proven fresh and feed its equity to the kill switch
    (a loss is seen while no signal comes). Answers its :class:`AccountRisk`."""


@dataclass(frozen=True, slots=True)
class TradeResult:
    """What became of one signal: the decision (``None`` for HOLD or a rejected
    signal, see ``validation``, the validator's one-line summary), the intent
    sent, and the order's state after the send (``None`` when nothing was sent)."""

    signal: Signal
    decision: Decision | None
    validation: str
    intent: OrderIntent | None = None
    order: Order | None = None
