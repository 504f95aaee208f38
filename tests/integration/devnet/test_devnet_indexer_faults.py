"""The unmodified official client meets the indexer faults a soak needs.

A lagging indexer serves old state, not just an old height; a route answers
429 with ``Retry-After`` in milliseconds; fills show up blocks late.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import aiohttp
import httpx
import pytest
from dydx_v4_client.indexer.rest.indexer_client import IndexerClient
from dydx_v4_client.node.client import NodeClient
from dydx_v4_client.wallet import Wallet
from official_client_helpers import BUY, ioc, market

from dydx_devnet.demo import DEMO_ADDRESS, DEMO_MNEMONIC
from dydx_devnet.server import Devnet, DevnetConfig


@pytest.fixture
async def manual_trader() -> AsyncIterator[Any]:
    """The demo account on a devnet whose blocks come only when the test asks."""
    config = DevnetConfig(indexer_port=0, grpc_port=0, auto_blocks=False, markets=("BTC-USD",))
    async with Devnet(config) as devnet:
        devnet.fund(DEMO_ADDRESS, 10_000)
        await devnet.advance_blocks(2)
        network = devnet.network()
        node = await NodeClient.connect(network.node)
        yield SimpleNamespace(
            devnet=devnet,
            node=node,
            wallet=await Wallet.from_mnemonic(node, DEMO_MNEMONIC, DEMO_ADDRESS),
            address=DEMO_ADDRESS,
            indexer=IndexerClient(network.rest_indexer, api_timeout=5),
        )


async def _arm(devnet: Devnet, faults: dict[str, Any]) -> dict[str, Any]:
    async with aiohttp.ClientSession() as session:
        async with session.post(devnet.indexer_url + "/devnet/faults", json=faults) as response:
            assert response.status == 200, await response.text()
            body: dict[str, Any] = await response.json()
            return body


async def test_official_client_when_indexer_held_then_reads_the_subaccount_as_it_was(
    manual_trader: Any,
) -> None:
    devnet, indexer = manual_trader.devnet, manual_trader.indexer
    before = await indexer.account.get_subaccount(DEMO_ADDRESS, 0)
    traded_at = devnet.engine.height
    await _arm(devnet, {"hold_indexer": 4})
    m = await market(manual_trader)
    _, response = await ioc(manual_trader, m, BUY, Decimal(m["stepSize"]) * 10)
    assert response.tx_response.code == 0, response.tx_response.raw_log
    await devnet.advance_blocks(3)

    lagging = await indexer.account.get_subaccount(DEMO_ADDRESS, 0)
    fills = await indexer.account.get_subaccount_fills(DEMO_ADDRESS, 0)
    orders = await indexer.account.get_subaccount_orders(DEMO_ADDRESS, 0)
    height = await indexer.utility.get_height()

    # The indexer has processed up to the block before the trade.
    indexed = str(traded_at - 1)
    assert lagging["subaccount"] == {**before["subaccount"], "latestProcessedBlockHeight": indexed}
    assert (fills["fills"], orders, height["height"]) == ([], [], indexed)
    await _arm(devnet, {"hold_indexer": 0})
    caught_up = await indexer.account.get_subaccount(DEMO_ADDRESS, 0)
    assert "BTC-USD" in caught_up["subaccount"]["openPerpetualPositions"]
    assert len((await indexer.account.get_subaccount_fills(DEMO_ADDRESS, 0))["fills"]) == 1


async def test_official_client_when_fills_route_rate_limited_then_429_with_retry_after_ms(
    manual_trader: Any,
) -> None:
    devnet, indexer = manual_trader.devnet, manual_trader.indexer
    armed = await _arm(
        devnet,
        {
            "fail_next_indexer_requests": {
                "count": 1,
                "route": "fills",
                "status": 429,
                "retry_after_ms": 1500,
            }
        },
    )
    assert armed["fail_next_indexer_requests"] == [
        {"route": "fills", "count": 1, "status": 429, "retry_after_ms": 1500}
    ]

    other_route = await indexer.account.get_subaccount(DEMO_ADDRESS, 0)
    with pytest.raises(httpx.HTTPStatusError) as limited:
        await indexer.account.get_subaccount_fills(DEMO_ADDRESS, 0)
    again = await indexer.account.get_subaccount_fills(DEMO_ADDRESS, 0)

    response = limited.value.response
    assert other_route["subaccount"]["equity"] == "10000"
    assert (response.status_code, response.headers["Retry-After"]) == (429, "1500")
    assert response.json() == {"errors": [{"msg": "Too many requests"}]}
    assert again == {"fills": []}
    async with aiohttp.ClientSession() as session:
        async with session.get(devnet.indexer_url + "/devnet/faults") as answer:
            assert (await answer.json())["fail_next_indexer_requests"] == []


async def test_official_client_when_fills_delayed_then_order_filled_before_its_fill_shows(
    manual_trader: Any,
) -> None:
    devnet, indexer = manual_trader.devnet, manual_trader.indexer
    await _arm(devnet, {"delay_fills_blocks": 2})
    m = await market(manual_trader)

    order, response = await ioc(manual_trader, m, BUY, Decimal(m["stepSize"]))

    assert response.tx_response.code == 0, response.tx_response.raw_log
    await devnet.advance_blocks(1)  # the block that holds the fill
    (placed,) = await indexer.account.get_subaccount_orders(DEMO_ADDRESS, 0)
    assert placed["status"] == "FILLED"
    assert (await indexer.account.get_subaccount_fills(DEMO_ADDRESS, 0))["fills"] == []
    await devnet.advance_blocks(2)
    (fill,) = (await indexer.account.get_subaccount_fills(DEMO_ADDRESS, 0))["fills"]
    assert fill["orderId"] == placed["id"] and fill["clientMetadata"] == str(order.client_metadata)
