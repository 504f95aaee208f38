"""The order list's filters (comlink ``orders-controller.ts``), for one subaccount or a parent's
children: ticker, side, type, statuses and ``goodTilBlockBeforeOrAt``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web

from dydx_devnet import views
from dydx_devnet.indexer_params import (
    API_LIMIT,
    ORDER_SIDES,
    ORDER_STATUSES,
    ORDER_TYPES,
    read_bool,
    read_choice,
    read_optional_height,
    read_optional_iso,
    read_status_list,
    read_ticker,
)


@dataclass(frozen=True, slots=True)
class OrderQuery:
    """What an order list asks for; ``None`` = no filter."""

    ticker: str | None
    side: str | None
    order_type: str | None
    statuses: list[str] | None
    good_til_block: int | None

    @classmethod
    def read(cls, request: web.Request, engine: Any) -> OrderQuery:
        """The filters of ``request`` (a 400 for a bad one)."""
        ticker = read_ticker(request, engine, optional=True)
        side = read_choice(request, "side", ORDER_SIDES, "side must be one of BUY, SELL")
        order_type = read_choice(
            request, "type", ORDER_TYPES, f"type must be one of {', '.join(ORDER_TYPES)}"
        )
        statuses = read_status_list(
            request, ORDER_STATUSES, f"status must be one of {', '.join(ORDER_STATUSES)}"
        )
        good_til_block = read_optional_height(request, "goodTilBlockBeforeOrAt")
        read_optional_iso(request, "goodTilBlockTimeBeforeOrAt")
        read_bool(request, "returnLatestOrders")
        return cls(ticker, side, order_type, statuses, good_til_block)

    def rows(self, engine: Any, address: str, number: int) -> list[dict[str, Any]]:
        """The subaccount's matching orders, newest first."""
        orders = views.orders(
            engine,
            address,
            number,
            ticker=self.ticker,
            status=self.statuses,
            limit=API_LIMIT,
            side=self.side,
        )
        gtb = self.good_til_block
        return [
            order
            for order in orders
            if (self.order_type is None or order.get("type") == self.order_type)
            and (
                gtb is None
                or (order.get("goodTilBlock") is not None and int(order["goodTilBlock"]) <= gtb)
            )
        ]
