"""``MsgPlaceOrder`` once CheckTx has run: where an accepted order goes.

A short-term order is matched at once (CheckTx into the memclob: its fills are
optimistic and the indexer shows them from the next block, stamped with that
block's height), replacing a resting order with the same id; what remains
rests, or ends for an IOC. A long-term order waits for the next block
(:meth:`~dydx_devnet.blocks.BlockProducer.place_pending_stateful`). A
short-term order that fails its collateral check at match time is removed as
UNDERCOLLATERALIZED, and the transaction still answers code 0, as on the chain.
"""

from __future__ import annotations

from v4_proto.dydxprotocol.clob.order_pb2 import Order

from dydx_devnet import codes
from dydx_devnet import orders as o
from dydx_devnet.codes import TxResult
from dydx_devnet.matching import Matcher
from dydx_devnet.orders import OrderState
from dydx_devnet.state import EngineState
from dydx_devnet.validation import CheckTx


class Placement:
    """Validates and places orders; the engine holds its lock and flushes after."""

    def __init__(self, state: EngineState, checktx: CheckTx, matcher: Matcher) -> None:
        self._state = state
        self._checktx = checktx
        self._matcher = matcher

    def place(self, order: Order, tx_hash: str | None) -> TxResult:
        """The CheckTx answer to ``order``; accepted orders are matched or queued."""
        rejected = self._checktx.rate_limit(order)
        if rejected is None:
            rejected = self._checktx.validate(order)
        if rejected is not None:
            return rejected
        state = self._state
        key = o.order_key(order)
        market = state.by_clob[key[4]]
        placed = OrderState.placed(
            order, market.ticker, state.height, state.block_time_ms, state.next_sequence()
        )
        if placed.is_stateful:
            # In state (and in the indexer) from the next block on.
            if tx_hash is not None:
                placed.extra["tx_hash"] = tx_hash
            state.pending_stateful.append(placed)
            return codes.OK
        previous = state.orders.get(key)
        if previous is not None and previous.resting:
            state.finish(previous, o.BEST_EFFORT_CANCELED, o.REPLACED)
        state.record_order(placed)
        state.short_term_placed(placed)
        self._place_short_term(placed, tx_hash or state.tx_hash_for(placed.uuid, placed.sequence))
        return codes.OK

    def _place_short_term(self, order: OrderState, tx_hash: str) -> None:
        state = self._state
        market = state.by_clob[order.clob_pair_id]
        carried = state.fill_amounts.get(order.key)
        if carried is not None:
            order.filled = carried[0]
        stopped = self._matcher.match(order, market, tx_hash)
        state.remember_fill_amount(order)
        if stopped in o.MATCH_FAILURES:
            state.finish(order, o.BEST_EFFORT_CANCELED, stopped)
        elif order.remaining == 0:
            state.finish(order, o.FILLED, None)
        elif order.is_ioc:
            state.finish(order, o.BEST_EFFORT_CANCELED, stopped or o.IOC_WOULD_REST)
        else:
            state.rest(order)
            state.order_changed(order)
