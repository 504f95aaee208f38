"""Re-broadcasts and replacements through the unmodified official client."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from official_client_helpers import BUY, IOC, SELL, market, quantums, short_term_order
from v4_proto.dydxprotocol.clob.order_pb2 import Order


def _position(trader: Any) -> int:
    engine = trader.devnet.engine
    return int(engine.state.subaccounts[(trader.address, 0)].position_quantums("BTC-USD"))


def _with(order: Order, **changes: Any) -> Order:
    changed = Order()
    changed.CopyFrom(order)
    for name, value in changes.items():
        setattr(changed, name, value)
    return changed


async def test_identical_signed_bytes_when_broadcast_again_then_mempool_cache_refuses_sdk_19(
    demo_trader: Any,
) -> None:
    m = await market(demo_trader)
    price = Decimal(m["oraclePrice"]) * Decimal("1.02")
    order = await short_term_order(demo_trader, m, BUY, Decimal("0.01"), price, tif=IOC)

    first = await demo_trader.node.place_order(demo_trader.wallet, order)
    after_first = _position(demo_trader)
    again = await demo_trader.node.place_order(demo_trader.wallet, order)  # same bytes

    assert first.tx_response.code == 0
    assert (again.tx_response.codespace, again.tx_response.code) == ("sdk", 19)
    assert again.tx_response.txhash == first.tx_response.txhash
    assert after_first == quantums(Decimal("0.01"), m)
    assert _position(demo_trader) == after_first  # it did not fill twice


async def test_ioc_when_re_signed_after_a_fill_then_chain_code_2004(demo_trader: Any) -> None:
    m = await market(demo_trader)
    book = await demo_trader.indexer.markets.get_perpetual_market_orderbook("BTC-USD")
    best_ask = Decimal(book["asks"][0]["price"])
    depth = Decimal(book["asks"][0]["size"])
    # Twice the best level at the best level's price: half fills, the rest is cancelled.
    order = await short_term_order(demo_trader, m, BUY, depth * 2, best_ask, tif=IOC)
    height = order.good_til_block - 10
    first = await demo_trader.node.place_order(demo_trader.wallet, order)
    assert first.tx_response.code == 0
    assert 0 < _position(demo_trader) < order.quantums

    again = await demo_trader.node.place_order(
        demo_trader.wallet, _with(order, good_til_block=height + 11)
    )

    assert (again.tx_response.codespace, again.tx_response.code) == ("clob", 2004)
    assert "IOC order is already filled, remaining size is cancelled." in again.tx_response.raw_log


async def test_replacement_when_it_changes_side_then_chain_code_20(demo_trader: Any) -> None:
    m = await market(demo_trader)
    price = Decimal(m["oraclePrice"]) * Decimal("0.9")
    resting = await short_term_order(demo_trader, m, BUY, Decimal("0.01"), price)
    height = resting.good_til_block - 10
    assert (await demo_trader.node.place_order(demo_trader.wallet, resting)).tx_response.code == 0

    changed = await demo_trader.node.place_order(
        demo_trader.wallet, _with(resting, side=SELL, good_til_block=height + 12)
    )
    lower = await demo_trader.node.place_order(
        demo_trader.wallet, _with(resting, good_til_block=height + 9)
    )
    higher = await demo_trader.node.place_order(
        demo_trader.wallet, _with(resting, good_til_block=height + 12)
    )

    assert (changed.tx_response.codespace, changed.tx_response.code) == ("clob", 20)
    assert "cannot change the Side" in changed.tx_response.raw_log
    assert "Replacing an existing order failed" in changed.tx_response.raw_log
    assert (lower.tx_response.codespace, lower.tx_response.code) == ("clob", 20)
    assert higher.tx_response.code == 0
