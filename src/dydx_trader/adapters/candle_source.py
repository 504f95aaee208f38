"""Where ``scan`` gets candles: CSV files in a directory, or the indexer.

Both give each market's recent candles as a :class:`Candles` series, oldest
first. The CSV format is the one of the bundled market data
(``started_at,open,high,low,close,base_volume``; files ``<TICKER>-<RES>.csv``).
"""

from __future__ import annotations

import asyncio
from importlib.resources.abc import Traversable
from typing import Protocol

from dydx_trader.app.ports import CandleReader, MarketReader
from dydx_trader.domain.errors import InvalidInput, UnknownMarket
from dydx_trader.domain.market import MarketStatus
from dydx_trader.domain.venue import CandleResolution
from dydx_trader.strategies.candles import Candles

MAX_INDEXER_LIMIT = 1000


class CandleSource(Protocol):
    """Recent candles per market."""

    async def tickers(self) -> list[str]:
        """The markets this source has candles for, sorted."""
        ...

    async def candles(self, ticker: str, limit: int) -> Candles:
        """The newest ``limit`` candles of ``ticker``, oldest first."""
        ...


class CsvCandleSource:
    """Candles from ``<TICKER>-<RESOLUTION>.csv`` files in ``directory``
    (a path or a package resource directory)."""

    def __init__(
        self, directory: Traversable, resolution: CandleResolution = CandleResolution.ONE_HOUR
    ) -> None:
        if not directory.is_dir():
            raise InvalidInput(f"candles directory {directory} does not exist")
        self._directory = directory
        self._suffix = f"-{resolution.value}.csv"

    async def tickers(self) -> list[str]:
        return sorted(
            entry.name.removesuffix(self._suffix)
            for entry in self._directory.iterdir()
            if entry.name.endswith(self._suffix)
        )

    async def candles(self, ticker: str, limit: int) -> Candles:
        _check_limit(limit)
        entry = self._directory / f"{ticker}{self._suffix}"
        if not entry.is_file():
            raise UnknownMarket(f"no candle file for {ticker} in {self._directory}", market=ticker)
        text = await asyncio.to_thread(entry.read_text, "utf-8")
        return Candles.from_csv_text(text, source=entry.name).tail(limit)


class _VenueReader(MarketReader, CandleReader, Protocol):
    """An indexer gateway: markets and candles."""


class IndexerCandleSource:
    """Candles from the indexer (through the dYdX adapter's gateway), ACTIVE markets only."""

    def __init__(
        self,
        reader: _VenueReader,
        resolution: CandleResolution = CandleResolution.ONE_HOUR,
        *,
        concurrency: int = 8,
    ) -> None:
        self._reader = reader
        self._resolution = resolution
        self._slots = asyncio.Semaphore(concurrency)

    async def tickers(self) -> list[str]:
        markets = await self._reader.get_markets()
        return sorted(t for t, spec in markets.items() if spec.status is MarketStatus.ACTIVE)

    async def candles(self, ticker: str, limit: int) -> Candles:
        _check_limit(limit)
        async with self._slots:
            rows = await self._reader.get_candles(
                ticker, self._resolution, limit=min(limit, MAX_INDEXER_LIMIT)
            )
        return Candles.from_candles(rows)


def _check_limit(limit: int) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 100_000:
        raise InvalidInput(f"candle limit {limit!r} must be an integer in [1, 100000]")
