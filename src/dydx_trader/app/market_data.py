"""MarketDataManager: market parameters, oracle prices and candles, kept current.

Markets (parameters and status) are read over REST and refreshed on a TTL, and
follow the ``v4_markets`` stream in between (``trading`` updates and
``oraclePrices``). Candles are backfilled over REST, then follow ``v4_candles``.
Reads are synchronous and refuse rather than return something old:
``StaleMarketData`` when an oracle price is older than ``max_oracle_age_s`` or
the parameters older than ``max_params_age_s``; ``UnknownMarket`` for a ticker
the venue does not list. Ages are measured on the injected clock.

An oracle price's age counts from when the chain made it effective when the
stream says so (``effectiveAt``), and otherwise from when we received it; a
REST read that brings back the very price we already had does not make it any
younger, so an indexer stuck on an old price ages out instead of looking fresh.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType

from dydx_trader.app.ports import CandleReader, Clock, MarketFeed, MarketReader, SystemClock
from dydx_trader.domain.errors import (
    InvalidInput,
    MalformedPayload,
    StaleMarketData,
    UnknownMarket,
    VenueUnavailable,
)
from dydx_trader.domain.market import MarketSpec
from dydx_trader.domain.venue import (
    Candle,
    CandleResolution,
    CandlesSnapshot,
    CandleUpdate,
    MarketEvent,
    MarketPatch,
    MarketsSnapshot,
    OraclePrice,
    OraclePricesUpdate,
)

Series = tuple[str, CandleResolution]


@dataclass(frozen=True, slots=True)
class OracleQuote:
    """An oracle price (USDC per base unit) and its age in seconds when read."""

    ticker: str
    price: Decimal
    age_s: float


class MarketDataManager:
    """Current markets, oracle prices and candle series.

    ``refresh_ttl_s``: how often markets are re-read over REST (seconds);
    ``max_oracle_age_s`` / ``max_params_age_s``: the oldest oracle price /
    parameter set handed out; ``max_candles``: candles kept per series.
    """

    def __init__(
        self,
        reader: MarketReader,
        *,
        candles: CandleReader | None = None,
        feed: MarketFeed | None = None,
        clock: Clock | None = None,
        refresh_ttl_s: float = 15.0,
        max_oracle_age_s: float = 30.0,
        max_params_age_s: float = 120.0,
        max_candles: int = 1000,
    ) -> None:
        for name, value in (
            ("refresh_ttl_s", refresh_ttl_s),
            ("max_oracle_age_s", max_oracle_age_s),
            ("max_params_age_s", max_params_age_s),
        ):
            if not 0 < value <= 3600:
                raise InvalidInput(f"{name} {value} s is outside (0, 3600]", field=name)
        if not 1 <= max_candles <= 100_000:
            raise InvalidInput(f"max_candles {max_candles} is outside 1..100000")
        self._reader = reader
        self._candle_reader = candles
        self._feed = feed
        self._clock: Clock = clock or SystemClock()
        self.refresh_ttl_s = refresh_ttl_s
        self.max_oracle_age_s = max_oracle_age_s
        self.max_params_age_s = max_params_age_s
        self.max_candles = max_candles
        self._specs: dict[str, MarketSpec] = {}
        self._params_at: float | None = None
        self._oracle_at: dict[str, float] = {}
        self._candles: dict[Series, dict[object, Candle]] = {}
        self._inflight: asyncio.Task[None] | None = None
        self.needs_refresh = False
        self.stream_connected = False
        self.last_stream_error: Exception | None = None

    # -- reads (no I/O) ---------------------------------------------------------------

    def markets(self, tickers: Iterable[str] | None = None) -> Mapping[str, MarketSpec]:
        """Every market, or only ``tickers`` with their oracle prices checked fresh."""
        self._require_params_fresh()
        if tickers is None:
            return MappingProxyType(dict(self._specs))
        chosen: dict[str, MarketSpec] = {}
        for ticker in tickers:
            self.oracle_price(ticker)
            chosen[ticker] = self._specs[ticker]
        return MappingProxyType(chosen)

    def market(self, ticker: str) -> MarketSpec:
        """One market's parameters; ``UnknownMarket`` / ``StaleMarketData`` refuse."""
        self._require_params_fresh()
        spec = self._specs.get(ticker)
        if spec is None:
            raise UnknownMarket(f"{ticker} is not a market the venue lists", market=ticker)
        return spec

    def oracle_price(self, ticker: str) -> OracleQuote:
        """The oracle price with its age; refused when older than ``max_oracle_age_s``
        (``StaleMarketData``) or absent (``MarketNotTradable``)."""
        spec = self.market(ticker)
        price = spec.require_oracle_price()
        age = self._clock.monotonic() - self._oracle_at.get(ticker, float("-inf"))
        if age > self.max_oracle_age_s:
            raise StaleMarketData(
                f"oracle price of {ticker} is {age:.1f} s old (at most "
                f"{self.max_oracle_age_s:g} s allowed)",
                market=ticker,
                age_s=f"{age:.3f}",
            )
        return OracleQuote(ticker, price, age)

    def candles(self, ticker: str, resolution: CandleResolution) -> tuple[Candle, ...]:
        """The candle series, oldest first (the newest may be partial)."""
        series = self._candles.get((ticker, CandleResolution(resolution)), {})
        return tuple(sorted(series.values(), key=lambda candle: candle.started_at))

    @property
    def params_age_s(self) -> float | None:
        """Seconds since the parameters were last read in full, ``None`` if never."""
        if self._params_at is None:
            return None
        return self._clock.monotonic() - self._params_at

    def _require_params_fresh(self) -> None:
        age = self.params_age_s
        if age is None:
            raise StaleMarketData("market parameters have not been read yet")
        if age > self.max_params_age_s:
            raise StaleMarketData(
                f"market parameters are {age:.1f} s old (at most {self.max_params_age_s:g} s)",
                age_s=f"{age:.3f}",
            )

    # -- REST -------------------------------------------------------------------------

    async def refresh(self, *, vouched: bool = False) -> None:
        """Read every market over REST (concurrent callers share one read).

        ``vouched``: the caller knows the venue has moved on since the last read
        (a lockstep replay produced blocks), so a price that did not change is
        as fresh as this read, not as old as the first read that saw it."""
        if self._inflight is None:
            self._inflight = asyncio.create_task(self._read_markets(vouched))
            self._inflight.add_done_callback(self._flight_done)
        await asyncio.shield(self._inflight)

    async def ensure_fresh(self) -> None:
        """Refresh when the parameters are older than ``refresh_ttl_s`` or a
        stream update mentioned a market we do not know."""
        age = self.params_age_s
        if age is None or age > self.refresh_ttl_s or self.needs_refresh:
            await self.refresh()

    def _flight_done(self, task: asyncio.Task[None]) -> None:
        if self._inflight is task:
            self._inflight = None
        if not task.cancelled():
            task.exception()

    async def _read_markets(self, vouched: bool = False) -> None:
        started = self._clock.monotonic()
        specs = await self._reader.get_markets()
        if vouched:
            self._oracle_at = {}
        self._replace_all(specs, started)
        self.needs_refresh = False

    async def backfill_candles(
        self, ticker: str, resolution: CandleResolution, *, limit: int | None = None
    ) -> tuple[Candle, ...]:
        """Read recent candles over REST and merge them into the series."""
        if self._candle_reader is None:
            raise InvalidInput("no candle reader configured")
        limit = min(limit or self.max_candles, 1000)
        fetched = await self._candle_reader.get_candles(ticker, resolution, limit=limit)
        self._merge_candles((ticker, CandleResolution(resolution)), fetched)
        return self.candles(ticker, resolution)

    # -- stream events ----------------------------------------------------------------

    def apply(self, event: MarketEvent) -> None:
        """Fold one feed event into the current state."""
        now = self._clock.monotonic()
        if isinstance(event, MarketsSnapshot):
            self._replace_all(event.markets, now)
        elif isinstance(event, MarketPatch):
            spec = self._specs.get(event.ticker)
            if spec is None:
                self.needs_refresh = True  # a new market: read it in full over REST
                return
            self._specs[event.ticker] = event.apply_to(spec)
            if "oracle_price" in event.changes:
                self._oracle_at[event.ticker] = now
        elif isinstance(event, OraclePricesUpdate):
            for quote in event.prices:
                spec = self._specs.get(quote.ticker)
                if spec is None:
                    self.needs_refresh = True
                    continue
                self._specs[quote.ticker] = MarketPatch(
                    quote.ticker, {"oracle_price": quote.price}
                ).apply_to(spec)
                self._oracle_at[quote.ticker] = now - self._effective_lag_s(quote)
        elif isinstance(event, CandlesSnapshot):
            self._merge_candles((event.ticker, event.resolution), event.candles)
        elif isinstance(event, CandleUpdate):
            candle = event.candle
            self._merge_candles((candle.ticker, candle.resolution), (candle,))

    def _effective_lag_s(self, quote: OraclePrice) -> float:
        """How long before its receipt the chain made ``quote`` effective (>= 0)."""
        if quote.effective_at is None:
            return 0.0
        return max(0.0, (self._clock.now() - quote.effective_at).total_seconds())

    def _replace_all(self, specs: Mapping[str, MarketSpec], received_at: float) -> None:
        before, since = self._specs, self._oracle_at
        self._specs = dict(specs)
        self._params_at = received_at
        self._oracle_at = {}
        for ticker, spec in specs.items():
            if spec.oracle_price is None:
                continue
            known = before.get(ticker)
            if known is not None and known.oracle_price == spec.oracle_price and ticker in since:
                self._oracle_at[ticker] = since[ticker]  # the same price is no fresher
            else:
                self._oracle_at[ticker] = received_at

    def _merge_candles(self, key: Series, candles: Sequence[Candle]) -> None:
        series = self._candles.setdefault(key, {})
        for candle in candles:
            series[candle.started_at] = candle
        if len(series) > self.max_candles:
            for started_at in sorted(series, key=lambda k: series[k].started_at)[
                : len(series) - self.max_candles
            ]:
                del series[started_at]

    # -- the live loop ----------------------------------------------------------------

    async def run(
        self,
        candle_series: Sequence[Series] = (),
        *,
        reconnect_min_s: float = 0.5,
        reconnect_max_s: float = 30.0,
    ) -> None:
        """Keep everything current until cancelled: REST read and backfill, then
        the stream; on any venue failure, wait (jittered backoff) and start over.
        Meanwhile the parameters are re-read every ``refresh_ttl_s``."""
        if self._feed is None:
            raise InvalidInput("no market feed configured")
        feed = self._feed
        delay = reconnect_min_s
        async with asyncio.TaskGroup() as group:
            group.create_task(self._refresh_periodically())
            while True:
                try:
                    await self.refresh()
                    for ticker, resolution in candle_series:
                        await self.backfill_candles(ticker, resolution)
                    async for event in feed.events(candle_series):
                        self.stream_connected = True
                        delay = reconnect_min_s
                        self.apply(event)
                except (VenueUnavailable, MalformedPayload) as error:
                    self.last_stream_error = error
                self.stream_connected = False
                await asyncio.sleep(random.uniform(delay / 2, delay))
                delay = min(delay * 2, reconnect_max_s)

    async def _refresh_periodically(self) -> None:
        while True:
            await asyncio.sleep(min(self.refresh_ttl_s, 1.0))
            try:
                await self.ensure_fresh()
            except (VenueUnavailable, MalformedPayload) as error:
                # Reads refuse on their own once the data ages out; keep trying.
                self.last_stream_error = error
