"""OrderReconciler: bring one order's journal record in line with the indexer.

One call of :meth:`OrderReconciler.settle_once` reads the indexer once,
journals every new fill exactly once (by fill id) and, when the order is
final, its final state: FILLED, CANCELED, BEST_EFFORT_CANCELED or EXPIRED.
The :class:`~dydx_trader.app.settlement.Settler` calls it until it is.

What counts as final (fidelity-review.md section 0, #2-3):

* a fill counts only once the indexer has it at a height it has processed
  (the height is read first; a fill stamped above it waits for the next read);
* a short-term order is final before its good-til-block only when every
  quantum has filled. ``BEST_EFFORT_CANCELED`` and ``BEST_EFFORT_OPENED`` are
  one node's gossip, and even ``CANCELED`` or a vanished order may still
  change while the order can match;
* once the indexer has processed a block past good-til-block nothing more can
  fill, and what it shows is all there is. An unfilled short-term order is
  never stored by the real indexer: it is simply absent then, and settles as
  EXPIRED. The height is read again before such a verdict: an indexer that
  answers one read from an older view than the one before (a replica behind
  a load balancer, a lagging indexer) would otherwise hide the order and its
  fills from a read that looks past good-til-block;
* a stateful order (conditional, long-term) has no good-til-block: it is looked
  up by its indexer id (the indexer stores every stateful order from the block
  that places it). ``UNTRIGGERED`` and ``OPEN`` are resting states; ``CANCELED``
  is a block fact; an absent one is settled only once the indexer's block time
  is past its good-til-block-time, until then its placement is unknown (the
  caller may send the same order again: the chain dedupes it by order id).

Reads are bounded however busy the account: the order is looked up among
those expiring at its own good-til-block in its market, and its fills by
walking down from good-til-block, so neither falls off a page of newer ones.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from dydx_trader.app.ports import OrderJournal, VenueOrders
from dydx_trader.domain.errors import (
    IllegalStateTransition,
    MalformedPayload,
    VenueFailure,
    VenueUnavailable,
)
from dydx_trader.domain.market import MarketSpec
from dydx_trader.domain.order import Order, OrderFlags, OrderIntent, OrderState
from dydx_trader.domain.venue import (
    IndexerFill,
    IndexerHeight,
    IndexerOrder,
    IndexerOrderStatus,
    indexer_order_id,
)

log = logging.getLogger(__name__)

# Orders expiring at one good-til-block in one market, read in one page; a
# full page without ours cannot prove it absent.
ORDERS_PAGE = 100
# Fills read per page, walking down from good-til-block.
FILLS_PAGE = 100
# A short-term order's good-til-block is at most this many blocks past the
# height it was placed at (ShortBlockWindow, 40 since protocol v9.5.0), so its
# fills lie at or above good-til-block minus this.
SHORT_BLOCK_WINDOW = 40


@dataclass(frozen=True, slots=True)
class Settlement:
    """The final word on one order: its journaled state, the fills it took,
    and the indexer height (block) it was settled at (0 when it never reached
    the venue). A balance read after it must have processed ``height``."""

    order: Order
    fills: tuple[IndexerFill, ...]
    height: int = 0


def _retrieved(read: asyncio.Future[IndexerHeight]) -> None:
    if not read.cancelled():
        read.exception()


class OrderReconciler:
    """Reads one subaccount's orders from the indexer into the journal.

    ``market_spec`` converts sizes to quantums. Remembers the indexer's id of
    each order it has seen (the key its fills carry).
    """

    def __init__(
        self,
        venue: VenueOrders,
        journal: OrderJournal,
        market_spec: Callable[[str], MarketSpec],
    ) -> None:
        self._venue = venue
        self._journal = journal
        self._market_spec = market_spec
        self._venue_ids: dict[int, str] = {}
        self._height_read: asyncio.Future[IndexerHeight] | None = None

    async def _height(self) -> IndexerHeight:
        """The indexer's height, one read shared by the orders asking meanwhile (a
        burst's hundreds of settlements). A shared read may have begun a little
        before this caller asked: its height is lower, never higher, than one of
        its own, so a window is never judged closed early."""
        read = self._height_read
        if read is None or read.done():
            read = self._height_read = asyncio.ensure_future(self._venue.get_height())
            read.add_done_callback(_retrieved)  # every asker may have gone: not "lost"
        return await asyncio.shield(read)

    async def settle_once(self, intent: OrderIntent) -> Settlement | None:
        """Read the indexer once: journal new fills, and the final state if there is one.

        Returns the settlement when the order is final, ``None`` while it is not.
        Raises ``VenueUnavailable`` (its ``failure`` says transient or
        definitive), ``MalformedPayload`` when the indexer's numbers cannot be
        right (a size off the quantum grid), and the journal's errors.
        """
        current = self._journal.order(intent.client_id)
        if current.state is OrderState.REJECTED:
            return Settlement(current, ())
        height = await self._height()
        venue_order = await self._locate(intent)
        if venue_order is not None:
            self._venue_ids[intent.client_id] = venue_order.order_id
        venue_id = self._venue_ids.get(intent.client_id)
        spec = self._market_spec(intent.market)
        venue_filled = 0
        if venue_order is not None:
            venue_filled = _quantums(spec, venue_order.total_filled, "total filled")
        closed = _window_closed(intent, height)
        fills: tuple[IndexerFill, ...] = ()
        if venue_id is not None and (
            closed or current.remaining_quantums == 0 or venue_filled > current.filled_quantums
        ):
            # Read when there is news, and once more when it may end, so the
            # settlement lists every fill.
            fills = await self._fills_of(intent, venue_id, venue_order, height.height)
            self._record_fills(intent, spec, fills)
        order = self._journal.order(intent.client_id)
        final: OrderState | None
        if order.state.is_terminal:
            final = order.state  # settled before: keep it (late fills are recorded)
        elif venue_filled > order.filled_quantums:
            final = None  # the indexer counts fills that have not reached us yet
        else:
            final = _final_state(intent, venue_order, order, closed)
        if final is None:
            # An unfilled short-term order rests in the indexer's Redis only, shown
            # BEST_EFFORT_OPENED (never OPEN) until a fill stores it.
            status = None if venue_order is None else venue_order.status
            if status is IndexerOrderStatus.UNTRIGGERED:
                self._move(order, OrderState.UNTRIGGERED, "in state, waiting for its trigger")
            elif (
                status in (IndexerOrderStatus.OPEN, IndexerOrderStatus.BEST_EFFORT_OPENED)
                and order.filled_quantums == 0
            ):
                self._move(order, OrderState.OPEN, "resting on the book")
            return None
        if final is not OrderState.FILLED and not order.state.is_terminal:
            # Settled by the window having closed: only if the indexer did not answer
            # the reads above from a view older than the height that closed it.
            again = await self._venue.get_height()
            if again.height < height.height:
                log.warning(
                    "order %s: the indexer went back from height %s to %s while it was "
                    "read; reading it again",
                    intent.client_id,
                    height.height,
                    again.height,
                )
                return None
        order = self._move(order, final, _reason(venue_order, height.height))
        return Settlement(order, fills, height.height)

    async def _locate(self, intent: OrderIntent) -> IndexerOrder | None:
        """Our order on the indexer, or ``None`` when it is not there."""
        if intent.is_stateful:
            return await self._venue.get_order(
                indexer_order_id(
                    intent.address,
                    intent.subaccount_number,
                    intent.client_id,
                    intent.clob_pair_id,
                    int(intent.order_flags),
                )
            )
        gtb = intent.good_til_block
        orders = await self._venue.get_orders(
            intent.address,
            intent.subaccount_number,
            ticker=intent.market,
            limit=ORDERS_PAGE,
            good_til_block_before_or_at=gtb,
            good_til_block_after=gtb - 1 if gtb is not None and gtb > 1 else None,
        )
        for candidate in orders:
            if (
                candidate.client_id == intent.client_id
                and candidate.clob_pair_id == intent.clob_pair_id
                and candidate.order_flags == int(intent.order_flags)
                and candidate.subaccount_number in (None, intent.subaccount_number)
            ):
                return candidate
        if len(orders) >= ORDERS_PAGE:
            raise VenueUnavailable(
                f"order {intent.client_id}: the indexer lists {len(orders)} orders or more "
                f"for {intent.market} at good-til-block {gtb}; its absence cannot be proven",
                failure=VenueFailure.DEFINITIVE.value,
            )
        return None

    async def _fills_of(
        self,
        intent: OrderIntent,
        venue_id: str,
        venue_order: IndexerOrder | None,
        indexer_height: int,
    ) -> tuple[IndexerFill, ...]:
        """Every fill of ``venue_id`` at a processed height, oldest first.

        Pages walk down by height from good-til-block (no fill can be later)
        until below the order's lifetime, or until a page brings nothing new
        (the last page, or an indexer that ignores the height filter).
        """
        gtb = intent.good_til_block
        cursor = indexer_height if gtb is None else min(indexer_height, gtb)
        if venue_order is not None and venue_order.created_at_height is not None:
            floor = venue_order.created_at_height
        else:
            floor = 0 if gtb is None else gtb - SHORT_BLOCK_WINDOW
        seen: set[str] = set()
        ours: dict[str, IndexerFill] = {}
        while True:
            page = await self._venue.get_fills(
                intent.address,
                intent.subaccount_number,
                market=intent.market,
                limit=FILLS_PAGE,
                created_before_or_at_height=cursor,
            )
            fresh = [fill for fill in page if fill.fill_id not in seen]
            seen.update(fill.fill_id for fill in fresh)
            for fill in fresh:
                if fill.order_id == venue_id and fill.created_at_height <= indexer_height:
                    ours[fill.fill_id] = fill
            if len(page) < FILLS_PAGE or not fresh:
                break
            cursor = min(fill.created_at_height for fill in page)
            if cursor < floor:
                break
        # Oldest first, so the journal's history reads in the order things happened.
        return tuple(sorted(ours.values(), key=lambda f: (f.created_at_height, f.fill_id)))

    def _record_fills(
        self, intent: OrderIntent, spec: MarketSpec, fills: tuple[IndexerFill, ...]
    ) -> None:
        for fill in fills:
            self._journal.record_fill(
                intent.client_id,
                fill.fill_id,
                quantums=_quantums(spec, fill.size, f"fill {fill.fill_id} size"),
                size=fill.size,
                price=fill.price,
                fee=fill.fee if fill.fee is not None else Decimal(0),
                filled_at=fill.created_at,
                height=fill.created_at_height,
            )

    def _move(self, order: Order, state: OrderState, reason: str) -> Order:
        if order.state is state:
            return order
        try:
            return self._journal.transition(order.client_id, state, reason)
        except IllegalStateTransition as error:
            # A late edge the table does not allow (e.g. FILLED already): the
            # journal keeps what it has; say so rather than crash the settle.
            # A journal that cannot write is no such case: that raises, and the
            # order is not settled until its final state is written.
            log.warning("order %s: %s", order.client_id, error)
            return self._journal.order(order.client_id)


def _window_closed(intent: OrderIntent, height: IndexerHeight) -> bool:
    """True once the indexer has processed past the order's good-til."""
    if intent.good_til_block is not None:
        return height.height > intent.good_til_block
    if intent.good_til_block_time is not None:
        return height.time.timestamp() > intent.good_til_block_time
    return False


