"""Conditional orders as x/clob runs them: untriggered in state, triggered in the
EndBlocker on the block's oracle (and trade) prices, on the book the block after."""

from __future__ import annotations

from decimal import Decimal

import pytest
from devnet_helpers import (
    ALICE,
    BUY,
    GTT,
    SELL,
    STOP_LOSS,
    TAKE_PROFIT,
    USDC,
    conditional,
    on_tick,
    position_of,
    short_term,
)
from v4_proto.dydxprotocol.clob import tx_pb2

from dydx_devnet import views
from dydx_devnet.engine import Engine

STEP = 1_000_000  # BTC step: 0.0001 BTC
TICK = 100_000  # BTC subticks per tick ($1)


@pytest.fixture
def long_btc(engine: Engine) -> Engine:
    """Alice holds 0.001 BTC long, the oracle pinned where she bought."""
    engine.deposit(ALICE, 0, 10_000 * USDC)
    engine.set_oracle_price("BTC-USD", engine.markets["BTC-USD"].oracle_price)
    bought = engine.place_order(short_term(engine, BUY, 10 * STEP, on_tick(engine, "BTC-USD", 200)))
    assert bought.code == 0
    engine.advance_block()
    assert position_of(engine, "BTC-USD") == 10 * STEP
    return engine


def _pin(engine: Engine, ticks_from_oracle: int) -> None:
    market = engine.markets["BTC-USD"]
    price = market.oracle_price + Decimal(ticks_from_oracle)  # BTC tick: $1
    engine.set_oracle_price("BTC-USD", price)


def _row(engine: Engine) -> dict[str, object]:
    (row,) = [r for r in views.orders(engine, ALICE, 0) if r["orderFlags"] == "32"]
    return row


def _stop(engine: Engine, trigger_ticks: int, **overrides: object) -> object:
    trigger = on_tick(engine, "BTC-USD", trigger_ticks)
    settings: dict[str, object] = {"subticks": trigger - 50 * TICK}
    settings.update(overrides)
    subticks = settings.pop("subticks")
    return conditional(engine, SELL, 10 * STEP, subticks, trigger, **settings)  # type: ignore[arg-type]


def test_stop_loss_when_accepted_then_untriggered_off_the_book_from_the_next_block(
    long_btc: Engine,
) -> None:
    engine = long_btc
    order = _stop(engine, -100)

    result = engine.place_order(order)
    listed_before_block = [r for r in views.orders(engine, ALICE, 0) if r["orderFlags"] == "32"]
    engine.advance_block()

    assert result.code == 0
    assert listed_before_block == []
    row = _row(engine)
    market = engine.markets["BTC-USD"]
    assert row["status"] == "UNTRIGGERED"
    assert row["type"] == "STOP_LIMIT"
    trigger = market.spec.subticks_to_price(order.conditional_order_trigger_subticks)
    assert Decimal(str(row["triggerPrice"])) == trigger
    assert row["reduceOnly"] is True and row["timeInForce"] == "IOC"
    assert "goodTilBlockTime" in row and "goodTilBlock" not in row
    assert not engine.state.books["BTC-USD"].asks.levels()  # not on the book


def test_stop_loss_when_oracle_reaches_trigger_then_open_then_fills_in_the_next_block(
    long_btc: Engine,
) -> None:
    engine = long_btc
    engine.place_order(_stop(engine, -100))
    engine.advance_block()

    _pin(engine, -100)  # the oracle at the trigger: a stop-loss sell triggers at or below
    engine.advance_block()
    triggered = _row(engine)["status"]
    position_when_triggered = position_of(engine, "BTC-USD")
    engine.advance_block()

    assert triggered == "OPEN"
    assert position_when_triggered == 10 * STEP  # triggered orders reach the book a block later
    assert position_of(engine, "BTC-USD") == 0
    row = _row(engine)
    assert (row["status"], row["totalFilled"]) == ("FILLED", "0.001")


def test_stop_loss_when_oracle_stays_above_trigger_then_untriggered(long_btc: Engine) -> None:
    engine = long_btc
    engine.place_order(_stop(engine, -100))
    engine.advance_block()

    _pin(engine, -99)
    engine.advance_block()
    engine.advance_block()

    assert _row(engine)["status"] == "UNTRIGGERED"
    assert position_of(engine, "BTC-USD") == 10 * STEP


