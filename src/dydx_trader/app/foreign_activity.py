"""Foreign activity: orders and fills on our subaccount that this trader did not place.

A second bot elsewhere, a manual trade on the web, a liquidation. The balance
already counts them: it comes from the venue, and the BalanceManager drops its
snapshot on every fill of the account, ours or not, and requires the indexer
past that fill's height. This module makes them *visible*: each one is logged
as a warning and recorded in the journal once (by the indexer's id), when
reconciling at start (:meth:`ForeignActivityMonitor.scan`) and as they happen
on the account stream (:meth:`ForeignActivityMonitor.on_subaccount_update`).

An order is ours when the journal holds an intent with its client id, clob
pair, order flags, address and subaccount. A fill is ours when its order is;
a fill with no order (liquidation, deleveraging) never is: those the chain
made on our positions (:attr:`ForeignActivity.is_liquidation`) are what the
session report and the live view count as liquidations (``on_found``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from dydx_trader.app.ports import ForeignActivityJournal, OrderJournal, VenueOrders
from dydx_trader.domain.errors import UnknownOrder, describe
from dydx_trader.domain.venue import IndexerFill, IndexerOrder, OrderStatusUpdate, SubaccountUpdate

log = logging.getLogger(__name__)

DEFAULT_SCAN_LIMIT = 100
# Fill types of trades the chain makes on a subaccount's position, with no order of
# its own: liquidated (taker; its fee is the insurance fund's delta), deleveraged at
# the bankruptcy price, or the profitable side that offset a deleveraging.
LIQUIDATION_FILL_TYPES = frozenset({"LIQUIDATED", "DELEVERAGED", "OFFSETTING"})


@dataclass(frozen=True, slots=True)
class ForeignActivity:
    """One order or fill not placed by this trader.

    ``kind`` is ``"order"`` or ``"fill"``; ``venue_id`` the indexer's id;
    ``details`` plain text (side, size in base units, price in USDC, ...);
    ``height`` the block it was seen at, when known; ``fill`` the fill itself.
    """

    kind: str
    venue_id: str
    market: str
    details: Mapping[str, str]
    height: int | None
    fill: IndexerFill | None = None

    @property
    def is_liquidation(self) -> bool:
        """A liquidation or deleveraging fill: the chain traded our position."""
        return self.kind == "fill" and self.details.get("type") in LIQUIDATION_FILL_TYPES


class ForeignActivityMonitor:
    """Finds and records foreign activity on one subaccount; see the module docstring.

    ``scan_limit`` is how many of the latest orders and fills a scan reads;
    ``on_found`` hears of each activity recorded for the first time.
    """

    def __init__(
        self,
        venue: VenueOrders,
        orders: OrderJournal,
        journal: ForeignActivityJournal,
        *,
        address: str,
        subaccount_number: int,
        scan_limit: int = DEFAULT_SCAN_LIMIT,
        on_found: Callable[[ForeignActivity], None] | None = None,
    ) -> None:
        self._venue = venue
        self._orders = orders
        self._journal = journal
        self.address = address
        self.subaccount_number = subaccount_number
        self._scan_limit = scan_limit
        self._on_found = on_found
        self._ours: dict[str, bool] = {}  # indexer order id -> placed by us
        self._recorded: set[str] = set()
        self._checks: set[asyncio.Task[list[ForeignActivity]]] = set()

    async def scan(self) -> list[ForeignActivity]:
        """Read the latest orders and fills; record and return the foreign ones
        not recorded before."""
        orders = await self._venue.get_orders(
            self.address, self.subaccount_number, limit=self._scan_limit
        )
        found = [self._record_order(order) for order in orders if not self._learn(order)]
        recorded = [activity for activity in found if activity is not None]
        return recorded + await self.scan_fills()

    async def scan_fills(self) -> list[ForeignActivity]:
        """Read the latest fills only (a liquidation has no order); record and return
        the foreign ones not recorded before."""
        fills = await self._venue.get_fills(
            self.address, self.subaccount_number, limit=self._scan_limit
        )
        found = []
        for fill in fills:
            if not await self._fill_is_ours(fill):
                found.append(self._record_fill(fill))
        return [activity for activity in found if activity is not None]

    def on_subaccount_update(self, update: SubaccountUpdate) -> None:
        """An account stream update (a ``BalanceManager`` listener): check it
        in the background; a failed check is logged."""
        if not update.orders and not update.fills:
            return
        task = asyncio.get_running_loop().create_task(self.check_update(update))
        self._checks.add(task)
        task.add_done_callback(self._check_done)

    async def check_update(self, update: SubaccountUpdate) -> list[ForeignActivity]:
        """Record and return the foreign orders and fills in one stream update."""
        found = []
        for change in update.orders:  # orders first: their ids name the fills
            order = await self._resolve_update(change)
            if order is not None and not self._learn(order):
                found.append(self._record_order(order))
        for fill in update.fills:
            if not await self._fill_is_ours(fill):
                found.append(self._record_fill(fill))
        return [activity for activity in found if activity is not None]

    async def drain(self) -> None:
        """Wait for the stream checks under way."""
        while self._checks:
            await asyncio.wait(tuple(self._checks))

    # -- ours or not ---------------------------------------------------------------

    def _learn(self, order: IndexerOrder) -> bool:
        """True when ``order`` is ours (remembered by its indexer id)."""
        known = self._ours.get(order.order_id)
        if known is None:
            known = self._in_journal(order)
            self._ours[order.order_id] = known
        return known

    def _in_journal(self, order: IndexerOrder) -> bool:
        return order.subaccount_number in (None, self.subaccount_number) and self._journal_has(
            order.client_id, order.clob_pair_id, order.order_flags
        )

    def _journal_has(self, client_id: int, clob_pair_id: int, order_flags: int) -> bool:
        try:
            intent = self._orders.order(client_id).intent
        except UnknownOrder:
            return False
        return (
            intent.clob_pair_id == clob_pair_id
            and int(intent.order_flags) == order_flags
            and intent.address == self.address
            and intent.subaccount_number == self.subaccount_number
        )

    async def _resolve_update(self, change: OrderStatusUpdate) -> IndexerOrder | None:
        """The full order behind a stream update not classified yet; ``None`` when
        it is known already, ours, or gone from the indexer (nothing to count)."""
        if change.order_id in self._ours:
            return None
        client_id, clob_pair_id, flags = change.client_id, change.clob_pair_id, change.order_flags
        if (
            client_id is not None
            and clob_pair_id is not None
            and flags is not None
            and self._journal_has(client_id, clob_pair_id, flags)
        ):
            self._ours[change.order_id] = True
            return None
        return await self._venue.get_order(change.order_id)

    async def _fill_is_ours(self, fill: IndexerFill) -> bool:
        if fill.order_id is None:
            return False  # liquidation or deleveraging: no order of ours
        known = self._ours.get(fill.order_id)
        if known is not None:
            return known
        order = await self._venue.get_order(fill.order_id)
        return order is not None and self._learn(order)

    # -- recording -----------------------------------------------------------------

    def _record_order(self, order: IndexerOrder) -> ForeignActivity | None:
        details = {
            "side": order.side.value,
            "size": str(order.size),
            "price": str(order.price),
            "total_filled": str(order.total_filled),
            "status": order.status,
            "type": order.order_type,
            "time_in_force": order.time_in_force,
            "client_id": str(order.client_id),
        }
        height = order.updated_at_height or order.created_at_height
        return self._record(ForeignActivity("order", order.order_id, order.ticker, details, height))

    def _record_fill(self, fill: IndexerFill) -> ForeignActivity | None:
        details = {
            "side": fill.side.value,
            "size": str(fill.size),
            "price": str(fill.price),
            "fee": "" if fill.fee is None else str(fill.fee),
            "liquidity": fill.liquidity,
            "type": fill.fill_type,
            "order_id": fill.order_id or "",
            "at": fill.created_at.isoformat(),
        }
        activity = ForeignActivity(
            "fill", fill.fill_id, fill.ticker, details, fill.created_at_height, fill
        )
        return self._record(activity)

    def _record(self, activity: ForeignActivity) -> ForeignActivity | None:
        if activity.venue_id in self._recorded:
            return None
        new = self._journal.record_foreign_activity(
            activity.kind, activity.venue_id, activity.market, activity.details, activity.height
        )
        self._recorded.add(activity.venue_id)
        if not new:
            return None
        if self._on_found is not None:
            try:
                self._on_found(activity)
            except Exception:  # a listener's failure never loses the record
                log.exception("foreign activity listener failed on %s", activity.venue_id)
        d = activity.details
        log.warning(
            "%s on %s/%s: %s %s %s at %s (id %s), not placed by this trader; the balance counts it",
            f"{d['type']} fill (the chain closed our position)"
            if activity.is_liquidation
            else f"foreign {activity.kind}",
            self.address,
            self.subaccount_number,
            d.get("side", "?"),
            d.get("size", "?"),
            activity.market,
            d.get("price", "?"),
            activity.venue_id,
        )
        return activity

    def _check_done(self, task: asyncio.Task[list[ForeignActivity]]) -> None:
        self._checks.discard(task)
        error = None if task.cancelled() else task.exception()
        if error is not None:
            log.warning(
                "could not check an account update for foreign activity: %s", describe(error)
            )
