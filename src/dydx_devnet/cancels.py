"""Cancels: ``MsgCancelOrder`` (short-term and stateful) and ``MsgBatchCancel``.

A short-term cancel is remembered until its good-til-block: it removes a
resting order whose good-til-block is not later than the cancel's, and blocks
re-placing that id up to then (code 7). A stateful cancel removes the order
from state (or from the orders waiting for the next block). A stateful order
that filled when it entered state is, as on the chain, still in state until
the next block: a cancel in between is accepted and changes nothing.
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
        """``PerformOrderCancellationStatefulValidation`` for a stateful order, then removal.

        The cancel's good-til-block-time must lie in ``(t, t + StatefulOrderTimeWindow]``
        of the latest block's time ``t`` and be no earlier than the order's own.
        """
        if good_til_block_time == 0:
            return codes.reject(
                codes.INVALID_GOOD_TIL_BLOCK_TIME, "cancel goodTilBlockTime cannot be 0"
            )
        state = self._state
        now_s = state.block_time_ms // 1000
        if good_til_block_time <= now_s:
            return codes.reject(
                codes.TIME_EXCEEDS_GOOD_TIL_BLOCK_TIME,
                f"cancel GoodTilBlockTime {good_til_block_time} is not after block time {now_s}",
            )
        window = state.config.stateful_order_time_window_s
        if good_til_block_time > now_s + window:
            return codes.reject(
                codes.GOOD_TIL_BLOCK_TIME_TOO_FAR,
                f"cancel GoodTilBlockTime {good_til_block_time} exceeds the block time {now_s} "
                f"plus {window} seconds",
            )
        order = state.stateful.get(key)
        pending = next((p for p in state.pending_stateful if p.key == key), None)
        if order is None and pending is None:
            if self._filled_in_latest_block(key):
                # On the chain a stateful order's fills are committed in the block after the
                # one that put it in state, and only that block removes it: until then a
                # cancel passes CheckTx (and is dropped in DeliverTx, the fill having won).
                return codes.OK
            return codes.reject(codes.STATEFUL_ORDER_DOES_NOT_EXIST, f"order {key}")
        found = order if order is not None else pending
        assert found is not None
        order_gtbt = found.good_til_block_time
        if order_gtbt is not None and good_til_block_time < order_gtbt:
            return codes.reject(
                codes.INVALID_STATEFUL_CANCELLATION,
                f"cancellation goodTilBlockTime {good_til_block_time} less than stateful order "
                f"goodTilBlockTime {order_gtbt}",
            )
        if pending is not None:
            state.pending_stateful.remove(pending)
            state.record_order(pending)
            order = pending
        assert order is not None
        state.finish(order, o.CANCELED, o.USER_CANCELED)
        return codes.OK

    def _filled_in_latest_block(self, key: o.OrderKey) -> bool:
        state = self._state
        order = state.orders.get(key)
        return (
            order is not None
            and order.is_stateful
            and order.status == o.FILLED
            and order.updated_at_height == state.height
        )

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
