"""Fakes for the settlement tests: an indexer that sorts, filters and pages as comlink
does, a journal that fails on cue, a foreign-activity journal, monotonic seconds.

``PagingIndexer`` follows ``orders-controller.ts`` and ``fills-controller.ts``:
orders sorted by good-til-block descending and filtered by ticker and
good-til-block window; fills newest (highest block) first, filtered by market
and ``createdBeforeOrAtHeight``; both cut at ``limit`` (default and max 1000).
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

from dydx_trader.adapters.journal import Journal
from dydx_trader.domain.errors import JournalUnavailable
from dydx_trader.domain.market import MarketSpec, MarketStatus
from dydx_trader.domain.order import (
    Order,
    OrderFlags,
    OrderIntent,
    OrderState,
    TimeInForce,
    derive_client_id,
)
from dydx_trader.domain.side import Side
from dydx_trader.domain.venue import IndexerFill, IndexerHeight, IndexerOrder

ADDRESS = "dydx1xx4evg0695an5nvhnmuw9wp3umwdpsguyxzhmp"
NOW = datetime(2026, 1, 1, tzinfo=UTC)
API_LIMIT = 1000
BTC = MarketSpec(
    ticker="BTC-USD",
    clob_pair_id=0,
    status=MarketStatus.ACTIVE,
    oracle_price=Decimal(65_000),
    initial_margin_fraction=Decimal("0.05"),
    maintenance_margin_fraction=Decimal("0.03"),
    open_interest=Decimal(0),
    atomic_resolution=-10,
    quantum_conversion_exponent=-9,
    tick_size=Decimal(1),
    step_size=Decimal("0.0001"),
    step_base_quantums=1_000_000,
    subticks_per_tick=100_000,
)


def intent(
    signal_id: str = "s1", *, quantums: int = 2_000_000, good_til_block: int = 110
) -> OrderIntent:
    """A BTC-USD IOC BUY of ``quantums`` (1,000,000 = 0.0001 BTC) for ``signal_id``."""
    return OrderIntent(
        signal_id=signal_id,
        address=ADDRESS,
        subaccount_number=0,
        market="BTC-USD",
        clob_pair_id=0,
        side=Side.BUY,
        quantums=quantums,
        subticks=6_500_000_000,
        time_in_force=TimeInForce.IOC,
        reduce_only=False,
        order_flags=OrderFlags.SHORT_TERM,
        client_id=derive_client_id(ADDRESS, 0, signal_id),
        good_til_block=good_til_block,
    )


class PagingIndexer:
    """The indexer's order and fill reads (``VenueOrders``), with failures on cue.

    ``fail_next(*errors)`` makes the next reads raise those errors, one each.
    """

    def __init__(self, height: int) -> None:
        self.height = height
        self.orders: dict[str, IndexerOrder] = {}
        self.fills: list[IndexerFill] = []
        self.calls: Counter[str] = Counter()
        self._failures: list[Exception] = []
        self._ids = itertools.count(1)

    def fail_next(self, *errors: Exception) -> None:
        self._failures.extend(errors)

    def recover(self) -> None:
        """Drop the failures still armed."""
        self._failures.clear()

    def _read(self, what: str) -> None:
        self.calls[what] += 1
        if self._failures:
            raise self._failures.pop(0)

    async def get_height(self) -> IndexerHeight:
        self._read("height")
        return IndexerHeight(self.height, NOW)

    async def get_orders(
        self,
        address: str,
        subaccount_number: int,
        *,
        ticker: str | None = None,
        status: str | None = None,
        limit: int | None = None,
        good_til_block_before_or_at: int | None = None,
        good_til_block_after: int | None = None,
    ) -> tuple[IndexerOrder, ...]:
        self._read("orders")
        found = [
            o
            for o in self.orders.values()
            if (ticker is None or o.ticker == ticker)
            and (status is None or o.status == status)
            and _in_window(o.good_til_block, good_til_block_after, good_til_block_before_or_at)
        ]
        found.sort(key=lambda o: o.good_til_block or 0, reverse=True)
        return tuple(found[: limit or API_LIMIT])

    async def get_order(self, order_id: str) -> IndexerOrder | None:
        self._read("order")
        return self.orders.get(order_id)

    async def get_fills(
        self,
        address: str,
        subaccount_number: int,
        *,
        market: str | None = None,
        limit: int | None = None,
        created_before_or_at_height: int | None = None,
    ) -> tuple[IndexerFill, ...]:
        self._read("fills")
        found = [
            f
            for f in reversed(self.fills)
            if (market is None or f.ticker == market)
            and (
                created_before_or_at_height is None
                or f.created_at_height <= created_before_or_at_height
            )
        ]
        found.sort(key=lambda f: f.created_at_height, reverse=True)
        return tuple(found[: limit or API_LIMIT])

    # -- scripting the venue --------------------------------------------------------

    def show(
        self,
        order: OrderIntent,
        status: str,
        filled: Decimal = Decimal(0),
        *,
        order_id: str | None = None,
        client_id: int | None = None,
    ) -> IndexerOrder:
        """List ``order`` with ``status`` and ``filled`` (base units)."""
        venue_order = IndexerOrder(
            order_id=order_id or f"order-{order.client_id}",
            client_id=order.client_id if client_id is None else client_id,
            ticker=order.market,
            clob_pair_id=order.clob_pair_id,
            side=order.side,
            size=BTC.quantums_to_size(order.quantums),
            total_filled=filled,
            price=BTC.subticks_to_price(order.subticks),
            order_type="LIMIT",
            status=status,
            time_in_force=order.time_in_force.value,
            reduce_only=order.reduce_only,
            post_only=False,
            order_flags=int(order.order_flags),
            subaccount_number=order.subaccount_number,
            good_til_block=order.good_til_block,
        )
        self.orders[venue_order.order_id] = venue_order
        return venue_order

    def remove(self, order_id: str) -> None:
        """The order disappears (an unfilled short-term order leaving the book)."""
        del self.orders[order_id]

    def fill(
        self,
        order_id: str | None,
        size: Decimal,
        *,
        height: int | None = None,
        fill_id: str | None = None,
        market: str = "BTC-USD",
    ) -> IndexerFill:
        new = IndexerFill(
            fill_id=fill_id or f"fill-{next(self._ids)}",
            ticker=market,
            side=Side.BUY,
            liquidity="TAKER",
            fill_type="LIMIT",
            price=Decimal(65_010),
            size=size,
            fee=Decimal("0.5"),
            created_at=NOW,
            created_at_height=self.height if height is None else height,
            order_id=order_id,
        )
        self.fills.append(new)
        return new


def _in_window(value: int | None, after: int | None, before_or_at: int | None) -> bool:
    if after is None and before_or_at is None:
        return True
    if value is None:
        return False
    return (after is None or value > after) and (before_or_at is None or value <= before_or_at)


class FlakyJournal:
    """A real journal whose next writes of one kind fail as a locked file would."""

    def __init__(self, journal: Journal) -> None:
        self._journal = journal
        self.fail_transitions = 0
        self.fail_intents = 0

    def record_intent(self, order_intent: OrderIntent, reason: str = "intent journaled") -> Order:
        if self.fail_intents:
            self.fail_intents -= 1
            raise JournalUnavailable("journal write failed: database is locked")
        return self._journal.record_intent(order_intent, reason)

    def transition(
        self, client_id: int, new_state: OrderState, reason: str, **numbers: object
    ) -> Order:
        if self.fail_transitions:
            self.fail_transitions -= 1
            raise JournalUnavailable("journal write failed: database is locked")
        return self._journal.transition(client_id, new_state, reason, **numbers)

    def record_fill(self, client_id: int, fill_id: str, **values: object) -> bool:
        return self._journal.record_fill(client_id, fill_id, **values)  # type: ignore[arg-type]

    def order(self, client_id: int) -> Order:
        return self._journal.order(client_id)

    def in_flight_orders(self) -> list[Order]:
        return self._journal.in_flight_orders()


class ForeignJournal:
    """``record_foreign_activity`` as the real journal does it: once per venue id."""

    def __init__(self) -> None:
        self.records: dict[str, tuple[str, str, Mapping[str, str], int | None]] = {}

    def record_foreign_activity(
        self,
        kind: str,
        venue_id: str,
        market: str,
        details: Mapping[str, str],
        height: int | None,
    ) -> bool:
        if venue_id in self.records:
            return False
        self.records[venue_id] = (kind, market, dict(details), height)
        return True


class FakeMonotonic:
    """Monotonic seconds that move only when a test says so."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def with_status(order: IndexerOrder, status: str, filled: Decimal | None = None) -> IndexerOrder:
    """``order`` as the indexer reports it later."""
    return replace(
        order, status=status, total_filled=order.total_filled if filled is None else filled
    )
