"""OrderExecutor: journal the intent, send it once, journal what the node said.

The order of operations is the whole point (style-and-reliability.md A9 #1):

1. the intent, with its deterministic client id, is journaled (PENDING_SUBMIT)
   *before* anything leaves the process;
2. the signed transaction is broadcast once;
3. the answer is classified: code 0 -> SUBMITTED, a definitive chain code ->
   REJECTED, no answer -> IN_FLIGHT_UNKNOWN (never a rejection, never resent
   under a new client id);
4. the outcome is read from the indexer (:mod:`.reconciler`) until the order
   is final, by the :class:`~dydx_trader.app.settlement.Settler`.

Submitting is idempotent: the same intent again sends nothing, unless it is
still PENDING_SUBMIT and its good-til-block is ahead (then the same order goes
out again, which the chain dedupes by order id).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from dydx_trader.app.ports import OrderJournal, OrderSender, VenueOrders
from dydx_trader.app.reconciler import OrderReconciler, Settlement
from dydx_trader.domain.broadcast import Accepted, BroadcastOutcome, Rejected, SignedOrder
from dydx_trader.domain.errors import (
    ClientIdConflict,
    DydxTraderError,
    OrderFollowUpFault,
    UnknownOrder,
    describe,
)
from dydx_trader.domain.market import MarketSpec
from dydx_trader.domain.order import Order, OrderIntent, OrderState

__all__ = ["OrderExecutor", "PreparedOrder", "Settlement"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PreparedOrder:
    """An order journaled (PENDING_SUBMIT) and signed, not yet sent. ``resend``:
    a stored order whose first send's outcome was never journaled goes out again."""

    intent: OrderIntent
    signed: SignedOrder
    resend: bool


class OrderExecutor:
    """Sends the orders of one subaccount and reads their outcome.

    ``market_spec`` converts fill sizes to quantums. :meth:`settle_once` is
    one read of an order's outcome; the :class:`~dydx_trader.app.settlement.Settler`
    repeats it until the order is final, and never gives up.
    """

    def __init__(
        self,
        sender: OrderSender,
        venue: VenueOrders,
        journal: OrderJournal,
        market_spec: Callable[[str], MarketSpec],
    ) -> None:
        self._sender = sender
        self._venue = venue
        self._journal = journal
        self._reconciler = OrderReconciler(venue, journal, market_spec)

    @property
    def sender(self) -> OrderSender:
        """The signer and broadcaster this executor sends through."""
        return self._sender

    # -- sending -----------------------------------------------------------------------

    async def submit(self, intent: OrderIntent) -> Order:
        """Journal ``intent``, broadcast it once, and journal what the node said.

        Returns the order in SUBMITTED, REJECTED or IN_FLIGHT_UNKNOWN, or, when
        the journal already held this intent, the stored order without sending
        anything, unless it is still PENDING_SUBMIT (never sent, or its outcome
        never journaled) and the indexer is not yet at its good-til-block: then
        the same order is sent again, which the chain dedupes by order id.

        Raises :class:`ClientIdConflict` when the client id belongs to another
        intent (nothing sent), and otherwise only :class:`OrderFollowUpFault`:
        ``sent=False`` when nothing left the process, ``sent=True`` when a step
        after the broadcast failed; the order may then be live and must be
        followed to settlement. It is :meth:`prepare` then :meth:`send`.
        """
        prepared = await self.prepare(intent)
        if isinstance(prepared, Order):
            return prepared
        return await self.send(prepared)

    async def prepare(self, intent: OrderIntent) -> PreparedOrder | Order:
        """The part of :meth:`submit` before anything leaves the process: journal
        ``intent`` (PENDING_SUBMIT) and sign it. Returns what :meth:`send` sends,
        or the stored order when this intent must not be sent (again).

        Raises :class:`ClientIdConflict`, or :class:`OrderFollowUpFault` with
        ``sent=False``; either way nothing was sent.
        """
        client_id = intent.client_id
        try:
            resend = await self._journal_intent(intent)
            if resend is None:
                return self._journal.order(client_id)
            return PreparedOrder(intent, self._sender.sign(intent), resend)
        except ClientIdConflict:
            raise
        except Exception as error:  # nothing was sent: say so, whatever it was
            raise OrderFollowUpFault(
                f"order {client_id} was not sent: {describe(error)}",
                client_id=client_id,
                sent=False,
            ) from error

    async def send(self, prepared: PreparedOrder) -> Order:
        """Broadcast a prepared order once and journal what the node said (SUBMITTED,
        REJECTED or IN_FLIGHT_UNKNOWN). Needs no ordering with other short-term
        orders' sends: the chain takes them in any order.

        Raises only :class:`OrderFollowUpFault` with ``sent=True``.
        """
        intent = prepared.intent
        try:
            outcome = await self._sender.broadcast(prepared.signed)
            return self._record_outcome(intent, outcome, resend=prepared.resend)
        except Exception as error:  # after the send, any failure may hide a live order
            raise OrderFollowUpFault(
                f"order {intent.client_id} was broadcast but its outcome could not be "
                f"recorded: {describe(error)}; it may be live: follow it to settlement and halt",
                client_id=intent.client_id,
                sent=True,
            ) from error

    async def _journal_intent(self, intent: OrderIntent) -> bool | None:
        """Record the intent: False when new (send it), True when a stored
        PENDING_SUBMIT order may be sent again, None when it must not be sent."""
        try:
            self._journal.order(intent.client_id)
        except UnknownOrder:
            self._journal.record_intent(intent)
            return False
        stored = self._journal.record_intent(intent)  # ClientIdConflict if not the same intent
        if stored.state is not OrderState.PENDING_SUBMIT or intent.good_til_block is None:
            return None
        try:
            height = (await self._venue.get_height()).height
        except DydxTraderError as error:
            log.warning("order %s not sent again: %s", intent.client_id, describe(error))
            return None
        return True if height < intent.good_til_block else None

    def _record_outcome(
        self, intent: OrderIntent, outcome: BroadcastOutcome, *, resend: bool
    ) -> Order:
        client_id = intent.client_id
        if isinstance(outcome, Accepted):
            return self._journal.transition(
                client_id, OrderState.SUBMITTED, "accepted by CheckTx", tx_hash=outcome.tx_hash
            )
        if isinstance(outcome, Rejected):
            error = outcome.error
            if resend:
                # The first send may have landed (its answer was never journaled):
                # a refusal of the second says nothing about the first.
                return self._journal.transition(
                    client_id,
                    OrderState.IN_FLIGHT_UNKNOWN,
                    f"sent again and refused ({error}); the first send may have landed",
                )
            return self._journal.transition(
                client_id, OrderState.REJECTED, str(error), **error.numbers
            )
        log.warning("order %s: %s", client_id, outcome.error.message)
        return self._journal.transition(
            client_id, OrderState.IN_FLIGHT_UNKNOWN, outcome.error.message
        )

    async def settle_once(self, intent: OrderIntent) -> Settlement | None:
        """One read of the indexer for ``intent``'s order (see :mod:`.reconciler`)."""
        return await self._reconciler.settle_once(intent)
