"""A proposed order as the risk rules see it."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from dydx_trader.domain.side import Side


@dataclass(frozen=True, slots=True)
class OrderProposal:
    """``size`` base units of ``market`` on ``side`` at ``price`` USDC per unit
    (the limit, or the worst price an IOC accepts), paying ``fee_ppm`` of the
    notional; ``reduce_only`` when it may only shrink a position.

    The same value is what the pre-trade check judges, what the sizer proposes,
    and what an order in flight reserves (its worst case) until it is settled.
    It is checked where it is judged (:func:`~dydx_trader.domain.pre_trade.evaluate_order`).
    """

    market: str
    side: Side
    size: Decimal
    price: Decimal
    fee_ppm: int = 0
    reduce_only: bool = False

    @property
    def position_delta(self) -> Decimal:
        """Signed change of the position if it fills in full, base units."""
        return self.size * self.side.sign
