"""Fixtures of the devnet's own integration tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from dydx_devnet.indexer_limits import IndexerLimits
from dydx_devnet.server import Devnet, DevnetConfig

# Fuzzing and malformed-message tests send far more than a client may: they raise the
# indexer's limits (never turn them off) so each request still meets its handler.
ROOMY_LIMITS = IndexerLimits(
    default_points=1_000_000,
    orders_points=1_000_000,
    fills_points=1_000_000,
    candles_points=1_000_000,
    ws_invalid_points=1_000,
    ws_subscribe_points=1_000,
)


@pytest.fixture
async def roomy_devnet() -> AsyncIterator[Devnet]:
    config = DevnetConfig(
        indexer_port=0,
        grpc_port=0,
        block_time=0.05,
        seed=1,
        markets=("BTC-USD", "ETH-USD", "SOL-USD"),
        indexer_limits=ROOMY_LIMITS,
    )
    async with Devnet(config) as running:
        yield running
