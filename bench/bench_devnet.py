"""devnet_orders_per_s: short-term IOC orders placed by the official client and matched.

The unmodified ``dydx-v4-client`` signs and broadcasts each order over loopback
gRPC to an in-process devnet (as ``NodeClient.place_order`` does: an account
query, then ``BroadcastTx``); orders alternate buy/sell so the position stays
small. Every order must fill, checked afterwards through the indexer.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from dydx_v4_client import OrderFlags
from dydx_v4_client.indexer.rest.indexer_client import IndexerClient
from dydx_v4_client.node.client import NodeClient
from dydx_v4_client.node.message import order as build_order
from dydx_v4_client.node.message import order_id as build_order_id
from dydx_v4_client.wallet import Wallet
from v4_proto.dydxprotocol.clob.order_pb2 import Order

from dydx_devnet.demo import DEMO_ADDRESS, DEMO_MNEMONIC
from dydx_devnet.indexer_limits import IndexerLimits
from dydx_devnet.server import Devnet, DevnetConfig

ORDERS = 400


async def main() -> None:
    # A benchmark measures speed: the indexer's rate limits would only measure themselves.
    config = DevnetConfig(
        indexer_port=0, grpc_port=0, block_time=0.5, seed=1, markets=("BTC-USD",),
        indexer_limits=IndexerLimits(enabled=False),
    )  # fmt: skip
    async with Devnet(config) as devnet:
        devnet.fund(DEMO_ADDRESS, 1_000_000)
        network = devnet.network()
        node = await NodeClient.connect(network.node)
        wallet = await Wallet.from_mnemonic(node, DEMO_MNEMONIC, DEMO_ADDRESS)
        indexer = IndexerClient(network.rest_indexer, api_timeout=5)
        m = (await indexer.markets.get_perpetual_markets("BTC-USD"))["markets"]["BTC-USD"]
        exponent = m["atomicResolution"] - m["quantumConversionExponent"] + 6
        oracle = Decimal(m["oraclePrice"])
        spt = m["subticksPerTick"]

        def on_tick(price: Decimal, rounding: str) -> int:
            return int((price.scaleb(exponent) / spt).to_integral_value(rounding)) * spt

        buy_worst = on_tick(oracle * Decimal("1.05"), ROUND_CEILING)
        sell_worst = on_tick(oracle * Decimal("0.95"), ROUND_FLOOR)

        start = time.perf_counter()
        height = await node.latest_block_height()
        for index in range(ORDERS):
            if index % 10 == 0:
                height = await node.latest_block_height()
            buy = index % 2 == 0
            order = build_order(
                build_order_id(
                    DEMO_ADDRESS, 0, random.randint(0, 2**32 - 1), 0, OrderFlags.SHORT_TERM
                ),
                Order.Side.SIDE_BUY if buy else Order.Side.SIDE_SELL,
                quantums=m["stepBaseQuantums"],
                subticks=buy_worst if buy else sell_worst,
                time_in_force=Order.TimeInForce.TIME_IN_FORCE_IOC,
                reduce_only=False,
                good_til_block=height + 10,
            )
            response = await node.place_order(wallet, order)
            if response.tx_response.code != 0:
                raise SystemExit(f"order {index} rejected: {response.tx_response.raw_log}")
        elapsed = time.perf_counter() - start

        fills = (await indexer.account.get_subaccount_fills(DEMO_ADDRESS, 0, limit=1000))["fills"]
        filled_orders = {fill["orderId"] for fill in fills}
        if len(filled_orders) != ORDERS:
            raise SystemExit(f"only {len(filled_orders)} of {ORDERS} orders filled")
    print(
        json.dumps(
            {
                "metric": "devnet_orders_per_s",
                "value": round(ORDERS / elapsed, 1),
                "unit": "orders/s",
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
