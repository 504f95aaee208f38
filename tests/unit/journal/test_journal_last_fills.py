"""What a restarted trader reads back to resume its cooldowns: each market's last fill."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from order_testdata import short_term_intent

from dydx_trader.adapters.journal import Journal

T0 = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_last_fill_at_by_market_when_fills_in_two_markets_then_latest_of_each(
    journal: Journal,
) -> None:
    orders = [("b1", "BTC-USD", 0), ("b2", "BTC-USD", 90), ("e1", "ETH-USD", 30)]
    for signal_id, market, minutes in orders:
        intent = short_term_intent(signal_id, market=market)
        journal.record_intent(intent)
        journal.record_fill(
            intent.client_id, f"fill-{signal_id}", quantums=intent.quantums,
            size=Decimal("0.0001"), price=Decimal(65_000), fee=Decimal("0.01"),
            filled_at=T0 + timedelta(minutes=minutes),
        )  # fmt: skip

    assert journal.last_fill_at_by_market() == {
        "BTC-USD": T0 + timedelta(minutes=90),
        "ETH-USD": T0 + timedelta(minutes=30),
    }


def test_last_fill_at_by_market_when_nothing_filled_then_empty(journal: Journal) -> None:
    journal.record_intent(short_term_intent())
    assert journal.last_fill_at_by_market() == {}
