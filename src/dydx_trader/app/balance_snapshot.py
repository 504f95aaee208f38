"""A balance snapshot: the account as the indexer reported it, valued in the
chain's integers, with the chain height it was read at and the account's terms."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from dydx_trader.domain.account import AccountSnapshot, PerpetualPosition
from dydx_trader.domain.account_terms import AccountTerms
from dydx_trader.domain.margin import AccountRisk

NO_TERMS = AccountTerms()  # no leverage setting, the standard fee tier


@dataclass(frozen=True, slots=True)
class BalanceSnapshot:
    """A subaccount's balance, proven fresh when handed out.

    USDC amounts are ``Decimal``. ``free_collateral`` is the most conservative
    of the chain-exact local figure (OI-scaled IMF), the indexer formula and
    the indexer's reported value: size trades from it. ``fetched_at`` is the
    monotonic time (seconds) the fetch *started*; heights are block heights.
    ``terms`` are the subaccount's leverage settings and fee tier on the chain.
    """

    account: AccountSnapshot
    risk: AccountRisk
    chain_height: int
    fetched_at: float
    terms: AccountTerms = NO_TERMS

    @property
    def equity(self) -> Decimal:
        """Net collateral at oracle prices (chain-exact), USDC."""
        return self.risk.equity

    @property
    def free_collateral(self) -> Decimal:
        """The free collateral to size from: the smallest view, USDC."""
        return self.risk.sizing_free_collateral

    @property
    def local_free_collateral(self) -> Decimal:
        """``NC - IMR`` with the open-interest-scaled IMF, USDC."""
        return self.risk.free_collateral

    @property
    def indexer_free_collateral(self) -> Decimal | None:
        """The ``freeCollateral`` the indexer reported (base IMF), USDC."""
        return self.account.indexer_free_collateral

    @property
    def indexer_equity(self) -> Decimal | None:
        """The ``equity`` the indexer reported, USDC."""
        return self.account.indexer_equity

    @property
    def usdc_balance(self) -> Decimal:
        """Signed USDC (negative = borrowed against positions)."""
        return self.account.usdc_balance

    @property
    def positions(self) -> tuple[PerpetualPosition, ...]:
        return self.account.open_positions

    @property
    def indexer_lag_blocks(self) -> int:
        """How many blocks the indexer was behind the node when fetched (>= 0)."""
        return max(self.chain_height - self.account.latest_processed_block_height, 0)
