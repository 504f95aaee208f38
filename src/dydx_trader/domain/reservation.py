"""Margin reserved by orders whose outcome is not known yet.

While an order is in flight its fill is not in the balance the indexer
reports, so a second signal sized from that balance could spend the same free
collateral. Each accepted order therefore reserves its worst case until it is
settled: the account is valued *as if* every pending order had filled in full
at its worst price and paid its fee. That what-if account carries the extra
initial margin, the larger position and the lower USDC, so every cap
(free collateral, leverage, exposure) sees it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from dydx_trader.domain.account import AccountSnapshot, PerpetualPosition
from dydx_trader.domain.side import Side

_MILLION = Decimal(1_000_000)


@dataclass(frozen=True, slots=True)
class PendingFill:
    """An order's worst case: ``size`` base units on ``side`` at ``price`` USDC,
    paying ``fee_ppm`` of its notional."""

    market: str
    side: Side
    size: Decimal
    price: Decimal
    fee_ppm: int

    @property
    def position_delta(self) -> Decimal:
        """Signed change of the position, base units."""
        return self.size * self.side.sign

    @property
    def usdc_delta(self) -> Decimal:
        """Change of the USDC balance if it fills: pay (or receive) the notional, pay the fee."""
        notional = self.size * self.price
        fee = notional * self.fee_ppm / _MILLION
        return -self.position_delta * self.price - fee


def with_pending_fills(account: AccountSnapshot, pending: Iterable[PendingFill]) -> AccountSnapshot:
    """``account`` as if every pending order had filled in full."""
    pending = tuple(pending)
    if not pending:
        return account
    sizes = {p.market: p.size for p in account.open_positions}
    entries = {p.market: p.entry_price for p in account.open_positions}
    usdc = account.usdc_balance
    for fill in pending:
        sizes[fill.market] = sizes.get(fill.market, Decimal(0)) + fill.position_delta
        entries.setdefault(fill.market, fill.price)
        usdc += fill.usdc_delta
    positions = tuple(
        PerpetualPosition(market, size, entries[market]) for market, size in sizes.items() if size
    )
    # The indexer's own figures describe the account without these fills: drop them,
    # so only the chain-exact what-if is used.
    return AccountSnapshot(
        address=account.address,
        subaccount_number=account.subaccount_number,
        usdc_balance=usdc,
        positions=positions,
        updated_at_height=account.updated_at_height,
        latest_processed_block_height=account.latest_processed_block_height,
    )
