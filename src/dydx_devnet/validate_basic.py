"""``ValidateBasic`` of the CLOB messages: the checks that need no chain state.

The chain runs them before any ante handler, so before the signature and
sequence checks (``x/clob/types/message_place_order.go``,
``message_cancel_order.go``, ``message_batch_cancel.go``), in this order and
with these codes. Each function returns the rejection, or ``None``.

``owner_ok`` says whether an owner is a valid account address (bech32 on the
wire; the engine's own tests use readable stand-in names).
"""

from __future__ import annotations

from collections.abc import Callable

from v4_proto.dydxprotocol.clob import tx_pb2
from v4_proto.dydxprotocol.clob.order_pb2 import Order, OrderId

from dydx_devnet import codes
from dydx_devnet import orders as o
from dydx_devnet.codes import TxResult

OwnerCheck = Callable[[str], bool]
MAX_BATCH_CANCELS = 100  # MaxMsgBatchCancelBatchSize
_STATEFUL_FLAGS = (o.CONDITIONAL, o.LONG_TERM, o.TWAP)
_SIDES = (Order.Side.SIDE_UNSPECIFIED, o.SIDE_BUY, o.SIDE_SELL)
_TIME_IN_FORCE = (o.TIF_UNSPECIFIED, o.TIF_IOC, o.TIF_POST_ONLY, o.TIF_FOK)
_CONDITIONS = (
    Order.ConditionType.CONDITION_TYPE_UNSPECIFIED,
    Order.ConditionType.CONDITION_TYPE_STOP_LOSS,
    Order.ConditionType.CONDITION_TYPE_TAKE_PROFIT,
)


def subaccount_id(owner: str, number: int, owner_ok: OwnerCheck = bool) -> TxResult | None:
    """``SubaccountId.Validate``: subaccounts 201 (owner), 200 (number)."""
    if not owner_ok(owner):
        return codes.reject(
            codes.INVALID_SUBACCOUNT_OWNER,
            f"invalid SubaccountId Owner address ({owner})",
            codespace=codes.SUBACCOUNTS,
        )
    if number > o.MAX_SUBACCOUNT_NUMBER:
        return codes.reject(codes.INVALID_SUBACCOUNT_NUMBER, codespace=codes.SUBACCOUNTS)
    return None


def place_order(order: Order, owner_ok: OwnerCheck = bool) -> TxResult | None:
    """``MsgPlaceOrder.ValidateBasic``."""
    if order.time_in_force == o.TIF_FOK:
        return codes.reject(codes.DEPRECATED_FIELD, "Fill-or-kill has been deprecated")
    oid = order.order_id
    rejected = subaccount_id(oid.subaccount_id.owner, oid.subaccount_id.number, owner_ok)
    if rejected is not None:
        return rejected
    if order.side not in _SIDES:
        return codes.reject(codes.INVALID_ORDER_SIDE, f"invalid order side ({order.side})")
    if order.time_in_force not in _TIME_IN_FORCE:
        return codes.reject(
            codes.INVALID_TIME_IN_FORCE, f"invalid time in force ({order.time_in_force})"
        )
    if order.condition_type not in _CONDITIONS:
        return codes.reject(
            codes.INVALID_CONDITION_TYPE, f"invalid condition type ({order.condition_type})"
        )
    if order.side == Order.Side.SIDE_UNSPECIFIED:
        return codes.reject(codes.INVALID_ORDER_SIDE, "UNSPECIFIED is not a valid order side")
    if order.quantums == 0:
        return codes.reject(codes.INVALID_QUANTUMS, "order size quantums cannot be 0")
    flags = oid.order_flags
    if flags == o.SHORT_TERM:
        if order.good_til_block == 0:
            return codes.reject(codes.INVALID_GOOD_TIL_BLOCK, "order goodTilBlock cannot be 0")
    elif flags in _STATEFUL_FLAGS:
        if order.good_til_block_time == 0:
            return codes.reject(
                codes.INVALID_GOOD_TIL_BLOCK_TIME, "stateful order goodTilBlockTime cannot be 0"
            )
    else:
        return codes.reject(codes.INVALID_ORDER_FLAG, f"invalid order flag {flags}")
    immediate = order.time_in_force == o.TIF_IOC
    if flags == o.LONG_TERM and immediate:
        return codes.reject(codes.LONG_TERM_IMMEDIATE)
    if order.reduce_only and not immediate:
        return codes.reject(
            codes.REDUCE_ONLY_DISABLED, "reduce only orders must be short term IOC orders"
        )
    if order.subticks == 0 and flags != o.TWAP:
        return codes.reject(
            codes.INVALID_SUBTICKS, "order subticks cannot be 0 for this order type"
        )
    return _condition(order, flags)


