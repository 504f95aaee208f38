"""Shared integration fixtures: a devnet running in-process on free loopback ports.

``devnet``         a running :class:`dydx_devnet.server.Devnet` (blocks every 50 ms).
``demo_trader``    the official client wired to it, with the demo account funded.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal

import pytest
from dydx_v4_client.indexer.rest.indexer_client import IndexerClient
from dydx_v4_client.network import Network
from dydx_v4_client.node.client import NodeClient
from dydx_v4_client.wallet import Wallet

from dydx_devnet.demo import DEMO_MNEMONIC
from dydx_devnet.server import Devnet, DevnetConfig

# Few markets keep start-up fast; BTC and ETH have real 2025 parameters, SOL has OI caps.
TEST_MARKETS = ("BTC-USD", "ETH-USD", "SOL-USD")
DEMO_FUNDS_USDC = Decimal(10_000)


@pytest.fixture
async def devnet() -> AsyncIterator[Devnet]:
    config = DevnetConfig(
        indexer_port=0, grpc_port=0, block_time=0.05, seed=1, markets=TEST_MARKETS
    )
    async with Devnet(config) as running:
        yield running


@dataclass
class Trader:
    """The unmodified official client pointed at the devnet."""

    devnet: Devnet
    network: Network
    indexer: IndexerClient
    node: NodeClient
    wallet: Wallet
    address: str


@pytest.fixture
async def demo_trader(devnet: Devnet) -> Trader:
    address = devnet.fund_demo(DEMO_FUNDS_USDC)
    network = devnet.network()
    node = await NodeClient.connect(network.node)
    wallet = await Wallet.from_mnemonic(node, DEMO_MNEMONIC, address)
    indexer = IndexerClient(network.rest_indexer, api_timeout=5)
    return Trader(devnet, network, indexer, node, wallet, address)
