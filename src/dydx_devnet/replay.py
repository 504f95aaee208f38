"""Oracle prices: a replay of bundled hourly candles, or a seeded random walk.

Replay: the devnet's chain clock is the historical market clock, shifted by a
whole number of days on a timer clock (so hour and day boundaries line up with
the data) and not at all on a manual one (:mod:`dydx_devnet.replay_window`). Inside
one hourly candle the price follows a deterministic piecewise-linear path
``open -> first extreme -> second extreme -> close``; which extreme comes first
and when are drawn from a generator seeded by (seed, ticker, hour). Over a
whole hour the path's open, high, low and close are the candle's own.

Markets without bundled candles take a geometric random walk from their real
oracle price, seeded per market.

All times are integer milliseconds since the Unix epoch; prices are integers
``value x 10^exponent``.
"""

from __future__ import annotations

import csv
import io
import itertools
import math
import random
from bisect import bisect_right
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dydx_devnet.replay_window import ReplayWindow

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS


def to_ms(moment: datetime) -> int:
    """Milliseconds since the epoch of an aware datetime."""
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // _ONE_MS


_ONE_MS = datetime(1970, 1, 1, 0, 0, 0, 1000, tzinfo=UTC) - datetime(1970, 1, 1, tzinfo=UTC)


def from_ms(ms: int) -> datetime:
    """An aware UTC datetime for milliseconds since the epoch (exact)."""
    return datetime(1970, 1, 1, tzinfo=UTC) + ms * _ONE_MS


@dataclass(frozen=True, slots=True)
class HourlyCandle:
    """One bundled candle: ``started_ms`` its open time; prices USDC, volume base units."""

    started_ms: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    base_volume: Decimal


