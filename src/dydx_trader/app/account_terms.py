"""The subaccount's terms on the chain (leverage settings, fee tier), read once per TTL.

A leverage setting (``MsgUpdateLeverage``) or a fee tier lives on the chain,
not on the indexer, and changes rarely: a person sets leverage in the web app,
a tier moves with 30-day volume. :class:`AccountTermsCache` reads both from the
node together, at start and again once its TTL (the balance's) has passed, and
hands the :class:`~dydx_trader.domain.account_terms.AccountTerms` to the
:class:`~dydx_trader.app.balance.BalanceManager`, which carries them in every
snapshot: no decision waits on the chain for them.

The chain keys a setting by clob pair id; the terms key it by ticker (the
markets' ``clobPairId``). A configured fee override (``execution.taker_fee_ppm``
and ``maker_fee_ppm``) replaces the chain's tier, and the tier is then not read.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

from dydx_trader.app.ports import AccountTermsReader, MarketSource, MonotonicClock, SystemClock
from dydx_trader.domain.account import Subaccount
from dydx_trader.domain.account_terms import AccountTerms, FeeTier
from dydx_trader.domain.errors import InvalidInput, MalformedPayload

log = logging.getLogger(__name__)


class AccountTermsCache:
    """``owner``'s :class:`AccountTerms`, read from ``node`` at most once per
    ``ttl_s`` seconds (on ``clock``); ``fee_override`` replaces the chain's tier."""

    def __init__(
        self,
        node: AccountTermsReader,
        markets: MarketSource,
        owner: Subaccount,
        fee_override: FeeTier | None = None,
        *,
        ttl_s: float,
        clock: MonotonicClock | None = None,
    ) -> None:
        if not 0 < ttl_s < float("inf"):
            raise InvalidInput(f"account terms TTL {ttl_s!r} s must be a positive number")
        self._node = node
        self._markets = markets
        self.address = owner.address
        self.subaccount_number = owner.number
        self.ttl_s = ttl_s
        self._clock: MonotonicClock = clock or SystemClock()
        self._fee_override = fee_override
        self._terms: AccountTerms | None = None
        self._read_at = float("-inf")
        self._inflight: asyncio.Task[AccountTerms] | None = None

    @property
    def last(self) -> AccountTerms | None:
        """The terms last read (however old), ``None`` before the first read."""
        return self._terms

    async def terms(self) -> AccountTerms:
        """The terms, from the cache while younger than the TTL, else read (one
        read shared by concurrent callers). Raises ``VenueUnavailable`` or
        ``MalformedPayload`` when the node cannot tell, and the market source's
        refusal when the markets cannot be trusted."""
        if self._terms is not None and self._clock.monotonic() - self._read_at <= self.ttl_s:
            return self._terms
        if self._inflight is None:
            self._inflight = asyncio.create_task(self._read())
            self._inflight.add_done_callback(self._done)
        return await asyncio.shield(self._inflight)

    def _done(self, task: asyncio.Task[AccountTerms]) -> None:
        if self._inflight is task:
            self._inflight = None
        if not task.cancelled():
            task.exception()  # retrieved: a failure is the awaiting caller's to report

    async def _read(self) -> AccountTerms:
        started = self._clock.monotonic()
        leverage = self._node.subaccount_leverage(self.address, self.subaccount_number)
        if self._fee_override is not None:
            settings, fee_tier = await leverage, self._fee_override
        else:
            settings, fee_tier = await asyncio.gather(
                leverage, self._node.user_fee_tier(self.address)
            )
        try:
            terms = AccountTerms(self._by_ticker(settings), fee_tier)
        except InvalidInput as error:
            raise MalformedPayload(f"account terms from the node: {error}") from None
        if self._terms is None or terms != self._terms:
            log.info("%s/%s on the chain: %s", self.address, self.subaccount_number,
                     describe_terms(terms))  # fmt: skip
        self._terms, self._read_at = terms, started
        return terms

    def _by_ticker(self, settings: Mapping[int, int]) -> dict[str, int]:
        if not settings:
            return {}
        tickers = {spec.clob_pair_id: ticker for ticker, spec in self._markets.markets().items()}
        by_ticker: dict[str, int] = {}
        for clob_pair_id, ppm in settings.items():
            ticker = tickers.get(clob_pair_id)
            if ticker is None:
                # A setting in a market the indexer does not list: nothing here trades it.
                log.debug("leverage setting for unlisted clob pair %s ignored", clob_pair_id)
                continue
            by_ticker[ticker] = ppm
        return by_ticker


def describe_terms(terms: AccountTerms) -> str:
    """``fee tier 1 (chain): taker 500 ppm, maker 100 ppm; leverage set: ETH-USD 5x``."""
    text = f"fee {terms.fee_tier.describe()}"
    if terms.custom_imf_ppm:
        settings = ", ".join(
            f"{ticker} {terms.leverage(ticker):.4g}x" for ticker in sorted(terms.custom_imf_ppm)
        )
        return f"{text}; leverage set: {settings}"
    return f"{text}; no leverage set"
