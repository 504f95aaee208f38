"""Helpers for tests that drive the devnet with the unmodified official client."""

from __future__ import annotations

import random
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from dydx_v4_client import OrderFlags
from dydx_v4_client.node.message import order as build_order
from dydx_v4_client.node.message import order_id as build_order_id
from v4_proto.dydxprotocol.clob.order_pb2 import Order

BUY = Order.Side.SIDE_BUY
SELL = Order.Side.SIDE_SELL
IOC = Order.TimeInForce.TIME_IN_FORCE_IOC
GTT = Order.TimeInForce.TIME_IN_FORCE_UNSPECIFIED


async def market(trader: Any, ticker: str = "BTC-USD") -> dict[str, Any]:
    body = await trader.indexer.markets.get_perpetual_markets(ticker)
    result: dict[str, Any] = body["markets"][ticker]
    return result


def quantums(size: Decimal, m: dict[str, Any]) -> int:
    raw = size.scaleb(-m["atomicResolution"]).to_integral_value(ROUND_FLOOR)
    return int(raw) // m["stepBaseQuantums"] * m["stepBaseQuantums"]


def subticks(price: Decimal, m: dict[str, Any], *, up: bool) -> int:
    exponent = m["atomicResolution"] - m["quantumConversionExponent"] + 6
    raw = price.scaleb(exponent) / m["subticksPerTick"]
    ticks = int(raw.to_integral_value(ROUND_CEILING if up else ROUND_FLOOR))
    return ticks * m["subticksPerTick"]


def new_order_id(address: str, m: dict[str, Any], flags: int = OrderFlags.SHORT_TERM) -> Any:
    client_id = random.randint(0, 2**32 - 1)
    return build_order_id(address, 0, client_id, int(m["clobPairId"]), flags)


async def ioc(
    trader: Any,
    m: dict[str, Any],
    side: int,
    size: Decimal,
    *,
    slippage: Decimal = Decimal("0.02"),
    reduce_only: bool = False,
) -> tuple[Any, Any]:
    oracle = Decimal(m["oraclePrice"])
    worst = oracle * (1 + slippage) if side == BUY else oracle * (1 - slippage)
    height = await trader.node.latest_block_height()
    order = build_order(
        new_order_id(trader.address, m),
        side,
        quantums=quantums(size, m),
        subticks=subticks(worst, m, up=side == BUY),
        time_in_force=IOC,
        reduce_only=reduce_only,
        good_til_block=height + 10,
    )
    return order, await trader.node.place_order(trader.wallet, order)


def stateful_order(trader: Any, m: dict[str, Any], side: int, size: Decimal, price: Decimal) -> Any:
    return build_order(
        new_order_id(trader.address, m, OrderFlags.LONG_TERM),
        side,
        quantums=quantums(size, m),
        subticks=subticks(price, m, up=False),
        time_in_force=GTT,
        reduce_only=False,
        good_til_block_time=int(trader.devnet.engine.block_time.timestamp()) + 3600,
    )


async def short_term_order(
    trader: Any,
    m: dict[str, Any],
    side: int,
    size: Decimal,
    price: Decimal,
    *,
    tif: int = GTT,
    blocks: int = 10,
) -> Any:
    """A short-term order good for ``blocks`` blocks; a buy's price rounds up, a sell's down."""
    height = await trader.node.latest_block_height()
    return build_order(
        new_order_id(trader.address, m),
        side,
        quantums=quantums(size, m),
        subticks=subticks(price, m, up=side == BUY),
        time_in_force=tif,
        reduce_only=False,
        good_til_block=height + blocks,
    )
