"""A stateful order that filled as it entered state is still cancellable until the next block."""

from __future__ import annotations

from devnet_helpers import ALICE, BUY, USDC, long_term, make_engine, on_tick
from v4_proto.dydxprotocol.clob import tx_pb2
from v4_proto.dydxprotocol.clob.order_pb2 import Order

from dydx_devnet.engine import Engine

STEP = 1_000_000


def _cancel(order: Order, good_til_block_time: int | None = None) -> tx_pb2.MsgCancelOrder:
    gtbt = order.good_til_block_time if good_til_block_time is None else good_til_block_time
    return tx_pb2.MsgCancelOrder(order_id=order.order_id, good_til_block_time=gtbt)


def _funded() -> Engine:
    engine = make_engine()
    engine.deposit(ALICE, 0, 10_000 * USDC)
    return engine


def test_cancel_when_crossing_order_filled_as_it_entered_state_then_accepted_until_next_block() -> (
    None
):
    engine = _funded()
    crossing = long_term(engine, BUY, STEP, on_tick(engine, "BTC-USD", 5_000))
    assert engine.place_order(crossing).code == 0
    engine.advance_block()  # enters state and fills against the book
    (state,) = engine.state.orders.values()
    assert state.status == "FILLED"

    same_block = engine.cancel_order(_cancel(crossing))
    engine.advance_block()
    next_block = engine.cancel_order(_cancel(crossing))

    assert same_block.code == 0
    assert state.status == "FILLED"  # the fill stands; the cancel changed nothing
    assert (next_block.code, next_block.codespace) == (3006, "clob")
    assert "Stateful order does not exist" in next_block.log


def test_cancel_when_resting_order_canceled_some_blocks_later_then_user_canceled() -> None:
    engine = _funded()
    resting = long_term(engine, BUY, STEP, on_tick(engine, "BTC-USD", -5_000))
    engine.place_order(resting)
    for _ in range(4):
        engine.advance_block()

    result = engine.cancel_order(_cancel(resting))
    engine.advance_block()  # a stateful cancel takes effect in its block

    assert result.code == 0
    (state,) = engine.state.orders.values()
    assert (state.status, state.removal_reason) == (
        "CANCELED",
        "ORDER_REMOVAL_REASON_USER_CANCELED",
    )
