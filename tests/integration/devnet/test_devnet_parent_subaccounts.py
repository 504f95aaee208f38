"""Parent subaccounts and isolated margin, driven by the unmodified official client.

An isolated market trades only in a subaccount holding nothing else: the
demo account keeps its cross position in subaccount 0 and trades the isolated
market from child 128 (a child of parent 0), funded by a transfer. The
indexer's parent views and the ``v4_parent_subaccounts`` channel show both.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import aiohttp
import httpx
import pytest
from dydx_v4_client.node.message import order as build_order
from dydx_v4_client.node.message import order_id as build_order_id
from dydx_v4_client.node.message import subaccount
from official_client_helpers import BUY, IOC, market, quantums, subticks
from venue_helpers import Trader, demo_trader_on

from dydx_devnet.server import Devnet, DevnetConfig

ISOLATED_MARKET = "ONDO-USD"
CHILD = 128  # parent 0's first isolated child


@pytest.fixture
async def trader() -> AsyncIterator[Trader]:
    config = DevnetConfig(
        indexer_port=0,
        grpc_port=0,
        block_time=0.05,
        seed=1,
        markets=("BTC-USD", "ETH-USD", ISOLATED_MARKET),
    )
    async with Devnet(config) as devnet:
        yield await demo_trader_on(devnet)


async def buy(trader: Any, ticker: str, usdc: Decimal, number: int = 0) -> Any:
    m = await market(trader, ticker)
    size = usdc / Decimal(m["oraclePrice"])
    height = await trader.node.latest_block_height()
    order_id = build_order_id(trader.address, number, height, int(m["clobPairId"]), 0)
    order = build_order(
        order_id,
        BUY,
        quantums=quantums(size, m),
        subticks=subticks(Decimal(m["oraclePrice"]) * Decimal("1.02"), m, up=True),
        time_in_force=IOC,
        reduce_only=False,
        good_til_block=height + 10,
    )
    response = await trader.node.place_order(trader.wallet, order)
    assert response.tx_response.code == 0, response.tx_response.raw_log
    return order_id


async def test_isolated_market_when_traded_beside_a_cross_position_then_removed_violating(
    trader: Any,
) -> None:
    await buy(trader, "BTC-USD", Decimal(1_000))

    await buy(trader, ISOLATED_MARKET, Decimal(200))
    await trader.devnet.wait_blocks(2)

    fills = (await trader.indexer.account.get_subaccount_fills(trader.address, 0))["fills"]
    assert {f["market"] for f in fills} == {"BTC-USD"}  # removed before any fill
    positions = (await trader.indexer.account.get_subaccount(trader.address, 0))["subaccount"][
        "openPerpetualPositions"
    ]
    assert list(positions) == ["BTC-USD"]


async def test_isolated_market_when_child_funded_by_transfer_then_parent_views_show_both(
    trader: Any,
) -> None:
    await buy(trader, "BTC-USD", Decimal(1_000))
    moved = await trader.node.transfer(
        trader.wallet, subaccount(trader.address, 0), subaccount(trader.address, CHILD), 0, 10**9
    )
    assert moved.tx_response.code == 0, moved.tx_response.raw_log

    await buy(trader, ISOLATED_MARKET, Decimal(2_000), number=CHILD)
    await trader.devnet.wait_blocks(2)  # indexed with the block that holds the fills

    parent = (await trader.indexer.account.get_parent_subaccount(trader.address, 0))["subaccount"]
    assert parent["parentSubaccountNumber"] == 0
    children = {c["subaccountNumber"]: c for c in parent["childSubaccounts"]}
    assert set(children) == {0, CHILD}
    assert list(children[CHILD]["openPerpetualPositions"]) == [ISOLATED_MARKET]
    assert Decimal(parent["equity"]) == sum(Decimal(c["equity"]) for c in children.values())
    assert Decimal(parent["freeCollateral"]) == sum(
        Decimal(c["freeCollateral"]) for c in children.values()
    )
    positions = (await trader.indexer.account.get_parent_subaccount_positions(trader.address, 0))[
        "positions"
    ]
    assert {(p["market"], p["subaccountNumber"]) for p in positions} == {
        ("BTC-USD", 0),
        (ISOLATED_MARKET, CHILD),
    }
    fills = (await trader.indexer.account.get_parent_fills(trader.address, 0))["fills"]
    assert {f["subaccountNumber"] for f in fills} == {0, CHILD}
    assets = (
        await trader.indexer.account.get_parent_subaccount_asset_positions(trader.address, 0)
    )["positions"]
    assert {a["subaccountNumber"] for a in assets} == {0, CHILD}
    orders = await trader.indexer.account.list_parent_orders(trader.address, 0)
    assert {o["subaccountNumber"] for o in orders} == {0, CHILD}


async def test_parent_subaccount_when_number_not_a_parent_then_400_and_unknown_then_404(
    trader: Any,
) -> None:
    base = f"{trader.devnet.indexer_url}/v4/addresses/{trader.address}/parentSubaccountNumber"
    async with httpx.AsyncClient() as client:
        too_high = await client.get(f"{base}/128")
        unknown = await client.get(f"{base}/5")

    assert too_high.status_code == 400
    assert too_high.json()["errors"][0]["msg"] == (
        "parentSubaccountNumber must be a non-negative integer less than 128"
    )
    assert unknown.status_code == 404


async def test_parent_channel_when_child_trades_then_update_names_the_child(
    trader: Any,
) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(trader.devnet.websocket_url) as ws,
    ):
        await ws.receive_json()
        await ws.send_json(
            {"type": "subscribe", "channel": "v4_parent_subaccounts", "id": f"{trader.address}/0"}
        )
        subscribed = await ws.receive_json()
        moved = await trader.node.transfer(
            trader.wallet,
            subaccount(trader.address, 0),
            subaccount(trader.address, CHILD),
            0,
            10**9,
        )
        assert moved.tx_response.code == 0
        await buy(trader, ISOLATED_MARKET, Decimal(500), number=CHILD)
        updates = await _updates_until_fill(ws)

    assert subscribed["type"] == "subscribed"
    assert subscribed["contents"]["subaccount"]["parentSubaccountNumber"] == 0
    assert {m["version"] for m in updates} == {"3.0.0"}
    assert all("transfers" not in m["contents"] for m in updates)  # within the parent
    fill_message = updates[-1]
    assert fill_message["subaccountNumber"] == CHILD
    assert fill_message["id"] == f"{trader.address}/0"
    assert fill_message["contents"]["fills"][0]["ticker"] == ISOLATED_MARKET


async def _updates_until_fill(ws: aiohttp.ClientWebSocketResponse) -> list[dict[str, Any]]:
    updates: list[dict[str, Any]] = []
    while True:
        message = await asyncio.wait_for(ws.receive_json(), 5)
        if message.get("type") != "channel_data":
            continue
        updates.append(message)
        if "fills" in message["contents"]:
            return updates
