"""The indexer's transfer routes (comlink ``transfers-controller.ts``).

* ``GET /v4/transfers?address&subaccountNumber[&limit&createdBeforeOrAtHeight
  &createdBeforeOrAt&page]``: ``{"transfers": [TransferResponseObject]}``,
  newest first; 404 for a subaccount the indexer has not seen.
* ``GET /v4/transfers/parentSubaccountNumber?address&parentSubaccountNumber…``:
  the children's transfers, without those between two children of the same
  parent, sides named by their parent number.
* ``GET /v4/transfers/between?sourceAddress&sourceSubaccountNumber
  &recipientAddress&recipientSubaccountNumber``: ``{"transfersSubset",
  "totalNetTransfers"}`` (USDC from source to recipient, net).

While the indexer lags, it shows only transfers it has reached.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from dydx_devnet import shapes
from dydx_devnet.indexer_params import (
    MAX_SUBACCOUNT_NUMBER,
    SUBACCOUNT_NUMBER_MSG,
    engine_of,
    int_in,
    invalid,
    json_response,
    not_found,
    read_address,
    read_limit,
    read_subaccount_number,
)
from dydx_devnet.indexer_view import IndexerView
from dydx_devnet.parent_subaccounts import children, is_child_of, read_parent_number
from dydx_devnet.transfers import Side, Transfer
from dydx_devnet.venue_params import paged, read_created_before, read_page, within


def _listed(
    request: web.Request,
    found: Callable[[IndexerView], bool],
    missing: str,
    keep: Callable[[Transfer], bool],
) -> dict[str, Any]:
    """The paged transfers ``keep`` selects, newest first, as the indexer sees them; a 404
    saying ``missing`` when ``found`` says it does not know the subaccount(s)."""
    limit = read_limit(request)
    height, before = read_created_before(request)
    page = read_page(request)
    engine = engine_of(request)
    with engine.lock:
        view = engine.indexer_view()
        if not found(view):
            raise not_found(missing)
        matching = [
            t
            for t in engine.sending.transfers.visible(view.height)
            if keep(t) and within(t.height, t.ms, height, before)
        ]
    return paged("transfers", matching, limit, page)


async def get_transfers(request: web.Request) -> web.Response:
    address, number = read_address(request), read_subaccount_number(request)
    body = _listed(
        request,
        lambda view: view.subaccount(address, number) is not None,
        f"No subaccount found with address {address} and subaccountNumber {number}",
        lambda t: t.involves(address, number),
    )
    body["transfers"] = [t.rest_object(address, number) for t in body["transfers"]]
    return json_response(body)


async def get_parent_transfers(request: web.Request) -> web.Response:
    address, parent = read_address(request), read_parent_number(request)
    body = _listed(
        request,
        lambda view: bool(children(view, address, parent)),
        f"No subaccount found with address {address} and parentSubaccountNumber {parent}",
        lambda t: _touches_parent(t, address, parent),
    )
    # Paged before the within-parent transfers are dropped, as comlink does.
    body["transfers"] = [
        t.parent_object(address, parent) for t in body["transfers"] if not t.within_parent()
    ]
    return json_response(body)


def _touches_parent(transfer: Transfer, address: str, parent: int) -> bool:
    return any(
        side.address == address and side.number is not None and is_child_of(side.number, parent)
        for side in (transfer.sender, transfer.recipient)
    )


def _number(request: web.Request, name: str) -> int:
    value = request.query.get(name)
    number = int_in(value, 0, MAX_SUBACCOUNT_NUMBER)
    if number is None:
        raise invalid(name, value, SUBACCOUNT_NUMBER_MSG)
    return number


def _string(request: web.Request, name: str) -> str:
    value = request.query.get(name)
    if value is None:
        raise invalid(name, None, "Invalid value")
    return value


async def get_transfers_between(request: web.Request) -> web.Response:
    source = Side(_string(request, "sourceAddress"), _number(request, "sourceSubaccountNumber"))
    recipient = Side(
        _string(request, "recipientAddress"), _number(request, "recipientSubaccountNumber")
    )
    height, before = read_created_before(request)
    engine = engine_of(request)
    assert source.number is not None
    with engine.lock:
        view = engine.indexer_view()
        pair = {source, recipient}
        between = [
            t
            for t in engine.sending.transfers.visible(view.height)
            if t.sender in pair and t.recipient in pair and within(t.height, t.ms, height, before)
        ]
        net = sum(t.signed_for(recipient.address, recipient.number or 0) for t in between)
        rows: list[dict[str, Any]] = [
            t.rest_object(source.address, source.number) for t in between[:1000]
        ]
    if source == recipient:
        net = 0
    return json_response({"transfersSubset": rows, "totalNetTransfers": shapes.usdc(net)})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/v4/transfers", get_transfers)
    app.router.add_get("/v4/transfers/parentSubaccountNumber", get_parent_transfers)
    app.router.add_get("/v4/transfers/between", get_transfers_between)
