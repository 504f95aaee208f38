"""End-to-end fixtures: the devnet in-process and the trading system wired to it
through the composition root, exactly as ``dydx-trader run`` wires them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from e2e_harness import settings_for, start_trader

from dydx_devnet.server import Devnet, DevnetConfig
from dydx_devnet.state import EngineConfig
from dydx_trader.bootstrap import Trader
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
async def trader(devnet: Devnet, tmp_path: Path) -> AsyncIterator[Trader]:
    running = await start_trader(devnet, settings_for(tmp_path / "journal.sqlite3"))
    try:
        yield running
    finally:
        await running.stop()


SignalFactory = Callable[..., Signal]


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
