"""The kill switch remembers across restarts: its drawdown peak and its outcome counters
are persisted in the journal and taken up by the next process (review R2)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from dydx_trader.adapters.journal import Journal
from dydx_trader.app.risk_guard import RiskGuard
from dydx_trader.domain.trading_state import (
    KillSwitch,
    KillSwitchLimits,
    OrderOutcome,
    TradingState,
)

T0 = datetime(2025, 1, 1, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _guard(journal: Journal, clock: Clock, **limits: object) -> RiskGuard:
    switch = KillSwitch(KillSwitchLimits(**limits))  # type: ignore[arg-type]
    return RiskGuard(journal, switch, clock=clock)


def test_record_equity_when_restarted_after_a_drawdown_then_old_peak_still_counts(
    tmp_path: Path,
) -> None:
    path = tmp_path / "journal.sqlite3"
    clock = Clock()
    with Journal.open(path, fsync=False) as first:
        guard = _guard(first, clock, max_drawdown=Decimal("0.2"))
        guard.record_equity(Decimal(10_000))
        clock.now += timedelta(hours=1)
        assert guard.record_equity(Decimal(8_500)) is None  # 15 % down: allowed
    clock.now += timedelta(hours=1)

    with Journal.open(path, fsync=False) as second:
        restarted = _guard(second, clock, max_drawdown=Decimal("0.2"))
        trip = restarted.record_equity(Decimal(7_900))  # 21 % below the peak before restart

        assert trip is not None and trip.rule == "drawdown"
        assert trip.numbers["peak"] == "10000"
        assert second.get_trading_state().state is TradingState.HALTED


def test_record_equity_when_restored_peak_left_the_window_then_forgotten(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    clock = Clock()
    with Journal.open(path, fsync=False) as first:
        _guard(first, clock, drawdown_window_s=3_600).record_equity(Decimal(10_000))
    clock.now += timedelta(hours=2)

    with Journal.open(path, fsync=False) as second:
        trip = _guard(second, clock, drawdown_window_s=3_600).record_equity(Decimal(5_000))

    assert trip is None


def test_record_outcome_when_restarted_mid_run_of_unknowns_then_count_goes_on(
    tmp_path: Path,
) -> None:
    path = tmp_path / "journal.sqlite3"
    with Journal.open(path, fsync=False) as first:
        guard = _guard(first, Clock(), max_consecutive_unknown=3)
        guard.record_outcome(OrderOutcome.UNKNOWN)
        guard.record_outcome(OrderOutcome.UNKNOWN)

    with Journal.open(path, fsync=False) as second:
        trip = _guard(second, Clock(), max_consecutive_unknown=3).record_outcome(
            OrderOutcome.UNSETTLED
        )

        assert trip is not None and trip.rule == "unknown" and trip.numbers["count"] == "3"


def test_record_outcome_when_restarted_mid_run_of_rejections_then_count_goes_on(
    tmp_path: Path,
) -> None:
    path = tmp_path / "journal.sqlite3"
    with Journal.open(path, fsync=False) as first:
        _guard(first, Clock(), max_consecutive_rejections=2).record_outcome(OrderOutcome.REJECTED)

    with Journal.open(path, fsync=False) as second:
        trip = _guard(second, Clock(), max_consecutive_rejections=2).record_outcome(
            OrderOutcome.REJECTED
        )

    assert trip is not None and trip.rule == "rejections"


def test_record_outcome_when_accepted_and_unknown_alternate_then_trips(tmp_path: Path) -> None:
    with Journal.open(tmp_path / "journal.sqlite3", fsync=False) as journal:
        guard = _guard(journal, Clock(), max_consecutive_unknown=3)
        trips = [
            guard.record_outcome(outcome)
            for outcome in [OrderOutcome.UNKNOWN, OrderOutcome.ACCEPTED] * 3
        ]

        assert [trip is not None for trip in trips] == [False] * 4 + [True, False]
        assert journal.get_trading_state().state is TradingState.HALTED


def test_record_equity_when_clock_steps_back_then_sample_taken_not_refused(
    tmp_path: Path,
) -> None:
    clock = Clock()
    with Journal.open(tmp_path / "journal.sqlite3", fsync=False) as journal:
        guard = _guard(journal, clock, max_drawdown=Decimal("0.1"))
        guard.record_equity(Decimal(1_000))
        clock.now -= timedelta(minutes=5)  # NTP stepped the wall clock back

        trip = guard.record_equity(Decimal(850))

    assert trip is not None and trip.rule == "drawdown"


def test_record_equity_when_journal_read_only_then_trip_holds_here_and_nothing_written(
    tmp_path: Path,
) -> None:
    path = tmp_path / "journal.sqlite3"
    clock = Clock()
    with Journal.open(path, fsync=False) as writer:
        _guard(writer, clock, max_drawdown=Decimal("0.1")).record_equity(Decimal(1_000))
    before = path.read_bytes()

    with Journal.open(path, read_only=True) as reader:
        preview = _guard(reader, clock, max_drawdown=Decimal("0.1"))
        trip = preview.record_equity(Decimal(800))

        assert trip is not None
        assert preview.state is TradingState.HALTED
        assert reader.get_trading_state().state is TradingState.ACTIVE
    assert path.read_bytes() == before
