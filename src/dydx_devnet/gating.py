"""Withdrawal and transfer gating (``x/subaccounts``): blocked after a negative-TNC subaccount.

When a subaccount is found with negative total net collateral (a liquidation
that the insurance fund had to cover), the chain blocks withdrawals and
transfers out of that collateral pool for
``WITHDRAWAL_AND_TRANSFERS_BLOCKED_AFTER_NEGATIVE_TNC_SUBACCOUNT_SEEN_BLOCKS``
blocks. A pool is the cross pool (0) or an isolated market's own (its
perpetual id). The chain also blocks them after a chain outage; the devnet's
clock jumps are replay steps, not outages, so that half is always clear.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from dydx_devnet.genesis import ISOLATED
from dydx_devnet.markets import MarketState
from dydx_devnet.subaccounts import Subaccount

BLOCKED_BLOCKS: Final = 50
CROSS_POOL: Final = 0


def collateral_pool(account: Subaccount, markets: Mapping[str, MarketState]) -> int:
    """The pool of ``account``: its isolated market's perpetual id, or the cross pool."""
    for ticker, position in account.positions.items():
        market = markets[ticker]
        if position.quantums != 0 and market.spec.market_type == ISOLATED:
            return market.clob_pair_id
    return CROSS_POOL


def perpetual_pool(perpetual_id: int, markets: Mapping[str, MarketState]) -> int:
    """The pool of a perpetual: its own if isolated, else the cross pool."""
    for market in markets.values():
        if market.clob_pair_id == perpetual_id:
            return perpetual_id if market.spec.market_type == ISOLATED else CROSS_POOL
    return CROSS_POOL


def unblocked_at(seen: Mapping[int, int], pool: int) -> int:
    """The first height at which ``pool`` accepts withdrawals again (0 = never blocked)."""
    height = seen.get(pool)
    return 0 if height is None else height + BLOCKED_BLOCKS


def is_blocked(seen: Mapping[int, int], pool: int, height: int) -> bool:
    """Whether withdrawals and transfers out of ``pool`` are blocked at ``height``."""
    return height < unblocked_at(seen, pool)