@pytest.mark.parametrize(
    ("side", "condition", "trigger_ticks", "move_ticks", "fires"),
    [
        (SELL, TAKE_PROFIT, 100, 100, True),  # take-profit sell: at or above
        (SELL, TAKE_PROFIT, 100, 99, False),
        (BUY, STOP_LOSS, 100, 100, True),  # stop-loss buy: at or above
        (BUY, STOP_LOSS, 100, 99, False),
        (BUY, TAKE_PROFIT, -100, -100, True),  # take-profit buy: at or below
        (BUY, TAKE_PROFIT, -100, -99, False),
    ],
)
def test_trigger_when_price_crosses_then_the_condition_and_side_decide(
    engine: Engine, side: int, condition: int, trigger_ticks: int, move_ticks: int, fires: bool
) -> None:
    engine.deposit(ALICE, 0, 10_000 * USDC)
    _pin(engine, 0)
    trigger = on_tick(engine, "BTC-USD", trigger_ticks)
    order = conditional(
        engine, side, STEP, trigger, trigger, condition=condition, tif=GTT, reduce_only=False
    )
    engine.place_order(order)
    engine.advance_block()

    _pin(engine, move_ticks)
    engine.advance_block()

    assert _row(engine)["status"] == ("OPEN" if fires else "UNTRIGGERED")
    assert _row(engine)["type"] == ("TAKE_PROFIT" if condition == TAKE_PROFIT else "STOP_LIMIT")


def test_trigger_when_off_the_tick_then_code_12(long_btc: Engine) -> None:
    engine = long_btc
    order = _stop(engine, -100)
    order.conditional_order_trigger_subticks += 1

    result = engine.place_order(order)

    assert result.code == 12
    assert "Conditional order trigger subticks" in result.log


def test_conditional_when_condition_or_trigger_missing_then_6000_and_6001(
    long_btc: Engine,
) -> None:
    engine = long_btc
    no_condition = _stop(engine, -100)
    no_condition.condition_type = 0  # type: ignore[assignment]
    no_trigger = _stop(engine, -100, client_id=2)
    no_trigger.conditional_order_trigger_subticks = 0

    assert engine.place_order(no_condition).code == 6000
    assert engine.place_order(no_trigger).code == 6001


def test_untriggered_stop_when_canceled_then_canceled_user_canceled_next_block(
    long_btc: Engine,
) -> None:
    engine = long_btc
    order = _stop(engine, -100)
    engine.place_order(order)
    engine.advance_block()

    result = engine.cancel_order(
        tx_pb2.MsgCancelOrder(
            order_id=order.order_id, good_til_block_time=order.good_til_block_time
        )
    )
    before = _row(engine)["status"]
    engine.advance_block()
    _pin(engine, -500)
    engine.advance_block()
    engine.advance_block()

    assert result.code == 0
    assert before == "UNTRIGGERED"
    assert _conditional_state(engine) == ("CANCELED", "ORDER_REMOVAL_REASON_USER_CANCELED")
    assert position_of(engine, "BTC-USD") == 10 * STEP  # a cancelled stop never fires


def _conditional_state(engine: Engine) -> tuple[str, str | None]:
    (state,) = [s for s in engine.state.orders.values() if s.order_flags == 32]
    return state.status, state.removal_reason


def test_untriggered_stop_when_good_til_block_time_passes_then_expired() -> None:
    from devnet_helpers import make_engine

    engine = make_engine(block_time_s=1.0, speed=30.0)
    engine.deposit(ALICE, 0, 1_000 * USDC)
    trigger = on_tick(engine, "BTC-USD", -5000)
    engine.place_order(
        conditional(engine, BUY, STEP, trigger, trigger, condition=TAKE_PROFIT, tif=GTT,
                    reduce_only=False, seconds=60)
    )  # fmt: skip

    for _ in range(3):
        engine.advance_block()

    assert _conditional_state(engine) == ("CANCELED", "ORDER_REMOVAL_REASON_EXPIRED")


