"""Devnet engine speed: time per block, and IOC orders matched per second.

``devnet_block_ms``: engine time of one block with 100 markets and 1,000
resting long-term orders (median of 60 blocks). ``devnet_engine_ioc_per_s``:
short-term IOC orders validated, collateral-checked and matched per second,
in-process (no transport).
"""

from __future__ import annotations

import json
import statistics
import time
from datetime import UTC, datetime

from v4_proto.dydxprotocol.clob.order_pb2 import Order, OrderId
from v4_proto.dydxprotocol.subaccounts.subaccount_pb2 import SubaccountId

from dydx_devnet.engine import Engine, EngineConfig
from dydx_devnet.genesis import load_market_payloads

ADDRESSES = 50
ORDERS_PER_ADDRESS = 20


def _engine() -> Engine:
    tickers = tuple(t for t, p in load_market_payloads().items() if p["status"] == "ACTIVE")[:100]
    config = EngineConfig(seed=1, markets=tickers, genesis_time=datetime(2026, 1, 1, tzinfo=UTC))
    return Engine.create(config)


def _rest_orders(engine: Engine) -> None:
    markets = list(engine.markets.values())
    for index in range(ADDRESSES):
        engine.deposit(f"dydx1bench{index:04d}", 0, 50_000 * 10**6)
    placed = 0
    while placed < ADDRESSES * ORDERS_PER_ADDRESS:
        for index in range(ADDRESSES):
            for _ in range(2):  # the chain allows 2 stateful orders per block per address
                market = markets[placed % len(markets)]
                spt = market.spec.subticks_per_tick
                is_buy = placed % 2 == 0
                away = 80 - placed % 15 if is_buy else 120 + placed % 15
                subticks = max(spt, market.oracle_subticks() * away // 100 // spt * spt)
                order = Order(
                    order_id=OrderId(
                        subaccount_id=SubaccountId(owner=f"dydx1bench{index:04d}", number=0),
                        client_id=placed,
                        order_flags=64,
                        clob_pair_id=market.clob_pair_id,
                    ),
                    side=Order.Side.SIDE_BUY if is_buy else Order.Side.SIDE_SELL,
                    quantums=market.spec.step_base_quantums,
                    subticks=subticks,
                    good_til_block_time=int(engine.block_time.timestamp()) + 86_400,
                )
                result = engine.place_order(order)
                if result.code != 0:
                    raise SystemExit(f"bench order rejected: {result}")
                placed += 1
        engine.advance_block()
    resting = sum(1 for o in engine.state.orders.values() if o.resting)
    if resting != ADDRESSES * ORDERS_PER_ADDRESS:
        raise SystemExit(f"expected 1000 resting orders, found {resting}")


def bench_block_ms(engine: Engine) -> float:
    samples = []
    for _ in range(60):
        started = time.perf_counter()
        engine.advance_block()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def bench_ioc_per_s(engine: Engine) -> float:
    owner = "dydx1benchtaker"
    engine.deposit(owner, 0, 10_000_000 * 10**6)
    market = engine.markets["BTC-USD"]
    spt = market.spec.subticks_per_tick
    count = 2000
    started = time.perf_counter()
    for index in range(count):
        if index % 200 == 0:
            engine.advance_block()
        is_buy = index % 2 == 0
        limit = market.oracle_subticks() * (101 if is_buy else 99) // 100 // spt * spt
        order = Order(
            order_id=OrderId(
                subaccount_id=SubaccountId(owner=owner, number=0),
                client_id=index,
                order_flags=0,
                clob_pair_id=market.clob_pair_id,
            ),
            side=Order.Side.SIDE_BUY if is_buy else Order.Side.SIDE_SELL,
            quantums=market.spec.step_base_quantums * 10,
            subticks=limit,
            time_in_force=Order.TimeInForce.TIME_IN_FORCE_IOC,
            good_til_block=engine.height + 10,
        )
        engine.place_order(order)
    return count / (time.perf_counter() - started)


def main() -> None:
    engine = _engine()
    _rest_orders(engine)
    print(
        json.dumps(
            {"metric": "devnet_block_ms", "value": round(bench_block_ms(engine), 3), "unit": "ms"}
        )
    )
    print(
        json.dumps(
            {
                "metric": "devnet_engine_ioc_per_s",
                "value": round(bench_ioc_per_s(engine), 1),
                "unit": "orders/s",
            }
        )
    )


if __name__ == "__main__":
    main()
