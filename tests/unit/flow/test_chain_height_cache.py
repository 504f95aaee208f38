"""The chain height is read at most once per TTL, shared by concurrent readers."""

from __future__ import annotations

import asyncio

from dydx_trader.app.heights import ChainHeightCache
from kit.clock import FakeClock


class CountingNode:
    def __init__(self, heights: list[int]) -> None:
        self.heights = heights
        self.calls = 0

    async def latest_block_height(self) -> int:
        self.calls += 1
        await asyncio.sleep(0.01)
        return self.heights.pop(0)


async def test_concurrent_readers_within_ttl_then_one_node_call() -> None:
    node, clock = CountingNode([500]), FakeClock()
    cache = ChainHeightCache(node, max_age_s=1.0, clock=clock)

    heights = await asyncio.gather(*(cache.latest_block_height() for _ in range(100)))

    assert set(heights) == {500} and node.calls == 1


async def test_height_when_older_than_ttl_then_read_again_and_never_backwards() -> None:
    node, clock = CountingNode([500, 499]), FakeClock()
    cache = ChainHeightCache(node, max_age_s=1.0, clock=clock)
    assert await cache.latest_block_height() == 500

    clock.advance(1.5)
    assert await cache.latest_block_height() == 500  # a lagging node does not move it back
    assert node.calls == 2


async def test_observed_height_when_fresh_then_no_node_call() -> None:
    node, clock = CountingNode([]), FakeClock()
    cache = ChainHeightCache(node, max_age_s=1.0, clock=clock)

    cache.observe(42)

    assert await cache.latest_block_height() == 42 and node.calls == 0
