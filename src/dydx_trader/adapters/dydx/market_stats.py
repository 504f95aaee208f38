"""What a perp trader reads first about a market, from ``GET /v4/perpetualMarkets``:
the predicted funding rate, the open interest and the 24 h volume.

These figures only inform (``dydx-trader markets``); nothing is sized from
them, so they live apart from the market specs the trader does size from.
Units, as the indexer documents them:

* ``nextFundingRate``: the predicted **1-hour** funding rate, a fraction
  (positive: longs pay shorts). dYdX settles funding every hour, so the
  annualised rate is 24 x 365 times it.
* ``openInterest``: **base units** (e.g. BTC), one side.
* ``volume24H``: **USDC** notional traded over the last 24 hours.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from dydx_trader.adapters.dydx.indexer import IndexerGateway
from dydx_trader.domain.errors import MalformedPayload

FUNDING_PERIODS_PER_YEAR = 24 * 365


@dataclass(frozen=True, slots=True)
class MarketStats:
    """One market's funding, open interest and volume (None where the indexer omits one)."""

    ticker: str
    next_funding_rate: Decimal | None
    open_interest: Decimal | None
    volume_24h: Decimal | None

    @property
    def annualised_funding_rate(self) -> Decimal | None:
        """The predicted 1-hour rate x 8,760 hourly settlements (a fraction per year)."""
        rate = self.next_funding_rate
        return None if rate is None else rate * FUNDING_PERIODS_PER_YEAR

    def open_interest_usdc(self, oracle_price: Decimal | None) -> Decimal | None:
        """The open interest's notional at ``oracle_price`` (USDC), None when either is."""
        if self.open_interest is None or oracle_price is None:
            return None
        return self.open_interest * oracle_price


def parse_market_stats(body: object) -> dict[str, MarketStats]:
    """``{"markets": {ticker: market}}`` -> stats by ticker; :class:`MalformedPayload`
    when the shape or a number is wrong."""
    markets = body.get("markets") if isinstance(body, Mapping) else None
    if not isinstance(markets, Mapping):
        raise MalformedPayload("perpetualMarkets: no 'markets' object", field="markets")
    stats = {}
    for ticker, market in markets.items():
        if not isinstance(ticker, str) or not isinstance(market, Mapping):
            raise MalformedPayload(f"perpetualMarkets: entry {str(ticker)[:40]!r} is not a market")
        stats[ticker] = MarketStats(
            ticker=ticker,
            next_funding_rate=_decimal(market, ticker, "nextFundingRate"),
            open_interest=_decimal(market, ticker, "openInterest"),
            volume_24h=_decimal(market, ticker, "volume24H"),
        )
    return stats


def _decimal(market: Mapping[str, object], ticker: str, field: str) -> Decimal | None:
    raw = market.get(field)
    if raw is None:
        return None
    try:
        value = Decimal(str(raw)) if isinstance(raw, str | int) else None
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite() or isinstance(raw, bool):
        raise MalformedPayload(
            f"perpetualMarkets: {ticker} {field} is not a decimal number", field=field
        )
    return value


class MarketStatsIndexer(IndexerGateway):
    """An :class:`IndexerGateway` that also reads the markets' stats (same timeouts,
    retries and error mapping as every other read)."""

    async def get_market_stats(self) -> dict[str, MarketStats]:
        """Funding, open interest and volume of every perpetual market, by ticker."""
        body = await self._read(
            "perpetual market stats", self._client.markets.get_perpetual_markets
        )
        return parse_market_stats(body)
