"""A burst of signals on the devnet with network latency and jitter: the orders'
broadcasts overlap and their answers come back in any order, and the caps hold."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from e2e_harness import settings_for, start_trader, venue_of

from dydx_devnet.server import Devnet, DevnetConfig
from dydx_devnet.state import EngineConfig
from dydx_trader.domain.decision import Outcome
from dydx_trader.domain.margin import assess
from dydx_trader.domain.order import OrderState
from dydx_trader.domain.signal import HintKind, Signal, SignalSource, SizingHint

MARKETS = ("BTC-USD", "ETH-USD", "SOL-USD")
SYNTHETIC = 5  # SYN001-USD .. SYN005-USD


@pytest.fixture
async def slow_devnet() -> AsyncIterator[Devnet]:
    # Chain time is wall time: the streamed oracle prices are judged by their age.
    engine = EngineConfig(
        seed=7, markets=MARKETS, synthetic_markets=SYNTHETIC, block_time_s=0.05
    )  # fmt: skip
    config = DevnetConfig(
        indexer_port=0, grpc_port=0, block_time=0.05, engine=engine,
        latency_ms=30, latency_jitter_ms=60,
    )  # fmt: skip
    async with Devnet(config) as running:
        yield running


def _signal(market: str) -> Signal:
    return Signal.create(
        market=market,
        action="BUY",
        confidence=Decimal("0.9"),
        created_at=datetime.now(UTC),
        source=SignalSource.CLI,
        strategy="burst",
        sizing=SizingHint(HintKind.NOTIONAL_USDC, Decimal(3_000)),
    )


async def test_burst_when_signals_exceed_the_caps_then_the_later_ones_refused_by_the_cap(
    slow_devnet: Devnet, tmp_path: Path
) -> None:
    settings = settings_for(
        tmp_path / "journal.sqlite3", risk={"max_leverage": 1, "max_exposure": 1}
    )
    tickers = [*MARKETS, *(f"SYN{index:03d}-USD" for index in range(1, SYNTHETIC + 1))]
    trader = await start_trader(slow_devnet, settings, follow_streams=True)
    venue = venue_of(slow_devnet)
    try:
        results = await asyncio.gather(*(trader.submit(_signal(t)) for t in tickers))
        await trader.wait_settled()
        account = await venue.get_account(trader.status().owner.address, 0)
        risk = assess(account, await venue.get_markets())
    finally:
        await trader.stop()
        await venue.close()

    decisions = [result.decision for result in results]
    assert all(decision is not None for decision in decisions)
    outcomes = [decision.outcome for decision in decisions if decision is not None]
    # Decided in the order submitted: the first ones fit, then the cap binds for good.
    assert outcomes[:3] == [Outcome.ACCEPTED] * 3 and outcomes[-1] is Outcome.REFUSED
    for decision in decisions[3:]:
        assert decision is not None and decision.bound_by == "max exposure"
        if decision.outcome is Outcome.REFUSED:
            assert decision.error_code == "ExposureLimitExceeded"
    accepted = [r for r in results if r.decision and r.decision.outcome is Outcome.ACCEPTED]
    assert all(r.order is not None and r.order.state is not OrderState.REJECTED for r in accepted)
    gross = sum((abs(p.notional) for p in risk.positions), Decimal(0))
    # The fee and the price moves between decision and fill stay well under 1 %.
    assert 0 < gross <= risk.equity * Decimal("1.01")
    assert trader.status().reserved == ()
