"""``GET /v4/orders`` and ``GET /v4/orders/{id}``: comlink's order listing.

Orders come from the engine's :class:`~dydx_devnet.indexer_view.IndexerView`
(Postgres rows as of the indexer's height, plus resting short-term orders in
Redis) in the shapes of :mod:`dydx_devnet.indexer_orders`, filtered and sorted
as comlink does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dydx_devnet import indexer_orders
from dydx_devnet.engine import Engine
from dydx_devnet.orders import OrderState

API_LIMIT = 1000


def orders(
    engine: Engine,
    address: str,
    number: int,
    ticker: str | None = None,
    status: str | list[str] | None = None,
    limit: int = API_LIMIT,
    side: str | None = None,
    query: OrderQuery | None = None,
) -> list[dict[str, Any]]:
    """``GET /v4/orders``: a bare list, sorted as comlink sorts (by good-til-block,
    then good-til-block-time; descending unless ``returnLatestOrders=false``)."""
    wanted = {status} if isinstance(status, str) else (set(status) if status else None)
    query = query or OrderQuery()
    with engine.lock:
        rows: list[tuple[OrderState, dict[str, Any]]] = []
        for order, stored in engine.indexer_view().orders_of(address, number):
            if ticker is not None and order.ticker != ticker:
                continue
            if side is not None and ("BUY" if order.is_buy else "SELL") != side:
                continue
            if not query.admits(order):
                continue
            market = engine.state.by_clob[order.clob_pair_id]
            body = indexer_orders.rest_object(order, market, stored=stored)
            if wanted is not None and body["status"] not in wanted:
                continue
            if not query.admits_type(body["type"]):
                continue
            rows.append((order, body))
        rows.sort(key=lambda row: _order_rank(row[0]), reverse=query.latest_first)
        return [body for _, body in rows[:limit]]


@dataclass(frozen=True)
class OrderQuery:
    """comlink's order filters (``OrderTable.findAll`` and the Redis filter); heights are
    block numbers, times unix seconds."""

    good_til_block_before_or_at: int | None = None
    good_til_block_after: int | None = None
    good_til_block_time_before_or_at: int | None = None
    good_til_block_time_after: int | None = None
    latest_first: bool = True
    order_type: str | None = None
    include_types: tuple[str, ...] | None = None
    exclude_types: tuple[str, ...] | None = None

    def admits_type(self, order_type: str) -> bool:
        """The ``type``, ``includeTypes`` and ``excludeTypes`` filters."""
        return (
            self.order_type in (None, order_type)
            and (self.include_types is None or order_type in self.include_types)
            and (self.exclude_types is None or order_type not in self.exclude_types)
        )

    def admits(self, order: OrderState) -> bool:
        return _within(
            order.good_til_block, self.good_til_block_before_or_at, self.good_til_block_after
        ) and _within(
            order.good_til_block_time,
            self.good_til_block_time_before_or_at,
            self.good_til_block_time_after,
        )


def _within(value: int | None, at_most: int | None, above: int | None) -> bool:
    """comlink's pair of filters on one expiry field: an order without it fails either."""
    if at_most is None and above is None:
        return True
    if value is None:
        return False
    return (at_most is None or value <= at_most) and (above is None or value > above)


def _order_rank(order: OrderState) -> tuple[int, int, int]:
    """Ascending comlink order: good-til-block orders first, by value; then by time."""
    if order.good_til_block is not None:
        return (0, order.good_til_block, order.recorded_index)
    return (1, order.good_til_block_time or 0, order.recorded_index)


def order(engine: Engine, order_id: str) -> dict[str, Any] | None:
    """``GET /v4/orders/{id}``; ``None`` = 404 (an unfilled short-term order once removed)."""
    with engine.lock:
        found = engine.indexer_view().order(order_id)
        if found is None:
            return None
        state, stored = found
        market = engine.state.by_clob[state.clob_pair_id]
        return indexer_orders.rest_object(state, market, stored=stored)
