"""End-to-end fixtures: the devnet in-process and the trading system wired to it
through the composition root, exactly as ``dydx-trader run`` wires them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from e2e_harness import SignalFactory, journal_at, settings_for, start_trader, venue_of

from dydx_devnet.server import Devnet, DevnetConfig
from dydx_devnet.state import EngineConfig
from dydx_trader.adapters.dydx.indexer import IndexerGateway
from dydx_trader.adapters.journal import Journal
from dydx_trader.bootstrap import Trader
from dydx_trader.config import Settings
from dydx_trader.domain.signal import Signal, SignalSource

E2E_MARKETS = ("BTC-USD", "ETH-USD", "SOL-USD")
DEMO_FUNDS_USDC = Decimal(10_000)
E2E_GENESIS = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


@pytest.fixture
async def devnet() -> AsyncIterator[Devnet]:
    # A fixed genesis makes the replayed prices, and so every size, the same on every run.
    engine = EngineConfig(seed=7, markets=E2E_MARKETS, block_time_s=0.05, genesis_time=E2E_GENESIS)
    config = DevnetConfig(indexer_port=0, grpc_port=0, block_time=0.05, engine=engine)
    async with Devnet(config) as running:
        yield running


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return settings_for(tmp_path / "journal.sqlite3")


@pytest.fixture
async def trader(devnet: Devnet, settings: Settings) -> AsyncIterator[Trader]:
    running = await start_trader(devnet, settings)
    try:
        yield running
    finally:
        await running.stop()


@pytest.fixture
async def venue(devnet: Devnet) -> AsyncIterator[IndexerGateway]:
    """The test's own view of the devnet's indexer."""
    reader = venue_of(devnet)
    try:
        yield reader
    finally:
        await reader.close()


@pytest.fixture
def journal(settings: Settings) -> Iterator[Journal]:
    """The test's own connection to the trader's journal."""
    connection = journal_at(settings)
    try:
        yield connection
    finally:
        connection.close()


@pytest.fixture
def make_signal() -> SignalFactory:
    def make(action: str, market: str = "ETH-USD", **fields: Any) -> Signal:
        fields.setdefault("confidence", Decimal("0.9"))
        return Signal.create(
            market=market,
            action=action,
            created_at=datetime.now(UTC),
            source=SignalSource.CLI,
            strategy="test",
            **fields,
        )

    return make
