"""The ATR a volatility-target sizing policy needs, read from the market data.

The average true range of a market is TA-Lib's ATR over its closed candles
(the newest candle is still forming and is left out). The series is the one
the market's strategies read (``resolutions``), one hour otherwise; when the
market data holds too few candles, they are backfilled over REST first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Final, Protocol

from dydx_trader.domain.venue import Candle, CandleResolution
from dydx_trader.strategies.candles import Candles
from dydx_trader.strategies.indicators import WARMUP_PERIODS, atr

ATR_PERIOD: Final = 14
DEFAULT_ATR_RESOLUTION: Final = CandleResolution.ONE_HOUR


class CandleSeries(Protocol):
    """Candle series kept current, oldest first (the market data manager)."""

    def candles(self, ticker: str, resolution: CandleResolution) -> tuple[Candle, ...]: ...

    async def backfill_candles(
        self, ticker: str, resolution: CandleResolution, *, limit: int | None = None
    ) -> tuple[Candle, ...]: ...


class MarketAtr:
    """``await source(market)``: the market's ATR in USDC per base unit, or
    ``None`` when not enough candles exist. A venue failure while backfilling
    raises (``VenueUnavailable``): the decision is then refused, not guessed."""

    def __init__(
        self,
        series: CandleSeries,
        resolutions: Mapping[str, CandleResolution] | None = None,
        *,
        period: int = ATR_PERIOD,
    ) -> None:
        self._series = series
        self._resolutions = dict(resolutions or {})
        self._period = period

    async def __call__(self, market: str) -> Decimal | None:
        resolution = self._resolutions.get(market, DEFAULT_ATR_RESOLUTION)
        needed = self._period + 2  # period + 1 closed candles, plus the forming one
        candles: Sequence[Candle] = self._series.candles(market, resolution)
        if len(candles) < needed:
            candles = await self._series.backfill_candles(
                market, resolution, limit=WARMUP_PERIODS * self._period + 1
            )
        closed = candles[:-1]
        if len(closed) < self._period + 1:
            return None
        return atr(Candles.from_candles(closed), self._period)


async def no_atr(market: str) -> Decimal | None:
    """The ATR source of a policy that does not size by volatility."""
    return None
