"""A signal is decided exactly once, whoever journaled it first (the webhook before its 202)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from dydx_trader.adapters.journal import Journal
from dydx_trader.domain.decision import Decision
from dydx_trader.domain.errors import InsufficientFreeCollateral
from dydx_trader.domain.signal import HintKind, Signal, SignalSource, SizingHint

T0 = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


def _signal(
    signal_id: str, source: SignalSource = SignalSource.WEBHOOK, action: str = "BUY"
) -> Signal:
    return Signal.create(
        id=signal_id, market="ETH-USD", action=action, created_at=T0, source=source,
        strategy="tv", confidence="0.7",
    )  # fmt: skip


def _decide(journal: Journal, signal_id: str) -> None:
    journal.record_decision(
        Decision.refused(
            signal_id=signal_id,
            market="ETH-USD",
            decided_at=T0,
            error=InsufficientFreeCollateral("needs more"),
        )
    )


def test_claim_signal_when_recorded_by_webhook_but_undecided_then_true(journal: Journal) -> None:
    assert journal.record_signal(_signal("tv-1")) is True
    assert journal.claim_signal(_signal("tv-1")) is True


def test_claim_signal_when_never_seen_then_recorded_and_true(journal: Journal) -> None:
    assert journal.claim_signal(_signal("s-1", SignalSource.STRATEGY)) is True
    assert journal.record_signal(_signal("s-1", SignalSource.STRATEGY)) is False


def test_claim_signal_when_already_decided_then_false(journal: Journal) -> None:
    journal.claim_signal(_signal("tv-1"))
    _decide(journal, "tv-1")
    assert journal.claim_signal(_signal("tv-1")) is False


def test_undecided_signals_when_some_decided_then_the_rest_oldest_first(journal: Journal) -> None:
    for signal_id in ("a", "b", "c"):
        journal.record_signal(_signal(signal_id))
    journal.record_signal(_signal("hold", action="HOLD"))
    journal.record_signal(_signal("cli", SignalSource.CLI))
    _decide(journal, "b")

    assert [s.id for s in journal.undecided_signals()] == ["a", "c", "cli"]
    assert [s.id for s in journal.undecided_signals(SignalSource.WEBHOOK)] == ["a", "c"]
    assert [s.id for s in journal.undecided_signals(limit=1)] == ["a"]


def test_undecided_signals_when_read_back_then_equal_to_what_was_recorded(
    journal: Journal,
) -> None:
    signal = Signal.create(
        id="tv-full", market="BTC-USD", action="SELL", created_at=T0,
        source=SignalSource.WEBHOOK, strategy="tv_1h", confidence="0.85",
        reference_price="64123.5", stop_loss="65000", take_profit="60000.25",
        sizing=SizingHint(HintKind.NOTIONAL_USDC, Decimal("250")),
    )  # fmt: skip
    journal.record_signal(signal)
    assert journal.undecided_signals() == [signal]
