"""The unmodified official client reads a lagging indexer: old state, not just an old height."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import aiohttp
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
