"""Bad input never crashes the engine: arbitrary orders and cancels get a TxResult."""

from __future__ import annotations

from devnet_helpers import ALICE, USDC, make_engine, order_id
from hypothesis import given, settings
from hypothesis import strategies as st
from v4_proto.dydxprotocol.clob import tx_pb2
from v4_proto.dydxprotocol.clob.order_pb2 import Order

from dydx_devnet import views
from dydx_devnet.codes import TxResult

UINT32 = st.integers(min_value=0, max_value=2**32 - 1)
UINT64 = st.integers(min_value=0, max_value=2**64 - 1)
_ENGINE = make_engine()
_ENGINE.deposit(ALICE, 0, 1_000 * USDC)

orders = st.builds(
    lambda client_id, flags, clob, side, quantums, subticks, tif, reduce_only, gtb, gtbt, near: (
        Order(
            order_id=order_id(ALICE, client_id, flags, clob),
            side=side,
            quantums=quantums,
            subticks=subticks,
            time_in_force=tif,
            reduce_only=reduce_only,
            good_til_block=gtb if gtbt is None else 0,
            good_til_block_time=gtbt or 0,
        ),
        near,
    ),
    client_id=UINT32,
    flags=st.sampled_from([0, 32, 64, 128, 7]),
    clob=st.sampled_from([0, 1, 5, 2**32 - 1]),
    side=st.integers(min_value=0, max_value=3),
    quantums=st.one_of(UINT64, st.integers(min_value=1, max_value=1000).map(lambda n: n * 10**6)),
    subticks=st.one_of(UINT64, st.integers(min_value=1, max_value=10**6).map(lambda n: n * 10**5)),
    tif=st.integers(min_value=0, max_value=4),
    reduce_only=st.booleans(),
    gtb=UINT32,
    gtbt=st.one_of(st.none(), UINT32),
    near=st.booleans(),
)


@settings(max_examples=80, deadline=None)
@given(case=orders, advance=st.booleans())
def test_arbitrary_order_when_placed_or_canceled_then_a_tx_result_and_no_crash(
    case: tuple[Order, bool], advance: bool
) -> None:
    order, near = case
    if near and order.WhichOneof("good_til_oneof") == "good_til_block":
        order.good_til_block = _ENGINE.height + 1 + order.good_til_block % 20

    placed = _ENGINE.place_order(order)
    canceled = _ENGINE.cancel_order(
        tx_pb2.MsgCancelOrder(order_id=order.order_id, good_til_block=_ENGINE.height + 3)
    )
    if advance:
        _ENGINE.advance_block()

    assert isinstance(placed, TxResult) and isinstance(canceled, TxResult)
    assert placed.code == 0 or placed.log
    assert views.subaccount(_ENGINE, ALICE, 0) is not None
    assert views.orderbook(_ENGINE, "BTC-USD") is not None