def _condition(order: Order, flags: int) -> TxResult | None:
    unspecified = Order.ConditionType.CONDITION_TYPE_UNSPECIFIED
    if flags == o.CONDITIONAL:
        if order.condition_type == unspecified:
            return codes.reject(
                codes.INVALID_CONDITION_TYPE, "condition type cannot be unspecified"
            )
        if order.conditional_order_trigger_subticks == 0:
            return codes.reject(
                codes.INVALID_TRIGGER_SUBTICKS, "conditional order trigger subticks cannot be 0"
            )
        return None
    if order.condition_type != unspecified:
        return codes.reject(
            codes.INVALID_CONDITION_TYPE, "condition type specified for non-conditional order"
        )
    if order.conditional_order_trigger_subticks != 0:
        return codes.reject(
            codes.INVALID_TRIGGER_SUBTICKS,
            "conditional order trigger subticks greater than 0 for non-conditional order",
        )
    return None


def order_id(oid: OrderId, owner_ok: OwnerCheck = bool) -> TxResult | None:
    """``OrderId.Validate``: the subaccount, then known flags (3000)."""
    rejected = subaccount_id(oid.subaccount_id.owner, oid.subaccount_id.number, owner_ok)
    if rejected is not None:
        return rejected
    if oid.order_flags != o.SHORT_TERM and oid.order_flags not in _STATEFUL_FLAGS:
        return codes.reject(codes.INVALID_ORDER_FLAG, f"orderId flags {oid.order_flags}")
    return None


def cancel_order(msg: tx_pb2.MsgCancelOrder, owner_ok: OwnerCheck = bool) -> TxResult | None:
    """``MsgCancelOrder.ValidateBasic``."""
    rejected = order_id(msg.order_id, owner_ok)
    if rejected is not None:
        return rejected
    if msg.order_id.order_flags != o.SHORT_TERM:
        if msg.good_til_block_time == 0:
            return codes.reject(
                codes.INVALID_GOOD_TIL_BLOCK_TIME,
                "stateful cancellation goodTilBlockTime cannot be 0",
            )
    elif msg.good_til_block == 0:
        return codes.reject(codes.INVALID_GOOD_TIL_BLOCK, "cancellation goodTilBlock cannot be 0")
    return None


def batch_cancel(msg: tx_pb2.MsgBatchCancel, owner_ok: OwnerCheck = bool) -> TxResult | None:
    """``MsgBatchCancel.ValidateBasic``: clob 45 for every malformed batch."""
    rejected = subaccount_id(msg.subaccount_id.owner, msg.subaccount_id.number, owner_ok)
    if rejected is not None:
        return rejected
    if not msg.short_term_cancels:
        return codes.reject(
            codes.INVALID_BATCH_CANCEL, "Batch cancel cannot have zero orders specified."
        )
    total = 0
    clob_pair_ids: set[int] = set()
    for batch in msg.short_term_cancels:
        if batch.clob_pair_id in clob_pair_ids:
            return codes.reject(
                codes.INVALID_BATCH_CANCEL,
                "Batch cancel cannot have 2 order batches with the same clob pair id: "
                f"{batch.clob_pair_id}",
            )
        clob_pair_ids.add(batch.clob_pair_id)
        if not batch.client_ids:
            return codes.reject(
                codes.INVALID_BATCH_CANCEL, "Order Batch cannot have zero client ids."
            )
        if len(set(batch.client_ids)) != len(batch.client_ids):
            return codes.reject(
                codes.INVALID_BATCH_CANCEL,
                f"Batch Cancel Clob pair id {batch.clob_pair_id} has duplicate client ids",
            )
        total += len(batch.client_ids)
    if total > MAX_BATCH_CANCELS:
        return codes.reject(
            codes.INVALID_BATCH_CANCEL,
            f"Batch cancel cannot have over {MAX_BATCH_CANCELS} orders. Order count: {total}",
        )
    return None


def message(msg: object, owner_ok: OwnerCheck = bool) -> TxResult | None:
    """``ValidateBasic`` of any CLOB message (``MsgUpdateLeverage`` has none)."""
    if isinstance(msg, tx_pb2.MsgPlaceOrder):
        return place_order(msg.order, owner_ok)
    if isinstance(msg, tx_pb2.MsgCancelOrder):
        return cancel_order(msg, owner_ok)
    if isinstance(msg, tx_pb2.MsgBatchCancel):
        return batch_cancel(msg, owner_ok)
    return None
