"""The second composition root: read-only views for the command line (balance, markets).

Nothing here can sign. :func:`build_reader` wires the markets (with their
statistics) and, given an address, that subaccount's balance, from a network
profile; :mod:`dydx_trader.bootstrap` re-exports both names.
"""

from __future__ import annotations

from dataclasses import dataclass

from dydx_trader.adapters.dydx.market_stats import MarketStatsIndexer
from dydx_trader.adapters.dydx.network import NetworkProfile
from dydx_trader.adapters.dydx.node import NodeGateway
from dydx_trader.adapters.dydx.retry import RetryPolicy
from dydx_trader.app.account_terms import AccountTermsCache
from dydx_trader.app.balance import BalanceManager
from dydx_trader.app.market_data import MarketDataManager
from dydx_trader.config import Settings
from dydx_trader.domain.account import Subaccount

__all__ = ("Reader", "build_reader")


@dataclass
class Reader:
    """Read-only views of one network: the markets (with their stats) and, when
    built with an address, that subaccount's balance and its terms on the chain
    (leverage settings, fee tier). Nothing here can sign.
    Close it (``async with``) to release the connections."""

    indexer: MarketStatsIndexer
    market_data: MarketDataManager
    balance: BalanceManager | None = None
    node: NodeGateway | None = None
    terms: AccountTermsCache | None = None

    async def close(self) -> None:
        """Close the node channel and the indexer's connection pool."""
        if self.node is not None:
            await self.node.close()
        await self.indexer.close()

    async def __aenter__(self) -> Reader:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


async def build_reader(
    settings: Settings,
    profile: NetworkProfile,
    *,
    address: str | None = None,
    subaccount_number: int | None = None,
    timeout_s: float = 5.0,
) -> Reader:
    """Wire the read-only views of ``profile``: markets always, the balance of
    ``address`` when one is given (it also connects to the node, for the chain's
    height). ``timeout_s`` bounds each venue call (seconds); a read is retried
    once."""
    retry = RetryPolicy(
        max_attempts=2, max_total_s=timeout_s * 2, base_delay_s=0.2, max_delay_s=1.0
    )
    indexer = MarketStatsIndexer(profile.indexer_url, timeout_s=timeout_s, retry=retry)
    market_data = MarketDataManager(
        indexer,
        refresh_ttl_s=settings.ttl.market_ttl_s,
        max_oracle_age_s=settings.ttl.max_oracle_age_s,
    )
    if address is None:
        return Reader(indexer, market_data)
    try:
        node = await NodeGateway.connect(profile, timeout_s=timeout_s, retry=retry)
    except BaseException:
        await indexer.close()
        raise
    number = settings.account.subaccount_number if subaccount_number is None else subaccount_number
    fees, ttl_s = settings.execution.fee_override(), settings.ttl.balance_ttl_s
    terms = AccountTermsCache(node, market_data, Subaccount(address, number), fees, ttl_s=ttl_s)
    balance = BalanceManager(
        indexer,
        node,
        market_data,
        address=address,
        subaccount_number=number,
        ttl_s=ttl_s,
        max_indexer_lag_blocks=settings.ttl.max_indexer_lag_blocks,
        fetch_timeout_s=timeout_s * 4,
        terms=terms,
    )
    return Reader(indexer, market_data, balance, node, terms)
