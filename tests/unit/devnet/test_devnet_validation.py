"""The chain's rejections: codes, codespaces and messages for bad orders and cancels."""

from __future__ import annotations

import dataclasses

import pytest
from devnet_helpers import (
    ALICE,
    BUY,
    FOK,
    GTT,
    IOC,
    POST_ONLY,
    SELL,
    USDC,
    cancel,
    long_term,
    on_tick,
    order_id,
    short_term,
    usdc_of,
)
from v4_proto.dydxprotocol.clob import tx_pb2

from dydx_devnet.engine import Engine
from dydx_devnet.orders import order_hash

STEP = 1_000_000


@pytest.fixture
def funded(engine: Engine) -> Engine:
    engine.deposit(ALICE, 0, 1_000 * USDC)
    return engine


def test_size_when_off_the_step_then_code_12_with_chain_message(funded: Engine) -> None:
    result = funded.place_order(short_term(funded, BUY, STEP + 1, on_tick(funded, "BTC-USD", 10)))

    assert (result.code, result.codespace) == (12, "clob")
    assert result.log == (
        f"Order Quantums {STEP + 1} must be a multiple of the ClobPair's StepBaseQuantums "
        f"{STEP}: MsgPlaceOrder is invalid"
    )


def test_price_when_off_the_tick_then_code_12(funded: Engine) -> None:
    result = funded.place_order(short_term(funded, BUY, STEP, on_tick(funded, "BTC-USD", 1) + 1))

    assert result.code == 12
    assert "must be a multiple of the ClobPair's SubticksPerTick 100000" in result.log


@pytest.mark.parametrize(
    ("quantums", "subticks", "code"),
    [(0, 100_000, 4), (STEP, 0, 6)],
)
def test_zero_quantums_or_subticks_when_placed_then_codes_4_and_6(
    funded: Engine, quantums: int, subticks: int, code: int
) -> None:
    assert funded.place_order(short_term(funded, BUY, quantums, subticks)).code == code


def test_good_til_block_when_below_next_height_then_code_10(funded: Engine) -> None:
    order = short_term(
        funded, BUY, STEP, on_tick(funded, "BTC-USD", 1), good_til_block=funded.height
    )

    result = funded.place_order(order)

    assert result.code == 10
    assert result.log.endswith(
        "The next block height is greater than the GoodTilBlock of the message"
    )


def test_good_til_block_when_beyond_short_block_window_of_40_then_code_11(funded: Engine) -> None:
    too_far = funded.height + 1 + 40 + 1
    ok_far = funded.height + 1 + 40
    price = on_tick(funded, "BTC-USD", -50)

    rejected = funded.place_order(short_term(funded, BUY, STEP, price, good_til_block=too_far))
    accepted = funded.place_order(
        short_term(funded, BUY, STEP, price, good_til_block=ok_far, client_id=2)
    )

    assert rejected.code == 11
    assert accepted.code == 0


def test_fill_or_kill_when_placed_then_code_48_deprecated(funded: Engine) -> None:
    result = funded.place_order(
        short_term(funded, BUY, STEP, on_tick(funded, "BTC-USD", 1), tif=FOK)
    )

    assert result.code == 48
    assert "Fill-or-kill has been deprecated" in result.log


def test_reduce_only_when_not_ioc_then_code_9003(funded: Engine) -> None:
    order = short_term(
        funded, SELL, STEP, on_tick(funded, "BTC-USD", 10), tif=GTT, reduce_only=True
    )

    result = funded.place_order(order)

    assert result.code == 9003


def test_reduce_only_when_it_would_increase_the_position_then_code_2001(funded: Engine) -> None:
    funded.place_order(short_term(funded, BUY, STEP, on_tick(funded, "BTC-USD", 50)))

    result = funded.place_order(
        short_term(funded, BUY, STEP, on_tick(funded, "BTC-USD", 50), client_id=2, reduce_only=True)
    )

    assert result.code == 2001
    assert "Reduce-only orders cannot increase the position size" in result.log


def test_reduce_only_when_flat_then_code_2001(funded: Engine) -> None:
    order = short_term(funded, SELL, STEP, on_tick(funded, "BTC-USD", -50), reduce_only=True)

    assert funded.place_order(order).code == 2001


