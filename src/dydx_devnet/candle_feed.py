"""Candles as the engine serves them: bars of any resolution, indexer candle objects.

Replayed markets answer in closed form from their price path, the others
from their per-block samples (:mod:`dydx_devnet.candles`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from dydx_devnet import shapes
from dydx_devnet.candles import RESOLUTION_MS, Bar, path_bars
from dydx_devnet.state import EngineState

_VOLUME_QUANTUM = Decimal("1e-8")
_USD_QUANTUM = Decimal("1e-6")


class CandleFeed:
    """Candle reads of the engine's markets, in chain time."""

    def __init__(self, state: EngineState) -> None:
        self._state = state

    def candle_bars(self, ticker: str, resolution: str, from_ms: int, to_ms: int) -> list[Bar]:
        """Bars of ``ticker`` starting in ``[from_ms, to_ms]`` (chain time), oldest first."""
        state = self._state
        resolution_ms = RESOLUTION_MS[resolution]
        market = state.markets[ticker]
        to_ms = min(to_ms, state.block_time_ms)
        if state.replay is not None and ticker in state.replay.paths:
            return path_bars(
                state.replay.paths[ticker],
                state.replay.shift_ms,
                resolution_ms,
                from_ms,
                to_ms,
                state.block_time_ms,
                market.price_exponent,
            )
        return state.sampled[ticker].bars(resolution_ms, from_ms, to_ms)

    def candle_object(self, ticker: str, resolution: str, bar: Bar) -> dict[str, Any]:
        """The indexer's ``CandleResponseObject`` of one bar."""
        market = self._state.markets[ticker]
        return {
            "startedAt": shapes.iso(bar.started_ms),
            "ticker": ticker,
            "resolution": resolution,
            "low": shapes.oracle(market, bar.low),
            "high": shapes.oracle(market, bar.high),
            "open": shapes.oracle(market, bar.open),
            "close": shapes.oracle(market, bar.close),
            # Prorated volumes would carry 28 digits; the indexer's are exact sums.
            "baseTokenVolume": shapes.dec(bar.base_volume.quantize(_VOLUME_QUANTUM)),
            "usdVolume": shapes.dec(bar.usd_volume.quantize(_USD_QUANTUM)),
            "trades": bar.trades,
            "startingOpenInterest": shapes.size(market, market.open_interest_bq),
            "orderbookMidPriceOpen": None,
            "orderbookMidPriceClose": None,
        }

    def candle_messages(
        self, ticker: str, resolution: str, previous_ms: int
    ) -> list[dict[str, Any]]:
        """The ``v4_candles`` messages of a block: the candle that closed since the
        previous block (``previous_ms``), in its final form, then the current one."""
        now = self._state.block_time_ms
        resolution_ms = RESOLUTION_MS[resolution]
        start = now - now % resolution_ms
        closed_start = previous_ms - previous_ms % resolution_ms
        bars = self.candle_bars(ticker, resolution, min(closed_start, start), now)
        wanted = [bar for bar in bars if bar.started_ms in (closed_start, start)]
        messages = []
        for bar in wanted:
            candle = self.candle_object(ticker, resolution, bar)
            # The websocket candle message has no order-book mid prices (REST candles do).
            del candle["orderbookMidPriceOpen"], candle["orderbookMidPriceClose"]
            messages.append(candle)
        return messages
