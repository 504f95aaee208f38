"""How orders are built from a decision: price bound, lifetime, the fee tier they pay."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from dydx_trader.domain.account_terms import STANDARD_FEE_TIER, FeeTier
from dydx_trader.domain.errors import InvalidInput
from dydx_trader.domain.numbers import require_finite
from dydx_trader.domain.order import TimeInForce
from dydx_trader.domain.position_mode import PositionRule

MAX_GOOD_TIL_BLOCK_OFFSET: Final = 20
"""The farthest a short-term order's good-til-block may lie past the chain height:
the chain accepts ``next height <= good_til_block <= next height + ShortBlockWindow``,
and ShortBlockWindow is 20 blocks up to protocol v9.4 (40 from v9.5)."""
MAX_SLIPPAGE: Final = Decimal("0.5")
DEFAULT_POSITION_RULE: Final = PositionRule()


@dataclass(frozen=True, slots=True)
class OrderParams:
    """How orders are built.

    ``slippage`` is the fraction around the oracle price that bounds an IOC
    order's worst price (0.01 = 1 %; never price 0). ``good_til_block_offset``
    blocks past the chain height (1..:data:`MAX_GOOD_TIL_BLOCK_OFFSET`).
    ``fees`` is the account's fee tier, read from the chain (the account actor
    sets it from the balance snapshot; :meth:`FeeTier.fee_ppm` picks the rate an
    order is sized and checked with).
    ``time_in_force`` of BUY / SELL orders: IOC (a market order with a worst
    price), GTT (a short-term limit order resting until its good-til-block, at
    the signal's price or the oracle) or POST_ONLY (the same, maker only). A
    limit price more than ``slippage`` through the oracle is refused. CLOSE,
    and any order sent while trading is REDUCING, is a reduce-only IOC, as the
    chain requires. ``position`` says what BUY and SELL mean for a position
    already held (:mod:`~dydx_trader.domain.position_mode`).
    """

    slippage: Decimal = Decimal("0.01")
    good_til_block_offset: int = 10
    fees: FeeTier = STANDARD_FEE_TIER
    time_in_force: TimeInForce = TimeInForce.IOC
    position: PositionRule = DEFAULT_POSITION_RULE

    def __post_init__(self) -> None:
        require_finite("slippage", self.slippage)
        if not Decimal(0) < self.slippage < MAX_SLIPPAGE:
            raise InvalidInput(
                f"slippage {self.slippage} must lie in (0, {MAX_SLIPPAGE})", field="slippage"
            )
        offset = self.good_til_block_offset
        if isinstance(offset, bool) or not isinstance(offset, int):
            raise InvalidInput("good-til-block offset must be a whole number of blocks")
        if not 1 <= offset <= MAX_GOOD_TIL_BLOCK_OFFSET:
            raise InvalidInput(
                f"good-til-block offset {offset} must lie in 1..{MAX_GOOD_TIL_BLOCK_OFFSET}",
                field="good_til_block_offset",
            )
        if not isinstance(self.fees, FeeTier):
            raise InvalidInput(f"fee tier {self.fees!r} is not a FeeTier")
        if not isinstance(self.time_in_force, TimeInForce):
            raise InvalidInput(f"time in force {self.time_in_force!r} is unknown")
