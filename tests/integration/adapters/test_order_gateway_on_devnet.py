"""The order gateway's classification against the devnet's node over loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from dydx_devnet.demo import DEMO_ADDRESS, DEMO_MNEMONIC
from dydx_devnet.server import Devnet, DevnetConfig
from dydx_trader.adapters.dydx.indexer import IndexerGateway
from dydx_trader.adapters.dydx.network import network_profile
from dydx_trader.adapters.dydx.node import NodeGateway
from dydx_trader.bootstrap import signing_sender
from dydx_trader.domain.broadcast import Accepted, Unknown
from dydx_trader.domain.order import OrderFlags, OrderIntent, TimeInForce, derive_client_id
from dydx_trader.domain.side import Side
from dydx_trader.secrets import Secret


@pytest.fixture
async def devnet() -> AsyncIterator[Devnet]:
    config = DevnetConfig(indexer_port=0, grpc_port=0, block_time=0.05, seed=1,
                          markets=("BTC-USD",))  # fmt: skip
    async with Devnet(config) as running:
        running.fund_demo(Decimal(10_000))
        yield running


async def test_broadcast_when_the_same_bytes_go_twice_then_the_second_is_unknown_not_rejected(
    devnet: Devnet,
) -> None:
    node = await NodeGateway.connect(network_profile("devnet", grpc_address=devnet.grpc_address))
    indexer = IndexerGateway(devnet.indexer_url)
    try:
        sender = await signing_sender(node, Secret(DEMO_MNEMONIC), DEMO_ADDRESS, timeout_s=5)
        spec = (await indexer.get_markets())["BTC-USD"]
        worst = spec.require_oracle_price() * Decimal("1.01")
        intent = OrderIntent(
            signal_id="twice",
            address=DEMO_ADDRESS,
            subaccount_number=0,
            market="BTC-USD",
            clob_pair_id=spec.clob_pair_id,
            side=Side.BUY,
            quantums=spec.step_base_quantums,
            subticks=spec.price_to_subticks(worst, Side.BUY),
            time_in_force=TimeInForce.IOC,
            reduce_only=False,
            order_flags=OrderFlags.SHORT_TERM,
            client_id=derive_client_id(DEMO_ADDRESS, 0, "twice"),
            good_til_block=await node.latest_block_height() + 10,
        )
        signed = sender.sign(intent)

        first = await sender.broadcast(signed)
        second = await sender.broadcast(signed)
    finally:
        await indexer.close()
        await node.close()

    assert isinstance(first, Accepted)
    # sdk 19: the node has run these bytes already; the first send's outcome stands.
    assert isinstance(second, Unknown)
    assert "sdk code 19" in second.error.message