def test_reduce_only_stop_when_position_gone_at_trigger_then_removed_and_nothing_opens(
    long_btc: Engine,
) -> None:
    engine = long_btc
    engine.place_order(_stop(engine, -100))
    engine.advance_block()
    closed = engine.place_order(
        short_term(engine, SELL, 10 * STEP, on_tick(engine, "BTC-USD", -200), reduce_only=True,
                   client_id=9)
    )  # fmt: skip
    engine.advance_block()

    _pin(engine, -150)
    engine.advance_block()
    engine.advance_block()

    assert closed.code == 0
    assert position_of(engine, "BTC-USD") == 0
    assert _conditional_state(engine) == ("CANCELED", "ORDER_REMOVAL_REASON_REDUCE_ONLY_RESIZE")


def test_triggered_ioc_when_limit_not_reachable_then_remainder_canceled(long_btc: Engine) -> None:
    engine = long_btc
    # A stop-limit sell whose limit sits far above the book: it triggers but cannot fill.
    engine.place_order(_stop(engine, -100, subticks=on_tick(engine, "BTC-USD", 5_000)))
    engine.advance_block()

    _pin(engine, -100)
    engine.advance_block()
    engine.advance_block()

    assert _conditional_state(engine) == (
        "CANCELED",
        "ORDER_REMOVAL_REASON_IMMEDIATE_OR_CANCEL_WOULD_REST_ON_BOOK",
    )
    assert position_of(engine, "BTC-USD") == 10 * STEP


def test_conditional_when_bigger_than_collateral_allows_then_accepted_at_placement(
    engine: Engine,
) -> None:
    engine.deposit(ALICE, 0, 100 * USDC)
    trigger = on_tick(engine, "BTC-USD", 1_000)
    huge = conditional(
        engine, BUY, 10_000 * STEP, trigger, trigger, tif=GTT, reduce_only=False
    )  # 1 BTC on $100: a long-term order this size answers 3007

    assert engine.place_order(huge).code == 0


def test_untriggered_orders_when_equity_tier_full_then_code_10001(engine: Engine) -> None:
    engine.deposit(ALICE, 0, 50 * USDC)  # genesis tier: 1 stateful order from $20
    trigger = on_tick(engine, "BTC-USD", -1_000)

    first = engine.place_order(
        conditional(engine, BUY, STEP, trigger, trigger, condition=TAKE_PROFIT, tif=GTT,
                    reduce_only=False)
    )  # fmt: skip
    engine.advance_block()
    second = engine.place_order(
        conditional(engine, BUY, STEP, trigger, trigger, condition=TAKE_PROFIT, tif=GTT,
                    reduce_only=False, client_id=2)
    )  # fmt: skip

    assert first.code == 0
    assert second.code == 10001


def test_stop_when_block_trade_reaches_trigger_within_the_clamp_then_triggers(
    long_btc: Engine,
) -> None:
    engine = long_btc
    # BTC's min_price_change_ppm is 1000: trade prices count within 0.5 % of the oracle.
    engine.place_order(_stop(engine, -10))
    engine.advance_block()
    bob = "dydx1bob0000000000000000000000000000000000"
    engine.deposit(bob, 0, 10_000 * USDC)
    # Bob sells into the synthetic bids down to 20 ticks under the oracle.
    engine.place_order(
        short_term(engine, SELL, 5_000 * STEP, on_tick(engine, "BTC-USD", -20), owner=bob,
                   client_id=5)
    )  # fmt: skip
    engine.advance_block()

    assert _row(engine)["status"] == "OPEN"


def test_stop_orders_when_listed_by_type_then_filters_apply(long_btc: Engine) -> None:
    engine = long_btc
    engine.place_order(_stop(engine, -100))
    engine.advance_block()

    stops = views.orders(engine, ALICE, 0, query=views.OrderQuery(order_type="STOP_LIMIT"))
    limits = views.orders(engine, ALICE, 0, query=views.OrderQuery(order_type="LIMIT"))
    excluded = views.orders(
        engine, ALICE, 0, query=views.OrderQuery(exclude_types=("STOP_LIMIT",))
    )

    assert [r["type"] for r in stops] == ["STOP_LIMIT"]
    assert all(r["type"] == "LIMIT" for r in limits) and limits
    assert all(r["type"] != "STOP_LIMIT" for r in excluded)


def test_reduce_only_stop_when_not_ioc_then_code_9003(long_btc: Engine) -> None:
    engine = long_btc

    result = engine.place_order(_stop(engine, -100, tif=GTT))

    assert result.code == 9003  # reduce-only only on IOC, conditional or short-term
