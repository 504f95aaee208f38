"""The kill switch sees one equity sample per balance snapshot, not one per
decision: a cached snapshot re-read by the next signal carries no new sample
(the switch's drawdown window grows with every sample it is fed)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from conftest import SignalFactory

from dydx_trader.bootstrap import Trader
from dydx_trader.domain.signal import SizingHint, SizingKind

SMALL = SizingHint(SizingKind.NOTIONAL_USDC, Decimal(100))


async def test_preview_when_snapshot_cached_then_equity_sampled_once_until_refetched(
    trader: Trader, make_signal: SignalFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    samples: list[Decimal] = []
    record = trader.risk_guard.record_equity

    def spy(equity: Decimal) -> object:
        samples.append(equity)
        return record(equity)

    monkeypatch.setattr(trader.risk_guard, "record_equity", spy)

    for _ in range(3):
        result = await trader.preview(make_signal("BUY", sizing=SMALL))
        assert result.intent is not None
    assert len(samples) == 1

    trader.balance.invalidate("test: force a fresh snapshot")
    await trader.preview(make_signal("SELL", sizing=SMALL))
    assert len(samples) == 2
    assert samples[0] > 0
