"""Conditional orders: stop-loss and take-profit orders the chain triggers itself.

As ``x/clob`` does it (``untriggered_conditional_orders.go``, protocol v9.6.1):

* a conditional order (flags 32) accepted by CheckTx is written to state by the
  next block, *untriggered*: not on the book, shown ``UNTRIGGERED`` with its
  ``triggerPrice`` (:func:`accept`);
* at the end of every block (the EndBlocker) each untriggered order is checked
  against the block's oracle price and then against the block's lowest and
  highest trade prices, each clamped to the oracle +/- ``min_price_change_ppm x
  5`` (``ConditionalOrderTriggerMultiplier``). Take-profit buys and stop-loss
  sells trigger when the price is at or below the trigger, take-profit sells and
  stop-loss buys at or above it; the price is rounded against triggering (up for
  "at or below", down for "at or above") (:meth:`Triggers.run`);
* a triggered order is ``OPEN`` from that block on, and enters the book in the
  next block as a taker (:mod:`dydx_devnet.blocks`), collateral-checked only
  then; an IOC remainder is removed (``CANCELED``,
  ``IMMEDIATE_OR_CANCEL_WOULD_REST_ON_BOOK``) and a reduce-only one that meets
  no position to reduce is removed as ``REDUCE_ONLY_RESIZE``.

Untriggered orders count toward the equity tier, expire at their
good-til-block-time and are cancelled like any stateful order.
"""

from __future__ import annotations

from fractions import Fraction
from functools import cache
from typing import Final

from dydx_devnet import orders as o
from dydx_devnet.genesis import load_genesis_params
from dydx_devnet.markets import MarketState
from dydx_devnet.orders import OrderState
from dydx_devnet.state import EngineState

TRIGGER_MULTIPLIER: Final = 5  # ConditionalOrderTriggerMultiplier
DEFAULT_MIN_PRICE_CHANGE_PPM: Final = 2_500  # most genesis markets


@cache
def min_price_change_ppm(ticker: str) -> int:
    """The market's ``min_price_change_ppm`` (x/prices), from the mainnet genesis."""
    table: dict[str, int] = load_genesis_params().get("min_price_change_ppm", {})
    return int(table.get(ticker, DEFAULT_MIN_PRICE_CHANGE_PPM))


def accept(state: EngineState, order: OrderState) -> None:
    """The block's DeliverTx of an accepted conditional order: in state, untriggered."""
    order.status = o.UNTRIGGERED
    state.stateful[order.key] = order
    state.order_changed(order)


def oracle_subticks(market: MarketState) -> Fraction:
    """The oracle price in subticks, exact (``GetOraclePriceSubticksRat``)."""
    spec = market.spec
    shift = market.price_exponent + spec.atomic_resolution - spec.quantum_conversion_exponent + 6
    return Fraction(market.price_value) * Fraction(10) ** shift


class Triggers:
    """The EndBlocker's ``MaybeTriggerConditionalOrders``; call :meth:`run` once a block."""

    def __init__(self, state: EngineState) -> None:
        self._state = state

    def run(self) -> None:
        """Trigger what the block's prices reach; the triggered wait in
        ``state.triggered_pending`` for the next block. Clears the block's trade range."""
        state = self._state
        waiting: dict[int, list[OrderState]] = {}
        for order in state.stateful.values():
            if order.is_untriggered:
                waiting.setdefault(order.clob_pair_id, []).append(order)
        trades, state.block_trades = state.block_trades, {}  # (lowest, highest) subticks
        for clob_pair_id in sorted(waiting):
            market = state.by_clob[clob_pair_id]
            oracle = oracle_subticks(market)
            prices = [oracle]
            traded = trades.get(market.ticker)
            if traded is not None:
                bound = oracle * min_price_change_ppm(market.ticker) * TRIGGER_MULTIPLIER
                bound /= 1_000_000
                prices += [_clamp(Fraction(t), oracle - bound, oracle + bound) for t in traded]
            untriggered = sorted(waiting[clob_pair_id], key=lambda order: order.recorded_index)
            for price in prices:
                untriggered = self._poll(untriggered, price)

    def _poll(self, orders: list[OrderState], price: Fraction) -> list[OrderState]:
        """Trigger the orders ``price`` reaches; return the rest."""
        at_or_below = _ceil(price)  # pessimistic: harder to reach from above
        at_or_above = _floor(price)
        left = []
        for order in orders:
            if order.triggers_at(at_or_below if order.triggers_below else at_or_above):
                self._trigger(order)
            else:
                left.append(order)
        return left

    def _trigger(self, order: OrderState) -> None:
        state = self._state
        order.triggered = True
        order.status = o.OPEN
        state.order_changed(order)
        state.triggered_pending.append(order)


def _clamp(value: Fraction, low: Fraction, high: Fraction) -> Fraction:
    return min(max(value, low), high)


def _ceil(value: Fraction) -> int:
    return -((-value.numerator) // value.denominator)


def _floor(value: Fraction) -> int:
    return value.numerator // value.denominator
