"""The official client's place-then-cancel flow for long-term orders, against the devnet.

As in the client's own tests: a long-term order with ``good_til_block_time`` =
the wall clock + 60 s (``since_now``), a 2-second wait, a fresh wallet
(sequence), and a cancel with the same ``good_til_block_time``.
"""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from typing import Any

from dydx_v4_client import OrderFlags
from dydx_v4_client.node.message import order as build_order
from dydx_v4_client.wallet import Wallet
from official_client_helpers import BUY, GTT, market, new_order_id, quantums, subticks

from dydx_devnet.demo import DEMO_MNEMONIC


async def test_long_term_order_when_placed_and_canceled_two_seconds_later_then_canceled(
    demo_trader: Any,
) -> None:
    m = await market(demo_trader, "BTC-USD")
    order_id = new_order_id(demo_trader.address, m, OrderFlags.LONG_TERM)
    far_below = Decimal(m["oraclePrice"]) / 2
    order = build_order(
        order_id,
        BUY,
        quantums=quantums(Decimal("0.001"), m),
        subticks=subticks(far_below, m, up=False),
        time_in_force=GTT,
        reduce_only=False,
        good_til_block_time=int(time.time() + 60),
    )
    placed = await demo_trader.node.place_order(demo_trader.wallet, order)
    assert placed.tx_response.code == 0, placed.tx_response.raw_log

    await asyncio.sleep(2)
    wallet = await Wallet.from_mnemonic(demo_trader.node, DEMO_MNEMONIC, demo_trader.address)
    canceled = await demo_trader.node.cancel_order(
        wallet, order_id, good_til_block_time=order.good_til_block_time
    )

    assert canceled.tx_response.code == 0, canceled.tx_response.raw_log
    await demo_trader.devnet.wait_blocks(1)
    rows = await demo_trader.indexer.account.get_subaccount_orders(demo_trader.address, 0)
    (row,) = [r for r in rows if r["clientId"] == str(order_id.client_id)]
    assert (row["status"], row["orderFlags"]) == ("CANCELED", "64")


async def test_long_term_cancel_when_good_til_block_time_earlier_than_the_orders_then_refused(
    demo_trader: Any,
) -> None:
    m = await market(demo_trader, "BTC-USD")
    order_id = new_order_id(demo_trader.address, m, OrderFlags.LONG_TERM)
    order = build_order(
        order_id,
        BUY,
        quantums=quantums(Decimal("0.001"), m),
        subticks=subticks(Decimal(m["oraclePrice"]) / 2, m, up=False),
        time_in_force=GTT,
        reduce_only=False,
        good_til_block_time=int(time.time() + 60),
    )
    placed = await demo_trader.node.place_order(demo_trader.wallet, order)
    assert placed.tx_response.code == 0, placed.tx_response.raw_log
    await demo_trader.devnet.wait_blocks(2)
    wallet = await Wallet.from_mnemonic(demo_trader.node, DEMO_MNEMONIC, demo_trader.address)

    canceled = await demo_trader.node.cancel_order(
        wallet, order_id, good_til_block_time=order.good_til_block_time - 1
    )

    assert (canceled.tx_response.code, canceled.tx_response.codespace) == (29, "clob")
