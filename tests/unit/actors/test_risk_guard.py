"""RiskGuard over a real journal: trips, persisted halts, operator resumes."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from dydx_trader.adapters.journal import Journal
from dydx_trader.app.actor import Actor, Supervisor
from dydx_trader.app.risk_guard import RiskGuard
from dydx_trader.domain.errors import JournalUnavailable, TradingHalted
from dydx_trader.domain.trading_state import (
    Authority,
    KillSwitch,
    KillSwitchLimits,
    OrderOutcome,
    TradingState,
)

T0 = datetime(2025, 1, 1, tzinfo=UTC)


class FakeClock:
    """Aware time that moves only when told (``advance`` seconds)."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    opened = Journal.open(tmp_path / "journal.sqlite3", fsync=False)
    yield opened
    opened.close()


def _guard(journal: Journal, clock: FakeClock | None = None, **limits: object) -> RiskGuard:
    switch = KillSwitch(KillSwitchLimits(**limits))  # type: ignore[arg-type]
    return RiskGuard(journal, switch, clock=clock or FakeClock())


def test_may_trade_when_active_then_allowed(journal: Journal) -> None:
    guard = _guard(journal)
    assert guard.may_trade(reduces_position=False) is None
    assert guard.state is TradingState.ACTIVE


def test_record_equity_when_drawdown_trips_then_halted_persisted_with_reason(
    journal: Journal, tmp_path: Path
) -> None:
    clock = FakeClock()
    guard = _guard(journal, clock, max_drawdown=Decimal("0.1"))
    guard.record_equity(Decimal(1000))
    clock.advance(60.5)
    trip = guard.record_equity(Decimal(850))
    assert trip is not None and trip.state is TradingState.HALTED
    refusal = guard.may_trade(reduces_position=True)
    assert isinstance(refusal, TradingHalted) and "drawdown" in refusal.message
    with Journal.open(tmp_path / "journal.sqlite3") as after_restart:
        record = after_restart.get_trading_state()
    assert record.state is TradingState.HALTED and "drawdown" in record.reason


def test_record_outcome_when_trips_to_reducing_then_only_reducing_orders(
    journal: Journal,
) -> None:
    guard = _guard(journal, max_consecutive_rejections=2, trip_state=TradingState.REDUCING)
    guard.record_outcome(OrderOutcome.REJECTED)
    assert guard.may_trade(reduces_position=False) is None
    guard.record_outcome(OrderOutcome.REJECTED)
    assert guard.may_trade(reduces_position=True) is None
    assert isinstance(guard.may_trade(reduces_position=False), TradingHalted)


def test_may_trade_when_operator_switches_from_another_process_then_effective_at_once(
    journal: Journal, tmp_path: Path
) -> None:
    guard = _guard(journal)
    with Journal.open(tmp_path / "journal.sqlite3") as cli:
        cli.set_trading_state(TradingState.HALTED, "operator pause", Authority.OPERATOR)
        assert isinstance(guard.may_trade(reduces_position=True), TradingHalted)
        cli.set_trading_state(TradingState.ACTIVE, "resume", Authority.OPERATOR)
    assert guard.may_trade(reduces_position=False) is None


def test_halt_when_already_halted_then_nothing_written_again(journal: Journal) -> None:
    guard = _guard(journal)
    guard.halt("first")
    first = journal.get_trading_state()
    guard.reduce("weaker")
    guard.halt("second")
    assert journal.get_trading_state() == first


class BrokenStore:
    read_only = False

    def kill_switch_memory(self) -> None:
        raise JournalUnavailable("disk gone")

    def get_trading_state(self) -> object:
        raise JournalUnavailable("disk gone")

    def set_trading_state(self, *args: object) -> object:
        raise JournalUnavailable("disk gone")


def test_state_when_store_unreadable_then_fail_closed() -> None:
    guard = RiskGuard(BrokenStore(), KillSwitch(KillSwitchLimits()), clock=FakeClock())  # type: ignore[arg-type]
    refusal = guard.may_trade(reduces_position=True)
    assert isinstance(refusal, TradingHalted) and "unreadable" in refusal.message


class UnwritableJournal:
    """Reads work, writes fail: the halt must still hold in this process."""

    read_only = False

    def __init__(self, journal: Journal) -> None:
        self._journal = journal

    def kill_switch_memory(self) -> None:
        return None

    def get_trading_state(self) -> object:
        return self._journal.get_trading_state()

    def set_trading_state(self, *args: object) -> object:
        raise JournalUnavailable("read-only file system")


def test_halt_when_persisting_fails_then_halt_holds_in_memory_and_error_raised(
    journal: Journal,
) -> None:
    guard = RiskGuard(
        UnwritableJournal(journal),  # type: ignore[arg-type]
        KillSwitch(KillSwitchLimits()),
        clock=FakeClock(),
    )
    with pytest.raises(JournalUnavailable):
        guard.halt("actor crashed")
    assert guard.state is TradingState.HALTED
    assert isinstance(guard.may_trade(reduces_position=True), TradingHalted)


class Crasher(Actor):
    async def receive(self, message: object) -> object:
        raise ZeroDivisionError("bug")


async def test_supervisor_when_actor_crashes_then_halt_persisted_in_journal(
    journal: Journal,
) -> None:
    guard = _guard(journal)
    supervisor = Supervisor(on_failure=guard.halt)
    supervisor.start(Crasher()).tell("anything")
    assert await asyncio.wait_for(supervisor.wait(), timeout=1) != 0
    record = journal.get_trading_state()
    assert record.state is TradingState.HALTED and "Crasher crashed" in record.reason
    assert isinstance(guard.may_trade(reduces_position=True), TradingHalted)


class BusyJournal(UnwritableJournal):
    """The real journal, whose next ``busy`` writes fail as a locked SQLite file does."""

    def __init__(self, journal: Journal, busy: int) -> None:
        super().__init__(journal)
        self.busy = busy

    def set_trading_state(self, *args: object) -> object:
        if self.busy > 0:
            self.busy -= 1
            raise JournalUnavailable("database is locked")
        return self._journal.set_trading_state(*args)  # type: ignore[arg-type]


async def test_supervisor_when_actor_crashes_while_journal_locked_then_halt_persisted_once_free(
    journal: Journal,
) -> None:
    # Found by the fault soak (seed 29): the crash's halt met a locked journal and
    # was never written, so the next start traded as if nothing had happened.
    guard = RiskGuard(
        BusyJournal(journal, busy=3), KillSwitch(KillSwitchLimits()), clock=FakeClock()
    )  # type: ignore[arg-type]
    supervisor = Supervisor(on_failure=guard.halt_durably)
    supervisor.start(Crasher()).tell("anything")

    assert await asyncio.wait_for(supervisor.wait(), timeout=5) != 0

    record = journal.get_trading_state()
    assert record.state is TradingState.HALTED and "Crasher crashed" in record.reason
    assert guard.pending is None


async def test_persist_pending_when_journal_stays_locked_then_false_and_halt_holds_here(
    journal: Journal,
) -> None:
    guard = RiskGuard(
        BusyJournal(journal, busy=1_000), KillSwitch(KillSwitchLimits()), clock=FakeClock()
    )  # type: ignore[arg-type]
    with pytest.raises(JournalUnavailable):
        guard.halt("settlement fault")

    persisted = await guard.persist_pending(patience_s=0.2)

    assert persisted is False and guard.pending == "settlement fault"
    assert isinstance(guard.may_trade(reduces_position=True), TradingHalted)
    assert journal.get_trading_state().state is TradingState.ACTIVE
