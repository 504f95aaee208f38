"""The chain's block height, read at most every ``max_age_s`` seconds.

Short-term orders expire at a block height (good-til-block = height + offset,
inside the chain's 20-block window), so a height a second old is as good as a
fresh one and saves a node round trip on every decision. Concurrent readers
during a refresh share one call.
"""

from __future__ import annotations

import asyncio

from dydx_trader.app.ports import ChainHeightReader, MonotonicClock, SystemClock


class ChainHeightCache:
    """A :class:`ChainHeightReader` in front of another, with a short TTL (seconds)."""

    def __init__(
        self,
        reader: ChainHeightReader,
        *,
        max_age_s: float = 1.0,
        clock: MonotonicClock | None = None,
    ) -> None:
        self._reader = reader
        self._max_age_s = max_age_s
        self._clock: MonotonicClock = clock or SystemClock()
        self._height = 0
        self._read_at = float("-inf")
        self._inflight: asyncio.Task[int] | None = None

    async def latest_block_height(self) -> int:
        """The chain height, at most ``max_age_s`` old; never goes backwards."""
        if self._clock.monotonic() - self._read_at <= self._max_age_s:
            return self._height
        if self._inflight is None or self._inflight.done():
            self._inflight = asyncio.ensure_future(self._refresh())
        return await asyncio.shield(self._inflight)

    def observe(self, height: int) -> None:
        """Take a height seen elsewhere (a block-height stream)."""
        if height >= self._height:
            self._height = height
            self._read_at = self._clock.monotonic()

    async def _refresh(self) -> int:
        started = self._clock.monotonic()
        height = await self._reader.latest_block_height()
        if height >= self._height:
            self._height = height
        self._read_at = started
        return self._height