@lru_cache(maxsize=16)
def load_hourly(ticker: str) -> tuple[HourlyCandle, ...]:
    """The bundled hourly candles of ``ticker``, oldest first (cached)."""
    name = f"{ticker}-1HOUR.csv"
    text = resources.files("dydx_devnet").joinpath("data", name).read_text(encoding="utf-8")
    rows = []
    for row in csv.DictReader(io.StringIO(text)):
        started = datetime.strptime(row["started_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        rows.append(
            HourlyCandle(
                started_ms=to_ms(started),
                open=Decimal(row["open"]),
                high=Decimal(row["high"]),
                low=Decimal(row["low"]),
                close=Decimal(row["close"]),
                base_volume=Decimal(row["base_volume"]),
            )
        )
    return tuple(rows)


def _value(price: Decimal, exponent: int) -> int:
    return max(1, int(price.scaleb(-exponent).to_integral_value()))


class PricePath:
    """The replayed price of one market, as a function of *data* time (ms).

    ``exponent`` fixes the oracle integer scale. Before the first candle the
    path holds the first open; after the last it holds the last close.
    """

    def __init__(self, ticker: str, exponent: int, seed: int) -> None:
        self.ticker = ticker
        self.exponent = exponent
        self._seed = seed
        self.candles = load_hourly(ticker)
        self._starts = [c.started_ms for c in self.candles]
        self._vertex_cache: dict[int, tuple[tuple[int, int], ...]] = {}

    @property
    def first_ms(self) -> int:
        return self._starts[0]

    @property
    def end_ms(self) -> int:
        """End of the last candle (data time)."""
        return self._starts[-1] + HOUR_MS

    def index_at(self, data_ms: int) -> int:
        """Index of the candle covering ``data_ms`` (clamped to the data)."""
        index = bisect_right(self._starts, data_ms) - 1
        return min(max(index, 0), len(self._starts) - 1)

    def vertices(self, index: int) -> tuple[tuple[int, int], ...]:
        """``(offset_ms, value)`` corners of the path inside candle ``index``."""
        cached = self._vertex_cache.get(index)
        if cached is not None:
            return cached
        candle = self.candles[index]
        rng = random.Random(f"{self._seed}:{self.ticker}:{index}")
        high, low = _value(candle.high, self.exponent), _value(candle.low, self.exponent)
        first, second = (high, low) if rng.random() < 0.5 else (low, high)
        # A bullish candle reaches its low first more often, a bearish one its high.
        if candle.close > candle.open and rng.random() < 0.3:
            first, second = low, high
        elif candle.close < candle.open and rng.random() < 0.3:
            first, second = high, low
        t1 = rng.randint(HOUR_MS // 10, HOUR_MS * 45 // 100)
        t2 = rng.randint(HOUR_MS * 55 // 100, HOUR_MS * 9 // 10)
        corners = (
            (0, _value(candle.open, self.exponent)),
            (t1, first),
            (t2, second),
            (HOUR_MS, _value(candle.close, self.exponent)),
        )
        if len(self._vertex_cache) > 4096:
            self._vertex_cache.clear()
        self._vertex_cache[index] = corners
        return corners

    def value_at(self, data_ms: int, *, closing: bool = False) -> int:
        """Oracle integer at ``data_ms`` (data time).

        At a candle boundary the path jumps from one candle's close to the
        next one's open; ``closing`` asks for the close (the limit from before).
        """
        if data_ms <= self._starts[0]:
            return _value(self.candles[0].open, self.exponent)
        if data_ms >= self.end_ms:
            return _value(self.candles[-1].close, self.exponent)
        index = self.index_at(data_ms)
        if closing and self._starts[index] == data_ms:
            return _value(self.candles[index - 1].close, self.exponent)
        offset = data_ms - self._starts[index]
        corners = self.vertices(index)
        for (ta, va), (tb, vb) in itertools.pairwise(corners):
            if offset <= tb:
                return va + (vb - va) * (offset - ta) // (tb - ta)
        return corners[-1][1]  # pragma: no cover - offset <= HOUR_MS always

    def ohlc(self, start_ms: int, end_ms: int) -> tuple[int, int, int, int]:
        """(open, high, low, close) integers of the path over ``[start_ms, end_ms]``."""
        open_value = self.value_at(start_ms)
        close_value = self.value_at(end_ms, closing=end_ms > start_ms)
        high = max(open_value, close_value)
        low = min(open_value, close_value)
        index = self.index_at(start_ms)
        while index < len(self.candles) and self._starts[index] < end_ms:
            base = self._starts[index]
            if start_ms <= base and base + HOUR_MS <= end_ms:
                candle = self.candles[index]  # a whole hour inside: the candle's own range
                high = max(high, _value(candle.high, self.exponent))
                low = min(low, _value(candle.low, self.exponent))
            else:
                for offset, value in self.vertices(index):
                    if start_ms < base + offset < end_ms:
                        high, low = max(high, value), min(low, value)
            index += 1
        return open_value, high, low, close_value

    def base_volume(self, start_ms: int, end_ms: int) -> Decimal:
        """The data's base volume over ``[start_ms, end_ms)``, prorated inside hours."""
        total = Decimal(0)
        index = self.index_at(start_ms)
        while index < len(self.candles) and self._starts[index] < end_ms:
            base = self._starts[index]
            overlap = min(end_ms, base + HOUR_MS) - max(start_ms, base)
            if overlap > 0:
                total += self.candles[index].base_volume * overlap / HOUR_MS
            index += 1
        return total


class RandomWalk:
    """A seeded geometric random walk of one oracle integer.

    ``hourly_vol_ppm`` is the standard deviation of one hour's return, ppm.
    """

    def __init__(self, ticker: str, start_value: int, seed: int, hourly_vol_ppm: int) -> None:
        self._rng = random.Random(f"{seed}:{ticker}:walk")
        self.value = start_value
        self._hourly_vol_ppm = hourly_vol_ppm

    def step(self, elapsed_ms: int) -> int:
        """Advance by ``elapsed_ms`` of market time; return the new value."""
        if elapsed_ms <= 0:
            return self.value
        sigma_ppm = self._hourly_vol_ppm * math.sqrt(elapsed_ms / HOUR_MS)
        # The float draw only picks a shock; the price itself stays an integer.
        shock_ppm = round(self._rng.gauss(0.0, sigma_ppm))
        shock_ppm = max(-200_000, min(200_000, shock_ppm))
        self.value = max(1, self.value * (1_000_000 + shock_ppm) // 1_000_000)
        return self.value


class OracleReplay:
    """Oracle integers for every market at a chain time.

    ``paths`` are the markets with bundled candles, replayed through
    ``window`` (chain time = data time + ``window.shift_ms``); ``walked`` maps
    the others to their start value. Prices are pure functions of chain time
    for replayed markets and a seeded walk (one step per call) for the rest.
    """

    def __init__(
        self,
        paths: dict[str, PricePath],
        walked: dict[str, int],
        window: ReplayWindow,
        *,
        seed: int,
        hourly_vol_ppm: int,
    ) -> None:
        self.paths = paths
        self.window = window
        self.walks = {t: RandomWalk(t, value, seed, hourly_vol_ppm) for t, value in walked.items()}
        self._last_ms = window.start_ms

    @property
    def shift_ms(self) -> int:
        """Chain time minus data time (whole days on a timer clock, 0 on a manual one)."""
        return self.window.shift_ms

    def prices_at(self, chain_ms: int) -> dict[str, int]:
        """Every market's oracle integer at ``chain_ms`` (walks step from the last call)."""
        prices: dict[str, int] = {}
        data_ms = chain_ms - self.window.shift_ms
        for ticker, path in self.paths.items():
            prices[ticker] = path.value_at(data_ms)
        elapsed = chain_ms - self._last_ms
        for ticker, walk in self.walks.items():
            prices[ticker] = walk.step(elapsed)
        self._last_ms = chain_ms
        return prices

    def finished(self, chain_ms: int) -> bool:
        """Whether the replay window is over (never, without replayed markets)."""
        return self.window.end_ms is not None and chain_ms >= self.window.end_ms
