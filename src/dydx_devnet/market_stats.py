"""Market statistics as the indexer's market updater keeps them: rolling 24 hours.

``volume24H`` and ``trades24H`` count the last 24 hours of trades (hourly
buckets: the oldest hour drops out at each chain hour), and after every block
the markets whose figures changed (24-hour volume and trades, price change,
open interest, next funding rate) go out as one ``v4_markets`` ``trading``
update with only the changed fields (roundtable's ``getUpdatedMarkets``),
ahead of the block's oracle prices. The real indexer runs this every 30
seconds; the devnet, which has no loop of its own, after each block.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Final

from dydx_devnet import shapes
from dydx_devnet.markets import MarketState
from dydx_devnet.replay import HOUR_MS
from dydx_devnet.state import EngineState

TRADING_FIELDS: Final = (
    "priceChange24H",
    "volume24H",
    "trades24H",
    "openInterest",
    "nextFundingRate",
)
_WINDOW_HOURS: Final = 24


def trading_fields(market: MarketState) -> dict[str, Any]:
    """The market-updater fields of ``market`` as the indexer prints them."""
    full = shapes.market_object(market)
    return {field: full[field] for field in TRADING_FIELDS}


class MarketStats:
    """Rolling 24-hour counters and the last trading figures sent, per market."""

    def __init__(self, state: EngineState) -> None:
        self._state = state
        # Completed hours, oldest first: (volume in quote quantums, trades).
        self._hours: dict[str, deque[tuple[int, int]]] = {}
        # Counters at the start of the current hour.
        self._hour_start: dict[str, tuple[int, int]] = {}
        self._sent: dict[str, dict[str, Any]] = {}
        for ticker, market in state.markets.items():
            self._hours[ticker] = deque()
            self._hour_start[ticker] = (market.volume_24h_qq, market.trades_24h)

    def mark_sent(self) -> None:
        """Take the markets' current figures as known to subscribers (at genesis)."""
        self._sent = {t: trading_fields(m) for t, m in self._state.markets.items()}

    def block_done(self, previous_ms: int) -> None:
        """Roll the 24-hour window at an hour boundary; send the changed figures."""
        state = self._state
        hours = state.block_time_ms // HOUR_MS - previous_ms // HOUR_MS
        if hours > 0:
            for ticker, market in state.markets.items():
                self._roll(ticker, market, hours)
        changed: dict[str, Any] = {}
        for ticker in sorted(state.markets):
            market = state.markets[ticker]
            fields = trading_fields(market)
            sent = self._sent.get(ticker, {})
            diff = {k: v for k, v in fields.items() if sent.get(k) != v}
            if diff:
                changed[ticker] = {
                    "id": str(market.clob_pair_id),
                    "clobPairId": str(market.clob_pair_id),
                    "ticker": ticker,
                    "marketId": market.clob_pair_id,
                    **diff,
                }
                self._sent[ticker] = fields
        if changed:
            state.emit("v4_markets", None, {"trading": changed})
        # Sent here; the block's own trading message would repeat them.
        state.trading_changed.clear()

    def _roll(self, ticker: str, market: MarketState, hours: int) -> None:
        start_volume, start_trades = self._hour_start[ticker]
        window = self._hours[ticker]
        window.append((market.volume_24h_qq - start_volume, market.trades_24h - start_trades))
        window.extend((0, 0) for _ in range(min(hours, _WINDOW_HOURS) - 1))
        # The window holds 23 completed hours beside the current one.
        while len(window) > _WINDOW_HOURS - 1:
            volume, trades = window.popleft()
            market.volume_24h_qq -= volume
            market.trades_24h -= trades
        self._hour_start[ticker] = (market.volume_24h_qq, market.trades_24h)
