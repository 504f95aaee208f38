"""The order list's query parameters (comlink ``orders-controller.ts``), read once for one
subaccount's list and for a parent's children: ticker, side, types (LIMIT and the
conditional types), statuses and the good-til filters
(:class:`~dydx_devnet.views_orders.OrderQuery`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web

from dydx_devnet import views
from dydx_devnet.indexer_params import (
    ORDER_SIDES,
    ORDER_STATUSES,
    ORDER_TYPES,
    read_bool,
    read_choice,
    read_optional_epoch,
    read_optional_height,
    read_status_list,
    read_ticker,
    read_type_list,
)


@dataclass(frozen=True, slots=True)
class OrderList:
    """What an order list asks for; ``None`` = no filter."""

    ticker: str | None
    side: str | None
    statuses: list[str] | None
    query: views.OrderQuery

    @classmethod
    def read(cls, request: web.Request, engine: Any) -> OrderList:
        """The filters of ``request`` (a 400 for a bad one)."""
        ticker = read_ticker(request, engine, optional=True)
        side = read_choice(request, "side", ORDER_SIDES, "side must be one of BUY, SELL")
        order_type = read_choice(
            request, "type", ORDER_TYPES, f"type must be one of {', '.join(ORDER_TYPES)}"
        )
        included = read_type_list(request, "includeTypes")
        excluded = read_type_list(request, "excludeTypes")
        statuses = read_status_list(
            request, ORDER_STATUSES, f"status must be one of {', '.join(ORDER_STATUSES)}"
        )
        latest = read_bool(request, "returnLatestOrders")
        query = views.OrderQuery(
            good_til_block_before_or_at=read_optional_height(request, "goodTilBlockBeforeOrAt"),
            good_til_block_after=read_optional_height(request, "goodTilBlockAfter"),
            good_til_block_time_before_or_at=read_optional_epoch(
                request, "goodTilBlockTimeBeforeOrAt"
            ),
            good_til_block_time_after=read_optional_epoch(request, "goodTilBlockTimeAfter"),
            latest_first=latest is not False,
            order_type=order_type,
            include_types=None if included is None else tuple(included),
            exclude_types=None if excluded is None else tuple(excluded),
        )
        return cls(ticker, side, statuses, query)

    def rows(self, engine: Any, address: str, number: int, limit: int) -> list[dict[str, Any]]:
        """The subaccount's matching orders, in comlink's order, at most ``limit``."""
        return views.orders(
            engine,
            address,
            number,
            ticker=self.ticker,
            status=self.statuses,
            limit=limit,
            side=self.side,
            query=self.query,
        )
