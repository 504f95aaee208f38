"""The chain's block rate limits per address: stateful orders, short-term orders and cancels."""

from __future__ import annotations

from devnet_helpers import (
    ALICE,
    BOB,
    BUY,
    GTT,
    USDC,
    cancel,
    long_term,
    make_engine,
    on_tick,
    order_id,
    short_term,
)

from dydx_devnet.block_rate_limits import BlockRateLimiter

STEP = 1_000_000


def test_stateful_orders_when_21_within_100_blocks_then_5001_naming_the_100_block_limit() -> None:
    engine = make_engine()
    engine.deposit(ALICE, 0, 1_000_000 * USDC)
    price = on_tick(engine, "BTC-USD", -1_000)
    results = []
    for block in range(11):
        for n in range(2):
            order = long_term(engine, BUY, STEP, price, client_id=block * 2 + n, seconds=86_400)
            results.append(engine.place_order(order))
        engine.advance_block()

    assert [r.code for r in results[:20]] == [0] * 20
    assert results[20].code == 5001
    assert "exceeds configured block rate limit of {NumBlocks:100 Limit:20}" in results[20].log
    assert "MaxStatefulOrdersPerNBlocks" in results[20].log


def test_short_term_when_places_and_cancels_exceed_the_limit_then_5001_per_address() -> None:
    engine = make_engine(max_short_term_orders_and_cancels_per_n_blocks=((5, 3),))
    engine.deposit(ALICE, 0, 10_000 * USDC)
    engine.deposit(BOB, 0, 10_000 * USDC)
    price = on_tick(engine, "BTC-USD", -100)

    first = engine.place_order(short_term(engine, BUY, STEP, price, tif=GTT, client_id=1))
    second = engine.cancel_order(cancel(engine, order_id(client_id=1)))
    third = engine.place_order(short_term(engine, BUY, STEP, price, tif=GTT, client_id=2))
    fourth = engine.place_order(short_term(engine, BUY, STEP, price, tif=GTT, client_id=3))
    other = engine.place_order(short_term(engine, BUY, STEP, price, tif=GTT, owner=BOB))

    assert [first.code, second.code, third.code, fourth.code] == [0, 0, 0, 5001]
    assert "MaxShortTermOrdersAndCancelsPerNBlocks" in fourth.log
    assert other.code == 0  # counted per address


def test_limiter_when_refused_then_the_attempt_still_counts() -> None:
    limiter = BlockRateLimiter("Test", ((1, 1),))

    assert limiter.consume(ALICE, 10) is None
    assert limiter.consume(ALICE, 10) is not None  # rate 2
    refused = limiter.consume(ALICE, 10)

    assert refused is not None and "Rate of 3" in refused.log
    assert limiter.consume(ALICE, 11) is None  # a new block, a new window


def test_limits_when_empty_then_off() -> None:
    engine = make_engine(max_stateful_orders_per_n_blocks=())
    engine.deposit(ALICE, 0, 1_000_000 * USDC)
    price = on_tick(engine, "BTC-USD", -1_000)

    codes = [
        engine.place_order(long_term(engine, BUY, STEP, price, client_id=n)).code
        for n in range(3)
    ]

    assert codes == [0, 0, 0]
