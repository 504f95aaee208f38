"""Fee tiers over the wire: the official client's fee queries and a maker fill's fee."""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal
from typing import Any

from dydx_v4_client.node.message import order as build_order
from official_client_helpers import BUY, GTT, market, new_order_id, quantums, subticks

from dydx_devnet.demo import DEMO_ADDRESS_2


async def test_fee_queries_when_asked_then_standard_tiers_and_tier_1_for_a_new_address(
    demo_trader: Any,
) -> None:
    params = await demo_trader.node.get_fee_tiers()
    mine = await demo_trader.node.get_user_fee_tier(demo_trader.address)

    tiers = params.params.tiers
    assert (tiers[0].name, tiers[0].taker_fee_ppm, tiers[0].maker_fee_ppm) == ("1", 500, 100)
    assert len(tiers) == 9
    assert (mine.index, mine.tier.taker_fee_ppm, mine.tier.maker_fee_ppm) == (0, 500, 100)


async def test_maker_fill_when_resting_order_is_taken_then_fee_is_plus_1_bp(
    demo_trader: Any,
) -> None:
    devnet = demo_trader.devnet
    devnet.fund(DEMO_ADDRESS_2, Decimal(10_000))
    m = await market(demo_trader)
    book = await demo_trader.indexer.markets.get_perpetual_market_orderbook("BTC-USD")
    inside = Decimal(book["bids"][0]["price"]) + Decimal(m["tickSize"])  # better than the book
    height = await demo_trader.node.latest_block_height()
    size = Decimal("0.01")
    resting = build_order(
        new_order_id(demo_trader.address, m),
        BUY,
        quantums=quantums(size, m),
        subticks=subticks(inside, m, up=False),
        time_in_force=GTT,
        reduce_only=False,
        good_til_block=height + 20,
    )
    assert (await demo_trader.node.place_order(demo_trader.wallet, resting)).tx_response.code == 0

    devnet.engine.set_oracle_price("BTC-USD", inside * Decimal("0.99"))  # the book moves onto it
    await devnet.wait_blocks(3)

    fills = (await demo_trader.indexer.account.get_subaccount_fills(demo_trader.address, 0))[
        "fills"
    ]
    (fill,) = [f for f in fills if f["liquidity"] == "MAKER"]
    quote = Decimal(fill["price"]) * Decimal(fill["size"])
    expected = (quote * Decimal("0.0001")).quantize(Decimal("0.000001"), ROUND_CEILING)
    assert Decimal(fill["fee"]) == expected
    assert expected > 0
