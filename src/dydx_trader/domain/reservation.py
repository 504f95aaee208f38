"""Margin reserved by orders whose outcome is not known yet.

While an order is in flight its fill is not in the balance the indexer
reports, so the next signal, sized from that balance, could spend the same
free collateral. Each order in flight therefore reserves its *worst case* until
it is settled, and the worst case of an order depends on what it does:

* an order that opens or grows a position is worst when it **fills**: more
  initial margin, more notional;
* an order that reduces a position (a CLOSE, a SELL against a long) is worst
  when it **does not fill**: the position it was meant to shrink stays;
* an order that flips a position is held to both.

So the next order is held to an account in which, market by market, the
position is whichever end of its possible range (some orders fill, others do
not) is the larger, and in which equity has paid every order's adverse
slippage and fee as if all had filled. For the market being traded both ends
are kept (:attr:`Reserved.worst_cases`): the new order must fit each. That is
never kinder than any combination of outcomes, for every cap: free collateral,
position leverage, exposure and per-market notional.

:attr:`Reserved.expected` is the account as if every order filled: what a
CLOSE closes, and what a reduce-only order may not exceed (the chain itself
caps a reduce-only order at the position it finds).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from dydx_trader.domain.margin import MarginState, MarketMath, fill_cash_flow, lookup
from dydx_trader.domain.market import MarketSpec
from dydx_trader.domain.proposal import OrderProposal


@dataclass(frozen=True, slots=True)
class Reserved:
    """An account with orders in flight, valued for one more order.

    ``worst_cases``: one state, or two when orders are in flight in the traded
    market (its position at either end of its range); ``expected``: as if every
    order in flight filled.
    """

    expected: MarginState
    worst_cases: tuple[MarginState, ...]


@dataclass(slots=True)
class _Accumulated:
    """The orders in flight folded onto ``state``: as if all filled (``expected``),
    their worst-case charge, each market's range of positions (base quantums, by
    first appearance) and ``worst``: every one of those markets at its worst end."""

    state: MarginState
    orders: tuple[OrderProposal, ...]
    expected: MarginState
    charge: int
    ranges: dict[str, tuple[MarketMath, int, int]]
    worst: MarginState


class ReservationCache:
    """The last :func:`reserve` folding, kept by its one caller (the account actor).

    When the next call has the same valuation, the same market math and the same
    orders in flight plus new ones (a burst: each decision adds one), only the new
    orders are folded in; the result is exactly what folding them all gives.
    """

    __slots__ = ("_last",)

    def __init__(self) -> None:
        self._last: _Accumulated | None = None


def reserve(
    state: MarginState,
    in_flight: Sequence[OrderProposal],
    markets: Mapping[str, MarketSpec],
    market: str,
    cache: ReservationCache | None = None,
) -> Reserved:
    """``state`` with every order ``in_flight`` reserved, for an order in ``market``.

    ``markets`` must hold every market an order in flight trades (raises
    ``UnknownMarket`` otherwise). ``cache`` only makes a burst of calls faster.
    """
    if not in_flight:
        return Reserved(state, (state,))
    folded = _fold(state, tuple(in_flight), markets, None if cache is None else cache._last)
    if cache is not None:
        cache._last = folded
    traded = folded.ranges.get(market)
    if traded is None:
        return Reserved(folded.expected, (folded.worst.charged(folded.charge),))
    # Both ends of the traded market are kept: every other market at its worst end.
    worst = state
    for ticker, (math, low, high) in folded.ranges.items():
        if ticker != market:
            worst = _moved_to(worst, math, _end(state, ticker, low, high))
    worst = worst.charged(folded.charge)
    math, low, high = traded
    line = state.lines.get(market)
    held = line.base_quantums if line is not None else 0
    low_end, high_end = held + low, held + high
    ends = (high_end,) if low_end == high_end else (high_end, low_end)
    return Reserved(folded.expected, tuple(_moved_to(worst, math, end) for end in ends))


def _fold(
    state: MarginState,
    orders: tuple[OrderProposal, ...],
    markets: Mapping[str, MarketSpec],
    last: _Accumulated | None,
) -> _Accumulated:
    known = len(last.orders) if last is not None else 0
    if (
        last is None
        or last.state is not state
        or orders[:known] != last.orders
        or any(lookup(markets, ticker) is not math for ticker, (math, _, _) in last.ranges.items())
    ):
        last, known = _Accumulated(state, (), state, 0, {}, state), 0
    expected, charge, ranges = last.expected, last.charge, dict(last.ranges)
    new: list[str] = []  # markets first seen in this fold, in that order
    widened = False  # a market seen before has a new order
    for order in orders[known:]:
        math = lookup(markets, order.market)
        delta = math.base_quantums(order.position_delta)
        cash = fill_cash_flow(order.position_delta, order.price, order.fee_ppm)
        expected = expected.after(math, delta, cash)
        # What filling costs in equity: the fill against the oracle, plus the fee.
        # One quote quantum more covers the truncation of the position's notional.
        charge += max(0, -(cash + math.notional_quantums(delta))) + 1
        _, low, high = ranges.get(order.market, (math, 0, 0))
        if order.market in last.ranges:
            widened = True
        elif order.market not in ranges:
            new.append(order.market)
        ranges[order.market] = (math, low + min(delta, 0), high + max(delta, 0))
    # Markets first seen now move ``worst`` on; a wider range of one seen before
    # moves it from the start, in the same order: the same result either way.
    worst, moved = (state, list(ranges)) if widened else (last.worst, new)
    for ticker in moved:
        math, low, high = ranges[ticker]
        worst = _moved_to(worst, math, _end(state, ticker, low, high))
    return _Accumulated(state, orders, expected, charge, ranges, worst)


def _end(state: MarginState, ticker: str, low: int, high: int) -> int:
    """The end of a market's range of positions with the larger size."""
    line = state.lines.get(ticker)
    held = line.base_quantums if line is not None else 0
    return held + high if abs(held + high) >= abs(held + low) else held + low


def _moved_to(state: MarginState, math: MarketMath, base_quantums: int) -> MarginState:
    """``state`` with ``math``'s position at ``base_quantums``, traded at the oracle
    (equity unchanged: what the position is worth moves into USDC or out of it)."""
    line = state.lines.get(math.ticker)
    held = line.base_quantums if line is not None else 0
    if base_quantums == held:
        return state
    value_change = math.notional_quantums(base_quantums) - (line.notional if line else 0)
    return state.after(math, base_quantums - held, -value_change)