def _final_state(
    intent: OrderIntent,
    venue_order: IndexerOrder | None,
    order: Order,
    window_closed: bool,
) -> OrderState | None:
    """The state to settle in, or ``None`` while the outcome is still open.

    Fills are counted already; only the unfilled remainder is decided here.
    """
    if order.remaining_quantums == 0:
        return OrderState.FILLED
    status = None if venue_order is None else venue_order.status
    if status == IndexerOrderStatus.CANCELED and intent.order_flags is not OrderFlags.SHORT_TERM:
        return OrderState.CANCELED  # a stateful cancel is a block fact
    if not window_closed:
        return None
    if status == IndexerOrderStatus.FILLED:
        return None  # FILLED with fills missing: wait for them
    if status == IndexerOrderStatus.CANCELED:
        return OrderState.CANCELED
    if status == IndexerOrderStatus.BEST_EFFORT_CANCELED:
        return OrderState.BEST_EFFORT_CANCELED
    # Absent, or still listed as resting: past its good-til it takes no more fills.
    return OrderState.EXPIRED


def _reason(venue_order: IndexerOrder | None, height: int) -> str:
    if venue_order is None:
        return f"not on the indexer at height {height}, past its good-til-block"
    return f"indexer status {venue_order.status} at height {height}"


def _quantums(spec: MarketSpec, size: Decimal, what: str) -> int:
    """``size`` (base units) in base quantums; ``MalformedPayload`` off the grid."""
    quantums = size.scaleb(-spec.atomic_resolution)
    if quantums != quantums.to_integral_value():
        raise MalformedPayload(
            f"{what} {size} is not a whole number of quantums in {spec.ticker}",
            market=spec.ticker,
            size=size,
        )
    return int(quantums)
