"""Cancels: ``MsgCancelOrder`` (short-term and stateful) and ``MsgBatchCancel``.

A short-term cancel is remembered until its good-til-block: it removes a
resting order whose good-til-block is not later than the cancel's, and blocks
re-placing that id up to then (code 7). A stateful cancel is checked as
``PerformOrderCancellationStatefulValidation`` does (3003/3004 for its
good-til-block-time, 32 while another cancel of the order waits for its block,
3006 for no such order, 29 below the order's own good-til-block-time) and
takes effect in the next block, as a DeliverTx: until then the order still
rests and may fill. A stateful order that filled as it entered state is, as on
the chain, in state until the next block: a cancel in between is accepted and
changes nothing. A batch cancel answers 27 for an unknown clob pair and 46 when
it cancelled nothing.
"""

from __future__ import annotations

from v4_proto.dydxprotocol.clob import tx_pb2

from dydx_devnet import codes, validate_basic
from dydx_devnet import orders as o
from dydx_devnet.codes import TxResult
from dydx_devnet.state import EngineState
from dydx_devnet.validation import CheckTx


class Cancels:
    """The cancel messages; the engine calls them under its lock and flushes after."""

    def __init__(self, state: EngineState, checktx: CheckTx) -> None:
        self._state = state
        self._checktx = checktx

    def cancel_order(self, msg: tx_pb2.MsgCancelOrder) -> TxResult:
        """``MsgCancelOrder`` for a short-term (good-til-block) or stateful order."""
        rejected = validate_basic.cancel_order(msg)
        if rejected is not None:
            return rejected
        oid = msg.order_id
        key: o.OrderKey = (
            oid.subaccount_id.owner,
            oid.subaccount_id.number,
            oid.client_id,
            oid.order_flags,
            oid.clob_pair_id,
        )
        if oid.order_flags == o.SHORT_TERM:
            if key[4] in self._state.by_clob:  # the ante counts known clob pairs only
                window = self._checktx.validate_good_til_block(msg.good_til_block)
                limited = window or self._state.rate_limits.short_term.consume(
                    key[0], self._state.height
                )
                if limited is not None:
                    return limited
            return self._cancel_short_term(key, msg.good_til_block)
        return self._cancel_stateful(key, msg.good_til_block_time)

    def _cancel_short_term(self, key: o.OrderKey, good_til_block: int) -> TxResult:
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
        state = self._state
        window = self._checktx.validate_good_til_block_time(good_til_block_time)
        if window is not None:
            return window
        if key in state.pending_cancels:
            return codes.reject(
                codes.STATEFUL_CANCELLATION_ALREADY_EXISTS,
                "An uncommitted stateful order cancellation with this OrderId already exists "
                "and stateful order cancellation replacement is not supported",
            )
        order = state.stateful.get(key)
        if order is None:
            order = next((p for p in state.pending_stateful if p.key == key), None)
        if order is None:
            if self._filled_in_latest_block(key):
                # On the chain a stateful order's fills are committed in the block after the
                # one that put it in state, and only that block removes it: until then a
                # cancel passes CheckTx (and is dropped in DeliverTx, the fill having won).
                return codes.OK
            return codes.reject(
                codes.STATEFUL_ORDER_DOES_NOT_EXIST,
                f"Order Id to cancel does not exist. OrderId : {key}",
            )
        if good_til_block_time < (order.good_til_block_time or 0):
            return codes.reject(
                codes.INVALID_STATEFUL_CANCELLATION,
                "cancellation goodTilBlockTime less than stateful order goodTilBlockTime",
            )
        state.pending_cancels[key] = good_til_block_time
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
        rejected = validate_basic.batch_cancel(msg)
        if rejected is not None:
            return rejected
        window = self._checktx.validate_good_til_block(msg.good_til_block)
        if window is not None:
            return window
        if all(batch.clob_pair_id in self._state.by_clob for batch in msg.short_term_cancels):
            limited = self._state.rate_limits.short_term.consume(
                msg.subaccount_id.owner, self._state.height, weight=2
            )
            if limited is not None:
                return limited
        for batch in msg.short_term_cancels:
            if batch.clob_pair_id not in self._state.by_clob:
                return codes.reject(
                    codes.INVALID_CLOB_PAIR_PARAMETER, f"Invalid clob pair id {batch.clob_pair_id}"
                )
        owner, number = msg.subaccount_id.owner, msg.subaccount_id.number
        failed: list[int] = []
        succeeded = 0
        for batch in msg.short_term_cancels:
            for client_id in batch.client_ids:
                key = (owner, number, client_id, o.SHORT_TERM, batch.clob_pair_id)
                if self._cancel_short_term(key, msg.good_til_block).ok:
                    succeeded += 1
                else:
                    failed.append(client_id)
        if succeeded == 0:
            return codes.reject(
                codes.BATCH_CANCEL_FAILED, f"No successful cancellations. Failures: {failed}"
            )
        return codes.OK


def apply_pending_cancels(state: EngineState) -> None:
    """The block's DeliverTx of the stateful cancels accepted since the last block."""
    pending, state.pending_cancels = state.pending_cancels, {}
    for key in pending:
        order = state.stateful.get(key)
        if order is None:
            order = next((p for p in state.pending_stateful if p.key == key), None)
            if order is None:
                continue  # filled or expired meanwhile
            state.pending_stateful.remove(order)
            state.record_order(order)
        state.finish(order, o.CANCELED, o.USER_CANCELED)