def test_long_term_when_ioc_then_code_3002(funded: Engine) -> None:
    result = funded.place_order(
        long_term(funded, BUY, STEP, on_tick(funded, "BTC-USD", -5), tif=IOC)
    )

    assert result.code == 3002
    assert result.log == "Stateful orders cannot require immediate execution"


def test_post_only_when_crossing_then_code_2003(funded: Engine) -> None:
    order = short_term(funded, BUY, STEP, on_tick(funded, "BTC-USD", 50), tif=POST_ONLY)

    result = funded.place_order(order)

    assert result.code == 2003
    assert funded.state.orders == {}


def test_market_when_final_settlement_then_code_34(funded: Engine) -> None:
    agix = funded.markets["AGIX-USD"]
    order = short_term(
        funded,
        BUY,
        agix.spec.step_base_quantums,
        agix.oracle_subticks(),
        clob_pair_id=agix.clob_pair_id,
    )

    result = funded.place_order(order)

    assert result.code == 34
    assert "FINAL_SETTLEMENT" in result.log


def test_unknown_clob_pair_when_placed_then_code_8(funded: Engine) -> None:
    order = short_term(funded, BUY, STEP, 100_000, clob_pair_id=9999)

    assert funded.place_order(order).code == 8


def test_subaccount_number_when_above_128000_then_subaccounts_code_200(funded: Engine) -> None:
    order = short_term(funded, BUY, STEP, on_tick(funded, "BTC-USD", 1), number=128_001)

    result = funded.place_order(order)

    assert (result.code, result.codespace) == (200, "subaccounts")


def test_stateful_order_when_undercollateralized_then_code_3007_with_result(
    engine: Engine,
) -> None:
    engine.deposit(ALICE, 0, 100 * USDC)
    big = 10_000 * STEP  # 1 BTC on $100

    result = engine.place_order(long_term(engine, BUY, big, on_tick(engine, "BTC-USD", -10)))

    assert (result.code, result.codespace) == (3007, "clob")
    assert "result (NewlyUndercollateralized)" in result.log
    assert result.log.endswith("Stateful order collateralization check failed")


