"""BalanceManager: the one owner of a subaccount's balance snapshot.

Every trade is sized from the snapshot this returns, so it only returns one it
can prove fresh:

* fetched within the TTL (monotonic clock; default 5 s, 1-60 s allowed);
* no fill or transfer of the account since the fetch began;
* the indexer no more than ``max_indexer_lag_blocks`` behind the chain
  (``latestProcessedBlockHeight`` against the node's latest height) and past
  the height of every fill we were told about and of every settlement that
  released a reservation (:meth:`BalanceManager.require_height`).

Otherwise it fetches again, and if that fails it refuses with
:class:`StaleAccountData` (never an old balance). Concurrent callers share one
fetch (single flight). Free collateral is recomputed locally with the
open-interest-scaled IMF (the indexer's figure uses the base IMF), or the
subaccount's own leverage setting where it is higher, and the most
conservative view is the one exposed for sizing. The account's terms on the
chain (leverage settings, fee tier: :mod:`~dydx_trader.app.account_terms`)
are read alongside, at most once per their TTL, and carried in the snapshot.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from dydx_trader.app.account_terms import AccountTermsCache
from dydx_trader.app.balance_snapshot import NO_TERMS, BalanceSnapshot
from dydx_trader.app.metrics import NoMetrics, TraderMetrics
from dydx_trader.app.ports import (
    AccountFeed,
    AccountReader,
    ChainHeightReader,
    MarketSource,
    MonotonicClock,
    SystemClock,
)
from dydx_trader.domain.account import AccountSnapshot
from dydx_trader.domain.account_terms import AccountTerms
from dydx_trader.domain.errors import (
    InvalidInput,
    MalformedPayload,
    StaleAccountData,
    VenueUnavailable,
)
from dydx_trader.domain.margin import assess
from dydx_trader.domain.market import MarketSpec
from dydx_trader.domain.venue import IndexerFill, SubaccountUpdate

DEFAULT_TTL_S = 5.0
MIN_TTL_S = 1.0
MAX_TTL_S = 60.0
DEFAULT_MAX_INDEXER_LAG_BLOCKS = 10
_MAX_ROUNDS = 3  # fetches per refresh when the account keeps changing under it


@dataclass(frozen=True, slots=True)
class _Entry:
    snapshot: BalanceSnapshot
    generation: int


class BalanceManager:
    """Owns one subaccount's snapshot; see the module docstring for the rules.

    ``ttl_s`` seconds (1-60); ``max_indexer_lag_blocks`` >= 0;
    ``fetch_timeout_s`` bounds one whole refresh (seconds). ``terms`` reads the
    account's terms on the chain (without it: none set, the standard fee tier).
    """

    def __init__(
        self,
        accounts: AccountReader,
        chain: ChainHeightReader,
        markets: MarketSource,
        *,
        address: str,
        subaccount_number: int = 0,
        ttl_s: float = DEFAULT_TTL_S,
        max_indexer_lag_blocks: int = DEFAULT_MAX_INDEXER_LAG_BLOCKS,
        fetch_timeout_s: float = 20.0,
        clock: MonotonicClock | None = None,
        metrics: TraderMetrics | None = None,
        terms: AccountTermsCache | None = None,
    ) -> None:
        if (
            isinstance(ttl_s, bool)
            or not isinstance(ttl_s, int | float)
            or not (MIN_TTL_S <= ttl_s <= MAX_TTL_S)
        ):
            raise InvalidInput(
                f"balance TTL {ttl_s!r} s is outside {MIN_TTL_S:g}-{MAX_TTL_S:g} s", field="ttl_s"
            )
        if (
            isinstance(max_indexer_lag_blocks, bool)
            or not isinstance(max_indexer_lag_blocks, int)
            or max_indexer_lag_blocks < 0
        ):
            raise InvalidInput(
                f"max indexer lag {max_indexer_lag_blocks!r} must be a whole number of blocks >= 0",
                field="max_indexer_lag_blocks",
            )
        if not 0 < fetch_timeout_s <= 300:
            raise InvalidInput(f"fetch timeout {fetch_timeout_s} s is outside (0, 300]")
        self._accounts = accounts
        self._chain = chain
        self._markets = markets
        self._terms = terms
        self.address = address
        self.subaccount_number = subaccount_number
        self.ttl_s = float(ttl_s)
        self.max_indexer_lag_blocks = max_indexer_lag_blocks
        self._fetch_timeout_s = fetch_timeout_s
        self._clock: MonotonicClock = clock or SystemClock()
        self._entry: _Entry | None = None
        self._inflight: asyncio.Task[BalanceSnapshot] | None = None
        # Bumped by every event that may have changed the account.
        self._generation = 0
        # The indexer must have processed at least this height (the latest fill
        # or settlement we were told about).
        self._min_height = 0
        self.fetches = 0
        self.last_invalidation: str | None = None
        self.stream_connected = False
        self.last_stream_error: Exception | None = None
        self._listeners: list[Callable[[SubaccountUpdate], None]] = []
        self._metrics: TraderMetrics = metrics or NoMetrics()
        # How far the indexer trailed the node at the last fetch that measured it.
        self.last_indexer_lag_blocks: int | None = None

    @property
    def name(self) -> str:
        return f"{self.address}/{self.subaccount_number}"

    # -- queries --------------------------------------------------------------------

    async def get_snapshot(self) -> BalanceSnapshot:
        """A snapshot proven fresh, from cache or one shared fetch.

        Raises :class:`StaleAccountData` when freshness cannot be proven
        (indexer unreachable, lagging, malformed, or the account kept changing),
        ``SubaccountNotFound`` for an unfunded subaccount, and
        ``StaleMarketData``/``UnknownMarket`` when the local margin figures
        cannot be computed.
        """
        cached = self.cached()
        self._metrics.balance_read(cached=cached is not None)
        if cached is not None:
            return cached
        if self._inflight is None:
            self._inflight = asyncio.create_task(self._refresh())
            self._inflight.add_done_callback(self._flight_done)
        # Shielded: a caller giving up must not cancel the fetch others await.
        return await asyncio.shield(self._inflight)

    @property
    def terms(self) -> AccountTerms | None:
        """The account's terms as last read (however old), ``None`` before the first."""
        return NO_TERMS if self._terms is None else self._terms.last

    async def load_terms(self) -> AccountTerms:
        """Read the account's terms now (at start), unless read within their TTL.

        Raises ``VenueUnavailable`` or ``MalformedPayload`` when the node cannot tell.
        """
        return await self._read_terms()

    def cached(self) -> BalanceSnapshot | None:
        """The cached snapshot if it is still fresh, else ``None`` (no I/O)."""
        entry = self._entry
        if entry is None or entry.generation != self._generation:
            return None
        if self._clock.monotonic() - entry.snapshot.fetched_at > self.ttl_s:
            return None
        return entry.snapshot

    # -- invalidation ---------------------------------------------------------------

    def invalidate(self, reason: str) -> None:
        """Drop the cached snapshot (own order placed/cancelled, transfer, ...)."""
        self._generation += 1
        self.last_invalidation = reason

    def on_fill(self, fill: IndexerFill) -> None:
        """A fill of this account (ours or not): refresh, and require the indexer
        past its height."""
        self.require_height(
            fill.created_at_height, f"fill {fill.fill_id} at height {fill.created_at_height}"
        )

    def require_height(self, height: int, reason: str | None = None) -> None:
        """Drop the cache; no snapshot is served until the indexer has processed
        ``height`` (a block): call it when a settlement releases a reservation,
        with the height it settled at, so the next balance includes its outcome.
        Until then :meth:`get_snapshot` refetches and refuses with
        :class:`StaleAccountData`."""
        if isinstance(height, bool) or not isinstance(height, int) or height < 0:
            raise InvalidInput(f"required height {height!r} is not a block height")
        self._min_height = max(self._min_height, height)
        self.invalidate(reason or f"settled at height {height}")

    def add_listener(self, listener: Callable[[SubaccountUpdate], None]) -> None:
        """Also hand every live account update to ``listener`` (the executor wakes
        its settlements on them instead of waiting for its next poll)."""
        self._listeners.append(listener)

    def on_subaccount_update(self, update: SubaccountUpdate) -> None:
        """A ``v4_subaccounts`` update: fills and transfers invalidate; order changes
        alone do not (a resting order holds no collateral on dYdX v4, our own orders
        in flight are reserved, and a burst's placements would refetch per decision)."""
        for listener in self._listeners:
            listener(update)
        for fill in update.fills:
            self.on_fill(fill)
        if update.has_transfer:
            self.invalidate("transfer")

    # -- the live account stream ---------------------------------------------------------

    async def follow(
        self,
        feed: AccountFeed,
        *,
        reconnect_min_s: float = 0.5,
        reconnect_max_s: float = 30.0,
    ) -> None:
        """Apply the account's live updates until cancelled (run it as a task).

        Every connect and every drop invalidates the cache: updates may have been
        missed in between. A lost stream is retried with jittered backoff; the
        TTL still bounds how old a served snapshot can be meanwhile.
        """
        delay = reconnect_min_s
        while True:
            self.invalidate("account stream (re)connecting")
            try:
                async for update in feed.account_events(self.address, self.subaccount_number):
                    self.stream_connected = True
                    delay = reconnect_min_s
                    self.on_subaccount_update(update)
            except (VenueUnavailable, MalformedPayload) as error:
                self.last_stream_error = error
            self.stream_connected = False
            self.invalidate("account stream lost")
            await asyncio.sleep(random.uniform(delay / 2, delay))
            delay = min(delay * 2, reconnect_max_s)

    # -- the fetch -------------------------------------------------------------------

    def _flight_done(self, task: asyncio.Task[BalanceSnapshot]) -> None:
        if self._inflight is task:
            self._inflight = None
        if not task.cancelled():
            task.exception()  # retrieved here so an unawaited failure is not logged as lost

    async def _refresh(self) -> BalanceSnapshot:
        try:
            async with asyncio.timeout(self._fetch_timeout_s):
                for _ in range(_MAX_ROUNDS):
                    generation = self._generation
                    snapshot = await self._fetch_once()
                    if generation == self._generation:
                        self._entry = _Entry(snapshot, generation)
                        return snapshot
        except TimeoutError:
            raise StaleAccountData(
                f"balance of {self.name} could not be fetched within {self._fetch_timeout_s:g} s"
            ) from None
        raise StaleAccountData(
            f"balance of {self.name} kept changing during {_MAX_ROUNDS} fetches "
            f"(last: {self.last_invalidation}); retry shortly"
        )

    async def _fetch_once(self) -> BalanceSnapshot:
        started = self._clock.monotonic()
        self.fetches += 1
        self._metrics.balance_fetched()
        # Both reads at once; the first failure cancels the other.
        account_task = asyncio.create_task(
            self._accounts.get_account(self.address, self.subaccount_number)
        )
        height_task = asyncio.create_task(self._chain.latest_block_height())
        terms_task = asyncio.create_task(self._read_terms())
        try:
            account, chain_height, terms = await asyncio.gather(
                account_task, height_task, terms_task
            )
        except (VenueUnavailable, MalformedPayload) as cause:
            raise StaleAccountData(
                f"balance of {self.name} cannot be proven fresh: {cause}", cause=cause.code
            ) from cause
        finally:
            account_task.cancel()
            height_task.cancel()
            terms_task.cancel()
        took = self._clock.monotonic() - started
        if took > self.ttl_s:
            # The answer describes the account as of somewhere in that window.
            raise StaleAccountData(
                f"balance of {self.name} took {took:.1f} s to fetch, longer than its "
                f"{self.ttl_s:g} s TTL",
                took_s=f"{took:.3f}",
            )
        self._check_fresh(account, chain_height)
        markets = self._position_markets(account)
        risk = assess(account, markets, custom_imf_ppm=terms.custom_imf_ppm)
        return BalanceSnapshot(account, risk, chain_height, started, terms)

    async def _read_terms(self) -> AccountTerms:
        return NO_TERMS if self._terms is None else await self._terms.terms()

    def _check_fresh(self, account: AccountSnapshot, chain_height: int) -> None:
        if (account.address, account.subaccount_number) != (self.address, self.subaccount_number):
            raise StaleAccountData(
                f"indexer answered for {account.address}/{account.subaccount_number}, "
                f"not {self.name}"
            )
        indexer_height = account.latest_processed_block_height
        lag = chain_height - indexer_height
        self.last_indexer_lag_blocks = max(lag, 0)
        if lag > self.max_indexer_lag_blocks:
            raise StaleAccountData(
                f"indexer is {lag} blocks behind the chain (height {indexer_height} vs "
                f"{chain_height}, at most {self.max_indexer_lag_blocks} allowed); "
                f"balance of {self.name} not trusted",
                lag_blocks=lag,
                indexer_height=indexer_height,
                chain_height=chain_height,
            )
        if indexer_height < self._min_height:
            raise StaleAccountData(
                f"indexer has processed height {indexer_height}, not yet our fill or "
                f"settlement at {self._min_height}; balance of {self.name} not trusted",
                indexer_height=indexer_height,
                fill_height=self._min_height,
            )

    def _position_markets(self, account: AccountSnapshot) -> Mapping[str, MarketSpec]:
        if not account.open_positions:
            return {}  # a flat account needs no market data
        return self._markets.markets(p.market for p in account.open_positions)
