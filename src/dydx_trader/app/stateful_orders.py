"""Stateful orders (the protective stops): journal, send at the right sequence, settle.

The same rules as the :class:`~dydx_trader.app.executor.OrderExecutor`, for
orders that use the account sequence:

1. the intent is journaled (PENDING_SUBMIT) before anything is sent; a cancel
   is noted in the order's history before it is sent;
2. the transaction goes out through the :class:`~dydx_trader.app.sequencer.Sequencer`
   (one at a time; code 32 re-signs the **same** order at the right sequence);
3. the answer is journaled: code 0 -> SUBMITTED; the chain's "already exists"
   (3005) for our own deterministic id -> SUBMITTED too (an earlier send
   landed); a lost answer -> IN_FLIGHT_UNKNOWN, never a rejection;
4. the outcome is read from the indexer by the order's indexer id
   (:class:`~dydx_trader.app.reconciler.OrderReconciler`).

An order whose placement is unknown may be sent again under the *same* id
(:meth:`StatefulOrders.place` does so for PENDING_SUBMIT and IN_FLIGHT_UNKNOWN):
the chain keeps one order per id, so a repeat is refused (3005) or deduped,
never doubled.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from dydx_trader.app.ports import (
    OrderJournal,
    OrderSender,
    ProtectionJournal,
    StatefulSender,
    VenueOrders,
)
from dydx_trader.app.reconciler import OrderReconciler, Settlement
from dydx_trader.app.sequencer import Sequencer
from dydx_trader.domain.broadcast import Accepted, BroadcastOutcome, Rejected, SignedOrder
from dydx_trader.domain.errors import UnknownOrder
from dydx_trader.domain.market import MarketSpec
from dydx_trader.domain.order import Order, OrderIntent, OrderState

log = logging.getLogger(__name__)

STATEFUL_ORDER_EXISTS = 3005
_RESENDABLE = (OrderState.PENDING_SUBMIT, OrderState.IN_FLIGHT_UNKNOWN)


class StatefulJournal(OrderJournal, ProtectionJournal, Protocol):
    """The orders, and the notes a cancel leaves in an order's history."""


def stateful_orders_for(
    sender: OrderSender | None,
    venue: VenueOrders,
    journal: StatefulJournal,
    market_spec: Callable[[str], MarketSpec],
) -> StatefulOrders | None:
    """Stateful orders through ``sender``, or ``None`` when it cannot sign them (a
    watch-only trader, or a test's fake sender)."""
    if not isinstance(sender, StatefulSender):
        return None
    reconciler = OrderReconciler(venue, journal, market_spec)
    return StatefulOrders(Sequencer(sender), journal, journal, reconciler)


class StatefulOrders:
    """Places, cancels and settles one subaccount's stateful orders."""

    def __init__(
        self,
        sequencer: Sequencer,
        journal: OrderJournal,
        notes: ProtectionJournal,
        reconciler: OrderReconciler,
    ) -> None:
        self._sequencer = sequencer
        self._journal = journal
        self._notes = notes
        self._reconciler = reconciler

    async def place(self, intent: OrderIntent) -> Order:
        """Journal ``intent`` and send it; a journaled one only while its placement is
        unknown (then the same order again). Returns the journaled order."""
        try:
            stored: Order | None = self._journal.order(intent.client_id)
        except UnknownOrder:
            stored = None
        order = self._journal.record_intent(intent)  # ClientIdConflict if not the same
        if stored is not None and order.state not in _RESENDABLE:
            return order
        sender = self._sequencer.sender
        signed, outcome = await self._sequencer.send(
            lambda sequence: sender.sign_stateful(intent, sequence)
        )
        return self._record(order, signed, outcome, resend=stored is not None)

    async def cancel(self, intent: OrderIntent) -> BroadcastOutcome:
        """Cancel ``intent``'s order (effective in the next block), noted before and after."""
        client_id = intent.client_id
        self._notes.note_order(
            client_id, "cancel requested", good_til_block_time=intent.good_til_block_time or 0
        )
        sender = self._sequencer.sender
        signed, outcome = await self._sequencer.send(
            lambda sequence: sender.sign_cancel(intent, sequence)
        )
        numbers: dict[str, object] = {}
        if signed is not None and signed.sequence is not None:
            numbers["sequence"] = signed.sequence
        if isinstance(outcome, Accepted):
            self._notes.note_order(client_id, "cancel accepted by CheckTx", **numbers)
        elif isinstance(outcome, Rejected):
            self._notes.note_order(client_id, f"cancel refused: {outcome.error}", **numbers)
        else:
            self._notes.note_order(client_id, f"cancel outcome unknown: {outcome.error}")
        return outcome

    async def settle_once(self, intent: OrderIntent) -> Settlement | None:
        """One read of the indexer for ``intent``'s order (see :mod:`.reconciler`)."""
        return await self._reconciler.settle_once(intent)

    def _record(
        self,
        order: Order,
        signed: SignedOrder | None,
        outcome: BroadcastOutcome,
        *,
        resend: bool,
    ) -> Order:
        client_id = order.client_id
        numbers: dict[str, object] = {}
        if signed is not None and signed.sequence is not None:
            numbers["sequence"] = signed.sequence
        if isinstance(outcome, Accepted):
            return self._move(order, OrderState.SUBMITTED, "accepted by CheckTx",
                              tx_hash=outcome.tx_hash, **numbers)  # fmt: skip
        if isinstance(outcome, Rejected):
            error = outcome.error
            if error.numbers.get("chain_code") == STATEFUL_ORDER_EXISTS:
                return self._move(
                    order, OrderState.SUBMITTED, "already on the chain (3005): a send landed"
                )
            if resend:
                # A refusal of the repeat says nothing about the first send.
                return self._move(
                    order,
                    OrderState.IN_FLIGHT_UNKNOWN,
                    f"sent again and refused ({error}); the first send may have landed",
                )
            return self._move(order, OrderState.REJECTED, str(error), **error.numbers)
        log.warning("order %s: %s", client_id, outcome.error.message)
        return self._move(order, OrderState.IN_FLIGHT_UNKNOWN, outcome.error.message)

    def _move(self, order: Order, state: OrderState, reason: str, **numbers: object) -> Order:
        if order.state is state:
            self._notes.note_order(order.client_id, reason, **numbers)
            return order
        return self._journal.transition(order.client_id, state, reason, **numbers)
