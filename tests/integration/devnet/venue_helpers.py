"""The official client on a devnet a test configures itself (beside the shared fixtures)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from dydx_v4_client.indexer.rest.indexer_client import IndexerClient
from dydx_v4_client.node.client import NodeClient
from dydx_v4_client.wallet import Wallet

from dydx_devnet.demo import DEMO_MNEMONIC
from dydx_devnet.server import Devnet


@dataclass
class Trader:
    """The unmodified official client, signing for the funded demo account."""

    devnet: Devnet
    node: NodeClient
    wallet: Wallet
    indexer: IndexerClient
    address: str


async def demo_trader_on(devnet: Devnet, usdc: Decimal | int = 10_000) -> Trader:
    """Fund the demo account with ``usdc`` and connect the official client to ``devnet``."""
    address = devnet.fund_demo(usdc)
    network = devnet.network()
    node = await NodeClient.connect(network.node)
    wallet = await Wallet.from_mnemonic(node, DEMO_MNEMONIC, address)
    return Trader(devnet, node, wallet, IndexerClient(network.rest_indexer, api_timeout=5), address)
