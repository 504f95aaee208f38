"""Cancels: ``MsgCancelOrder`` (short-term and stateful) and ``MsgBatchCancel``.

A short-term cancel is remembered until its good-til-block: it removes a
resting order whose good-til-block is not later than the cancel's, and blocks
re-placing that id up to then (code 7). A stateful cancel removes the order
from state (or from the orders waiting for the next block).
"""

from __future__ import annotations

from v4_proto.dydxprotocol.clob import tx_pb2

from dydx_devnet import codes
from dydx_devnet import orders as o
from dydx_devnet.codes import TxResult
from dydx_devnet.state import EngineState
from dydx_devnet.validation import CheckTx

_MAX_BATCH_CANCELS = 100


class Cancels:
    """The cancel messages; the engine calls them under its lock and flushes after."""

    def __init__(self, state: EngineState, checktx: CheckTx) -> None:
        self._state = state
        self._checktx = checktx

    def cancel_order(self, msg: tx_pb2.MsgCancelOrder) -> TxResult:
        """``MsgCancelOrder`` for a short-term (good-til-block) or stateful order."""
        oid = msg.order_id
        key: o.OrderKey = (
            oid.subaccount_id.owner,
            oid.subaccount_id.number,
            oid.client_id,
            oid.order_flags,
            oid.clob_pair_id,
        )
        if oid.subaccount_id.number > o.MAX_SUBACCOUNT_NUMBER:
            return codes.reject(codes.INVALID_SUBACCOUNT_NUMBER, codespace=codes.SUBACCOUNTS)
        if oid.order_flags == o.SHORT_TERM:
            return self._cancel_short_term(key, msg.good_til_block)
        return self._cancel_stateful(key, msg.good_til_block_time)

    def _cancel_short_term(self, key: o.OrderKey, good_til_block: int) -> TxResult:
        if good_til_block == 0:
            return codes.reject(codes.INVALID_GOOD_TIL_BLOCK, "cancel goodTilBlock cannot be 0")
        state = self._state
        window = self._checktx.validate_good_til_block(good_til_block)
        if window is not None:
            return window
        previous = state.cancels.get(key)
        if previous is not None and previous >= good_til_block:
            return codes.reject(codes.CANCEL_ALREADY_EXISTS, f"order {key}")
        state.cancels[key] = good_til_block
        state.prune_at[good_til_block].append(key)
        order = state.orders.get(key)
        if (
            order is not None
            and order.resting
            and order.good_til_block is not None
            and order.good_til_block <= good_til_block
        ):
            state.finish(order, o.BEST_EFFORT_CANCELED, o.USER_CANCELED)
        return codes.OK

    def _cancel_stateful(self, key: o.OrderKey, good_til_block_time: int) -> TxResult:
        if good_til_block_time == 0:
            return codes.reject(
                codes.INVALID_GOOD_TIL_BLOCK_TIME, "cancel goodTilBlockTime cannot be 0"
            )
        state = self._state
        order = state.stateful.get(key)
        pending = next((p for p in state.pending_stateful if p.key == key), None)
        if order is None and pending is None:
            return codes.reject(codes.STATEFUL_ORDER_DOES_NOT_EXIST, f"order {key}")
        if pending is not None:
            state.pending_stateful.remove(pending)
            state.record_order(pending)
            order = pending
        assert order is not None
        state.finish(order, o.CANCELED, o.USER_CANCELED)
        return codes.OK

    def batch_cancel(self, msg: tx_pb2.MsgBatchCancel) -> TxResult:
        """``MsgBatchCancel``: cancel up to 100 short-term orders of one subaccount."""
        owner, number = msg.subaccount_id.owner, msg.subaccount_id.number
        total = sum(len(batch.client_ids) for batch in msg.short_term_cancels)
        if total == 0 or total > _MAX_BATCH_CANCELS:
            return codes.reject(
                codes.INVALID_PLACE_ORDER,
                f"batch cancel holds {total} cancels; 1 to {_MAX_BATCH_CANCELS} allowed",
            )
        window = self._checktx.validate_good_til_block(msg.good_til_block)
        if window is not None:
            return window
        for batch in msg.short_term_cancels:
            for client_id in batch.client_ids:
                key = (owner, number, client_id, o.SHORT_TERM, batch.clob_pair_id)
                self._cancel_short_term(key, msg.good_til_block)
        return codes.OK
