"""The indexer's parent-subaccount routes: a parent and its children, as one account.

* ``GET /v4/addresses/{address}/parentSubaccountNumber/{p}``:
  ``{"subaccount": {address, parentSubaccountNumber, equity, freeCollateral,
  childSubaccounts}}`` (equity and free collateral summed over the children;
  404 when the indexer knows none of them);
* ``GET /v4/assetPositions/parentSubaccountNumber``, ``/v4/perpetualPositions/…``,
  ``/v4/orders/…`` and ``/v4/fills/…`` with ``address`` and
  ``parentSubaccountNumber``: the children's rows, each naming its own
  ``subaccountNumber``, newest first.

Children are subaccounts ``p + 128·k`` (:mod:`dydx_devnet.parent_subaccounts`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from aiohttp import web

from dydx_devnet import shapes, views
from dydx_devnet.engine import Engine
from dydx_devnet.indexer_params import (
    POSITION_STATUSES,
    engine_of,
    json_response,
    not_found,
    read_address,
    read_limit,
    read_optional_height,
    read_optional_iso,
    read_status_list,
)
from dydx_devnet.order_query import OrderList
from dydx_devnet.parent_subaccounts import children, read_parent_number
from dydx_devnet.venue_params import paged, read_page


def parent_subaccount(engine: Engine, address: str, parent: int) -> dict[str, Any] | None:
    """The ``ParentSubaccountResponse`` body; ``None`` when the indexer knows no child."""
    with engine.lock:
        numbers = [a.number for a in children(engine.indexer_view(), address, parent)]
        if not numbers:
            return None
        bodies = []
        for number in numbers:
            body = views.subaccount(engine, address, number)
            assert body is not None
            bodies.append(body["subaccount"])
    return {
        "address": address,
        "parentSubaccountNumber": parent,
        "equity": shapes.dec(sum((Decimal(b["equity"]) for b in bodies), Decimal(0))),
        "freeCollateral": shapes.dec(
            sum((Decimal(b["freeCollateral"]) for b in bodies), Decimal(0))
        ),
        "childSubaccounts": bodies,
    }


def child_numbers(engine: Engine, address: str, parent: int) -> list[int]:
    with engine.lock:
        return [a.number for a in children(engine.indexer_view(), address, parent)]


def _newest_first(rows: list[dict[str, Any]], height_key: str) -> list[dict[str, Any]]:
    # Stable: rows of one child keep their own newest-first order.
    return sorted(rows, key=lambda row: int(row[height_key]), reverse=True)


async def get_parent_subaccount(request: web.Request) -> web.Response:
    address, parent = read_address(request), read_parent_number(request)
    body = parent_subaccount(engine_of(request), address, parent)
    if body is None:
        raise not_found(
            f"No subaccounts found for address {address} and parentSubaccountNumber {parent}"
        )
    return json_response({"subaccount": body})


async def get_parent_asset_positions(request: web.Request) -> web.Response:
    address, parent = read_address(request), read_parent_number(request)
    engine = engine_of(request)
    rows: list[dict[str, Any]] = []
    for number in child_numbers(engine, address, parent):
        rows += views.asset_positions(engine, address, number)["positions"]
    return json_response({"positions": rows})


async def get_parent_perpetual_positions(request: web.Request) -> web.Response:
    address, parent = read_address(request), read_parent_number(request)
    statuses = read_status_list(
        request, POSITION_STATUSES, "status must be a valid Position Status (OPEN, etc)"
    )
    limit = read_limit(request)
    read_optional_height(request, "createdBeforeOrAtHeight")
    read_optional_iso(request, "createdBeforeOrAt")
    engine = engine_of(request)
    rows: list[dict[str, Any]] = []
    for number in child_numbers(engine, address, parent):
        rows += views.perpetual_positions(engine, address, number, status=statuses)["positions"]
    return json_response({"positions": _newest_first(rows, "createdAtHeight")[:limit]})


async def get_parent_orders(request: web.Request) -> web.Response:
    engine = engine_of(request)
    address, parent = read_address(request), read_parent_number(request)
    limit = read_limit(request)
    query = OrderList.read(request, engine)
    rows: list[dict[str, Any]] = []
    for number in child_numbers(engine, address, parent):
        rows += query.rows(engine, address, number, limit)
    return json_response(_newest_first(rows, "updatedAtHeight")[:limit])


async def get_parent_fills(request: web.Request) -> web.Response:
    address, parent = read_address(request), read_parent_number(request)
    limit = read_limit(request)
    page = read_page(request)
    engine = engine_of(request)
    rows: list[dict[str, Any]] = []
    for number in child_numbers(engine, address, parent):
        rows += views.fills(engine, address, number)["fills"]
    return json_response(paged("fills", _newest_first(rows, "createdAtHeight"), limit, page))


def add_routes(app: web.Application) -> None:
    app.router.add_get(
        "/v4/addresses/{address}/parentSubaccountNumber/{parentSubaccountNumber}",
        get_parent_subaccount,
    )
    app.router.add_get("/v4/assetPositions/parentSubaccountNumber", get_parent_asset_positions)
    app.router.add_get(
        "/v4/perpetualPositions/parentSubaccountNumber", get_parent_perpetual_positions
    )
    app.router.add_get("/v4/orders/parentSubaccountNumber", get_parent_orders)
    app.router.add_get("/v4/fills/parentSubaccountNumber", get_parent_fills)
