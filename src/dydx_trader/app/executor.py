"""OrderExecutor: journal the intent, send it once, settle it from the indexer.

The order of operations is the whole point (style-and-reliability.md A9 #1):

1. the intent, with its deterministic client id, is journaled (PENDING_SUBMIT)
   *before* anything leaves the process;
2. the signed transaction is broadcast once;
3. the answer is classified: code 0 -> SUBMITTED, a definitive chain code ->
   REJECTED, no answer -> IN_FLIGHT_UNKNOWN (never a rejection, never resent
   under a new client id);
4. :meth:`OrderExecutor.settle` reads the indexer until the order is final: it
   records every fill exactly once (by fill id) and ends in FILLED, CANCELED,
   BEST_EFFORT_CANCELED or EXPIRED. A short-term order whose good-til-block the
   indexer has processed past can never fill again, so its state then is final.

Startup reconciliation is :meth:`settle` on every order the journal still has
in flight: nothing is resent after a crash.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from dydx_trader.app.ports import OrderJournal, OrderSender, VenueOrders
from dydx_trader.domain.broadcast import Accepted, Rejected, SignedOrder
from dydx_trader.domain.errors import DydxTraderError
from dydx_trader.domain.market import MarketSpec
from dydx_trader.domain.order import Order, OrderIntent, OrderState, TimeInForce
from dydx_trader.domain.venue import IndexerFill, IndexerOrder

log = logging.getLogger(__name__)

# Indexer order statuses that end an order whatever the block height.
_FINAL_STATUSES = {"FILLED": OrderState.FILLED, "CANCELED": OrderState.CANCELED}


@dataclass(frozen=True, slots=True)
class Settlement:
    """The final word on one order: its journaled state and the fills it took."""

    order: Order
    fills: tuple[IndexerFill, ...]


class OrderExecutor:
    """Sends and settles the orders of one subaccount.

    ``market_spec`` converts fill sizes to quantums. Settlements read the
    indexer's REST API when :meth:`notify` reports news from the account's
    WebSocket, and at least every ``poll_interval_s`` seconds when the stream is
    quiet or down (the fallback; a slow poll keeps the indexer's rate limit).
    ``settle_timeout_s`` bounds one settlement, after which the order stays in
    flight in the journal for the next reconciliation.
    """

    def __init__(
        self,
        sender: OrderSender,
        venue: VenueOrders,
        journal: OrderJournal,
        market_spec: Callable[[str], MarketSpec],
        *,
        poll_interval_s: float = 1.0,
        settle_timeout_s: float = 60.0,
    ) -> None:
        self._sender = sender
        self._venue = venue
        self._journal = journal
        self._market_spec = market_spec
        self._poll_interval_s = poll_interval_s
        self._settle_timeout_s = settle_timeout_s
        self._news = asyncio.Event()

    def notify(self, update: object = None) -> None:
        """The account's stream reported a change: wake every settlement now."""
        news, self._news = self._news, asyncio.Event()
        news.set()

    def sign(self, intent: OrderIntent) -> SignedOrder:
        """Signed transaction bytes for ``intent`` (CPU only)."""
        return self._sender.sign(intent)

    async def submit(self, intent: OrderIntent, signed: SignedOrder | None = None) -> Order:
        """Journal ``intent``, broadcast it once, and journal what the node said.

        Returns the order in SUBMITTED, REJECTED or IN_FLIGHT_UNKNOWN. Raises
        only if the journal refuses the intent (then nothing was sent).
        """
        self._journal.record_intent(intent)
        signed = signed or self._sender.sign(intent)
        outcome = await self._sender.broadcast(signed)
        if isinstance(outcome, Accepted):
            return self._journal.transition(
                intent.client_id,
                OrderState.SUBMITTED,
                "accepted by CheckTx",
                tx_hash=outcome.tx_hash,
            )
        if isinstance(outcome, Rejected):
            error = outcome.error
            return self._journal.transition(
                intent.client_id, OrderState.REJECTED, str(error), **error.numbers
            )
        log.warning("order %s: %s", intent.client_id, outcome.error.message)
        return self._journal.transition(
            intent.client_id, OrderState.IN_FLIGHT_UNKNOWN, outcome.error.message
        )

    async def settle(self, intent: OrderIntent) -> Settlement:
        """Read the indexer until ``intent``'s order is final; journal fills and state.

        Raises ``TimeoutError`` after ``settle_timeout_s`` (the order stays in
        flight in the journal) and lets venue read errors through to the caller.
        """
        async with asyncio.timeout(self._settle_timeout_s):
            while True:
                news = self._news
                settled = await self._settle_once(intent)
                if settled is not None:
                    return settled
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(news.wait(), self._poll_interval_s)

    async def reconcile(self) -> list[Settlement]:
        """Settle every order the journal still has in flight (startup, before trading)."""
        settled = []
        for order in self._journal.in_flight_orders():
            settled.append(await self.settle(order.intent))
        return settled

    async def _settle_once(self, intent: OrderIntent) -> Settlement | None:
        current = self._journal.order(intent.client_id)
        if current.state is OrderState.REJECTED:
            return Settlement(current, ())
        height = await self._venue.get_height()
        venue_order = await self._find(intent)
        fills: tuple[IndexerFill, ...] = ()
        if venue_order is not None:
            fills = await self._record_fills(intent, venue_order)
        order = self._journal.order(intent.client_id)
        window_closed = intent.good_til_block is not None and height.height > intent.good_til_block
        final = _final_state(intent, venue_order, order, window_closed)
        if final is None:
            resting = venue_order is not None and venue_order.status == "OPEN"
            if resting and order.filled_quantums == 0:
                self._move(order, OrderState.OPEN, "resting on the book")
            return None
        order = self._move(order, final, _reason(venue_order, height.height))
        return Settlement(order, fills)

    async def _find(self, intent: OrderIntent) -> IndexerOrder | None:
        orders = await self._venue.get_orders(
            intent.address, intent.subaccount_number, ticker=intent.market
        )
        for candidate in orders:
            if (
                candidate.client_id == intent.client_id
                and candidate.clob_pair_id == intent.clob_pair_id
                and candidate.order_flags == int(intent.order_flags)
            ):
                return candidate
        return None

    async def _record_fills(
        self, intent: OrderIntent, venue_order: IndexerOrder
    ) -> tuple[IndexerFill, ...]:
        fills = await self._venue.get_fills(
            intent.address, intent.subaccount_number, market=intent.market
        )
        spec = self._market_spec(intent.market)
        ours = tuple(fill for fill in fills if fill.order_id == venue_order.order_id)
        # Oldest first, so the journal's history reads in the order things happened.
        for fill in sorted(ours, key=lambda f: (f.created_at_height, f.fill_id)):
            self._journal.record_fill(
                intent.client_id,
                fill.fill_id,
                quantums=_quantums(spec, fill.size),
                size=fill.size,
                price=fill.price,
                fee=fill.fee if fill.fee is not None else Decimal(0),
                filled_at=fill.created_at,
                height=fill.created_at_height,
            )
        return ours

    def _move(self, order: Order, state: OrderState, reason: str) -> Order:
        if order.state is state:
            return order
        try:
            return self._journal.transition(order.client_id, state, reason)
        except DydxTraderError as error:
            # A late edge the table does not allow (e.g. FILLED already): the
            # journal keeps what it has; say so rather than crash the settle.
            log.warning("order %s: %s", order.client_id, error)
            return self._journal.order(order.client_id)


def _final_state(
    intent: OrderIntent,
    venue_order: IndexerOrder | None,
    order: Order,
    window_closed: bool,
) -> OrderState | None:
    """The state to settle in, or ``None`` while the outcome is still open."""
    if order.state.is_terminal and order.state is not OrderState.BEST_EFFORT_CANCELED:
        return order.state
    if venue_order is not None:
        if order.remaining_quantums == 0:
            return OrderState.FILLED
        final = _FINAL_STATUSES.get(venue_order.status)
        if final is OrderState.FILLED:
            # The indexer says FILLED but not every fill has reached us yet.
            return None
        if final is not None:
            return final
        # An IOC remainder never rests: once removed, nothing more can match.
        if venue_order.status == "BEST_EFFORT_CANCELED" and (
            intent.time_in_force is TimeInForce.IOC or window_closed
        ):
            return OrderState.BEST_EFFORT_CANCELED
    # Past its good-til-block a short-term order can take no more fills; what it
    # took is in the journal already.
    return OrderState.EXPIRED if window_closed else None


def _reason(venue_order: IndexerOrder | None, height: int) -> str:
    if venue_order is None:
        return f"not on the indexer at height {height}, past its good-til-block"
    return f"indexer status {venue_order.status} at height {height}"


def _quantums(spec: MarketSpec, size: Decimal) -> int:
    quantums = size.scaleb(-spec.atomic_resolution)
    if quantums != quantums.to_integral_value():
        raise ValueError(f"fill size {size} is not a whole number of quantums in {spec.ticker}")
    return int(quantums)
