"""The one tolerance the soak allows on the caps, and why it is enough and tight.

The trader promises, at every decision: *if every order in flight ends in
whichever outcome is worst for each cap, and this order fills in full at its
worst price (the slippage bound) paying the taker fee on that price, then
gross notional <= max_exposure x equity and each position's notional <=
max_leverage x equity*, with notionals at the oracle price P_d the decision
used and equity the chain's net collateral at P_d. The venue is checked at
another moment, at the oracle P_c of that moment. Write G and E for gross
notional and equity, d for decision and c for check, X for the exposure cap,
l for the leverage cap.

1. Fills at better prices than the worst, partial fills and orders that do not
   fill only raise equity at P_d or shrink notionals (an opening order's costs
   grow with its fill; a flip's gross/equity is quasi-convex in its fill, so
   its worst is at an end, which the reservation covers). A pure reduction
   lowers G/E as long as slippage + fee < E/G. So at P_d the venue holds
   G <= G_d and E >= E_d.
2. Prices move. Let ``delta`` bound every market's relative oracle move
   between any price a decision used and the check: ``delta = max(high / low)
   - 1`` over the prices the trader could have read (the indexer's history
   ring at the schedule's start, then every block). Then G_c <= (1 + delta) G
   and E_c >= E - delta G (a position loses at most delta of its notional).
3. Fees the trader did not count: the venue's taker rate above the rate the
   trader assumed, on every fill, and the chain's rounding of each fee up to
   one quote quantum. Call their sum ``slack`` (quote quantums); E_c >= ... -
   slack.

From G_d <= X E_d: E_c >= G_d (1/X - delta) - slack >= G_c (1/X - delta) /
(1 + delta) - slack, so

    G_c <= X * (1 + delta) / (1 - delta X) * (E_c + slack)
    |N_c| <= l * (1 + delta) / (1 - delta X) * (E_c + slack)   (E_d <= (E_c + slack)/(1 - delta X))

The factor ``(1 + delta) / (1 - delta X)`` is the tolerance. It is *tight*:
a decision right at the cap on short positions whose prices all rise by
delta reaches it exactly (notionals grow by 1 + delta while equity loses
delta G_d). It is *enough*, by the inequalities above, for any schedule
without funding payments (the soak's devnet settles none) and without
activity the trader does not know of. The soak's prices move little (speed 1,
seconds per schedule) except for its price-gap steps, so the tolerance is
usually well under 0.1 %; it is computed per schedule, never assumed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction

PPM = 1_000_000


@dataclass(frozen=True, slots=True)
class CapBound:
    """``factor`` = (1 + delta) / (1 - delta X) as an exact fraction, and ``slack``
    (quote quantums) the venue may take in fees the trader did not count."""

    delta: Fraction
    factor: Fraction
    slack_qq: int

    def allows(self, notional_qq: int, cap: Fraction, equity_qq: int) -> bool:
        """``|notional| <= cap x factor x (equity + slack)``, exactly."""
        return abs(notional_qq) <= cap * self.factor * (equity_qq + self.slack_qq)


def cap_bound(
    price_moves: Mapping[str, Fraction],
    max_exposure: Fraction,
    fills_quote_qq: Iterable[int],
    venue_fee_ppm: int,
    trader_fee_ppm: int,
) -> CapBound:
    """The bound for one check: ``price_moves`` are each market's high / low - 1 since
    the schedule began; ``fills_quote_qq`` the quote amount of every fill so far."""
    delta = max(price_moves.values(), default=Fraction(0))
    if delta * max_exposure >= 1:
        raise ValueError(f"prices moved {float(delta):.2%}: no leverage bound holds")
    factor = (1 + delta) / (1 - delta * max_exposure)
    extra_ppm = max(0, venue_fee_ppm - trader_fee_ppm)
    slack = 0
    for quote in fills_quote_qq:
        slack += 1 + -(-quote * extra_ppm // PPM)  # one quantum of rounding, plus the rate
    return CapBound(delta, factor, slack)