def test_stateful_buy_when_limit_above_oracle_then_check_uses_limit_price_and_maker_fee(
    engine: Engine,
) -> None:
    # Flat, $100: at IMF 2 % an order at the oracle affords ~$5,000 of BTC, one
    # 5 % above the oracle costs the premium at once and affords far less.
    engine.deposit(ALICE, 0, 100 * USDC)
    oracle = engine.markets["BTC-USD"].oracle_subticks()
    size = 500 * STEP  # 0.05 BTC, about $3,100

    at_oracle = engine.place_order(long_term(engine, BUY, size, oracle, client_id=1))
    above = engine.place_order(
        long_term(engine, BUY, size, oracle * 105 // 100 // 100_000 * 100_000, client_id=2)
    )

    assert at_oracle.code == 0
    assert above.code == 3007


def test_stateful_order_when_equity_below_20_usdc_then_code_10001(engine: Engine) -> None:
    engine.deposit(ALICE, 0, 19 * USDC)

    result = engine.place_order(long_term(engine, BUY, 1_000_000, on_tick(engine, "BTC-USD", -100)))

    assert result.code == 10001
    assert result.log.endswith("Subaccount cannot open more orders due to equity tier limit.")


def test_stateful_order_when_tier_full_then_second_is_refused(engine: Engine) -> None:
    engine.deposit(ALICE, 0, 50 * USDC)  # genesis tier: 1 stateful order from $20
    price = on_tick(engine, "BTC-USD", -100)

    first = engine.place_order(long_term(engine, BUY, STEP, price, client_id=1))
    second = engine.place_order(long_term(engine, BUY, STEP, price, client_id=2))

    assert (first.code, second.code) == (0, 10001)


def test_stateful_order_when_good_til_block_time_not_in_future_then_code_3003(
    funded: Engine,
) -> None:
    result = funded.place_order(
        long_term(funded, BUY, STEP, on_tick(funded, "BTC-USD", -100), seconds=0)
    )

    assert result.code == 3003


def test_stateful_order_when_beyond_95_days_then_code_3004(funded: Engine) -> None:
    result = funded.place_order(
        long_term(funded, BUY, STEP, on_tick(funded, "BTC-USD", -100), seconds=96 * 86_400)
    )

    assert result.code == 3004


def test_stateful_order_when_same_id_placed_twice_then_code_3005(funded: Engine) -> None:
    order = long_term(funded, BUY, STEP, on_tick(funded, "BTC-USD", -100))
    funded.deposit(ALICE, 0, 10_000 * USDC)

    assert funded.place_order(order).code == 0
    funded.advance_block()
    assert funded.place_order(order).code == 3005


def test_twap_order_when_placed_then_code_9002_not_implemented(funded: Engine) -> None:
    order = long_term(funded, BUY, STEP, on_tick(funded, "BTC-USD", -100))
    order.order_id.order_flags = 128

    assert funded.place_order(order).code == 9002


def test_short_term_id_when_canceled_then_replacing_it_gives_code_7(funded: Engine) -> None:
    price = on_tick(funded, "BTC-USD", -100)
    order = short_term(funded, BUY, STEP, price, tif=GTT)
    funded.place_order(order)

    assert funded.cancel_order(cancel(funded, order.order_id, funded.height + 10)).code == 0
    again = funded.place_order(
        short_term(funded, BUY, STEP, price, tif=GTT, good_til_block=funded.height + 8)
    )

    assert again.code == 7


def test_short_term_id_when_fully_filled_then_replacing_it_gives_code_24(funded: Engine) -> None:
    order = short_term(funded, BUY, STEP, on_tick(funded, "BTC-USD", 50))
    funded.place_order(order)

    order.good_til_block += 1
    result = funded.place_order(order)

    assert result.code == 24


def test_short_term_replacement_when_good_til_block_not_higher_then_code_20(
    funded: Engine,
) -> None:
    price = on_tick(funded, "BTC-USD", -100)
    funded.place_order(
        short_term(funded, BUY, STEP, price, tif=GTT, good_til_block=funded.height + 5)
    )

    lower = funded.place_order(
        short_term(funded, BUY, STEP, price, tif=GTT, good_til_block=funded.height + 5)
    )
    higher = funded.place_order(
        short_term(funded, BUY, 2 * STEP, price, tif=GTT, good_til_block=funded.height + 6)
    )

    assert (lower.code, higher.code) == (20, 0)
    (resting,) = [o for o in funded.state.orders.values() if o.resting]
    assert resting.quantums == 2 * STEP


def test_stateful_cancel_when_order_missing_then_code_3006(funded: Engine) -> None:
    message = tx_pb2.MsgCancelOrder(
        order_id=order_id(flags=64), good_til_block_time=int(funded.block_time.timestamp()) + 60
    )

    result = funded.cancel_order(message)

    assert result.code == 3006
    assert result.log.endswith("Stateful order does not exist")


def test_short_term_cancel_when_good_til_block_out_of_window_then_code_11(funded: Engine) -> None:
    result = funded.cancel_order(cancel(funded, order_id(), funded.height + 50))

    assert result.code == 11


def test_batch_cancel_when_more_than_100_then_code_45(funded: Engine) -> None:
    message = tx_pb2.MsgBatchCancel(
        subaccount_id=order_id().subaccount_id,
        short_term_cancels=[tx_pb2.OrderBatch(clob_pair_id=0, client_ids=list(range(101)))],
        good_til_block=funded.height + 5,
    )

    assert funded.batch_cancel(message).code == 45


def test_batch_cancel_when_nothing_was_cancelled_then_code_46(funded: Engine) -> None:
    gtb = funded.height + 5
    message = tx_pb2.MsgBatchCancel(
        subaccount_id=order_id().subaccount_id,
        short_term_cancels=[tx_pb2.OrderBatch(clob_pair_id=0, client_ids=[7])],
        good_til_block=gtb,
    )
    assert funded.batch_cancel(message).code == 0  # a cancel is remembered, order or not

    result = funded.batch_cancel(message)  # the same cancel again: code 9 for each

    assert result.code == 46
    assert "No successful cancellations" in result.log


def test_check_order_when_valid_then_ok_and_nothing_placed(funded: Engine) -> None:
    result = funded.check_order(short_term(funded, BUY, STEP, on_tick(funded, "BTC-USD", 50)))

    assert result.code == 0
    assert funded.state.orders == {}


def test_stateful_order_when_it_breaks_isolation_then_code_2005(funded: Engine) -> None:
    funded.place_order(short_term(funded, BUY, STEP, on_tick(funded, "BTC-USD", 50)))
    akt = funded.markets["AKT-USD"]
    order = long_term(
        funded,
        BUY,
        akt.spec.step_base_quantums,
        on_tick(funded, "AKT-USD", -10),
        clob_pair_id=akt.clob_pair_id,
    )

    result = funded.place_order(order)

    assert (result.code, result.codespace) == (2005, "clob")


def test_stateful_orders_when_three_in_one_block_then_third_hits_rate_limit_5001(
    engine: Engine,
) -> None:
    engine.deposit(ALICE, 0, 100_000 * USDC)
    price = on_tick(engine, "BTC-USD", -100)

    codes = [
        engine.place_order(long_term(engine, BUY, STEP, price, client_id=n)).code for n in (1, 2, 3)
    ]
    engine.advance_block()
    next_block = engine.place_order(long_term(engine, BUY, STEP, price, client_id=4)).code

    assert codes == [0, 0, 5001]
    assert next_block == 0


def test_stateful_order_when_accepted_then_invisible_until_next_block(engine: Engine) -> None:
    from dydx_devnet import views

    engine.deposit(ALICE, 0, 1_000 * USDC)

    engine.place_order(long_term(engine, BUY, STEP, on_tick(engine, "BTC-USD", -100)))
    before = views.orders(engine, ALICE, 0)
    engine.advance_block()
    after = views.orders(engine, ALICE, 0)

    assert before == []
    assert [row["status"] for row in after] == ["OPEN"]


def test_stateful_order_when_leverage_setting_is_exceeded_then_code_3007(funded: Engine) -> None:
    funded.state.subaccounts[(ALICE, 0)].custom_imf_ppm["BTC-USD"] = 1_000_000  # 1x
    market = funded.markets["BTC-USD"]
    equity = usdc_of(funded)
    steps = equity * 10**9 * 3 // 2 // (market.oracle_subticks() * STEP)  # about 1.5x
    price = on_tick(funded, "BTC-USD", -5)

    result = funded.place_order(long_term(funded, BUY, steps * STEP, price))

    assert result.code == 3007
    assert "NewlyUndercollateralized" in result.log
    del funded.state.subaccounts[(ALICE, 0)].custom_imf_ppm["BTC-USD"]
    assert funded.place_order(long_term(funded, BUY, steps * STEP, price)).code == 0


def test_replacement_when_good_til_block_equal_then_the_larger_order_hash_wins(
    funded: Engine,
) -> None:
    price = on_tick(funded, "BTC-USD", -50)
    gtb = funded.height + 5
    first = short_term(funded, BUY, STEP, price, tif=GTT, good_til_block=gtb)
    second = short_term(funded, BUY, 2 * STEP, price, tif=GTT, good_til_block=gtb)
    low, high = sorted((first, second), key=order_hash)
    assert funded.place_order(high).code == 0

    result = funded.place_order(low)

    assert result.code == 20
    assert "cannot reduce the GoodTilBlock" in result.log


def test_replacement_when_order_matched_this_block_then_it_counts(funded: Engine) -> None:
    gtb = funded.height + 5
    filled = short_term(funded, BUY, STEP, on_tick(funded, "BTC-USD", 50), good_til_block=gtb)
    assert funded.place_order(filled).code == 0  # IOC, filled, not resting
    flipped = short_term(
        funded, SELL, STEP, on_tick(funded, "BTC-USD", -50), good_til_block=gtb + 1
    )

    result = funded.place_order(flipped)

    assert result.code == 20
    assert "cannot change the Side" in result.log


def test_market_when_initializing_then_only_short_term_post_only_on_its_side(
    funded: Engine,
) -> None:
    market = funded.markets["ETH-USD"]
    market.spec = dataclasses.replace(market.spec, status="INITIALIZING")
    below = on_tick(funded, "ETH-USD", -10)

    wrong_side = funded.place_order(
        short_term(funded, SELL, STEP, below, tif=POST_ONLY, clob_pair_id=1)
    )
    not_post_only = funded.place_order(
        short_term(funded, BUY, STEP, below, tif=GTT, clob_pair_id=1, client_id=2)
    )
    stateful = funded.place_order(
        long_term(funded, BUY, STEP, below, tif=POST_ONLY, clob_pair_id=1, client_id=4)
    )
    accepted = funded.place_order(
        short_term(funded, BUY, STEP, below, tif=POST_ONLY, clob_pair_id=1, client_id=3)
    )

    assert [r.code for r in (wrong_side, not_post_only, stateful)] == [34, 34, 34]
    assert "must be post-only" in not_post_only.log
    assert accepted.code == 0
