"""The journal file itself, and its signal, validation, decision and trading-state records."""

from __future__ import annotations

import sqlite3
import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from dydx_trader.adapters.journal import SCHEMA_VERSION, Journal, default_journal_path
from dydx_trader.domain.decision import Decision
from dydx_trader.domain.errors import (
    IllegalStateTransition,
    InsufficientFreeCollateral,
    JournalUnavailable,
)
from dydx_trader.domain.side import Side
from dydx_trader.domain.signal import Signal, SignalSource
from dydx_trader.domain.trading_state import Authority, TradingState

T0 = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    opened = Journal.open(tmp_path / "journal.sqlite3", fsync=False)
    yield opened
    opened.close()


def _signal(signal_id: str = "sig-1") -> Signal:
    return Signal.create(
        id=signal_id,
        market="ETH-USD",
        action="BUY",
        created_at=T0,
        source=SignalSource.CLI,
        strategy="manual",
        confidence="0.8",
    )


def test_open_when_new_file_then_wal_schema_version_and_private_mode(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "dir" / "journal.sqlite3"
    Journal.open(path).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    conn.close()
    assert {
        "signals",
        "validations",
        "decisions",
        "orders",
        "order_transitions",
        "fills",
        "trading_state",
        "runs",
    } <= tables


def test_open_when_schema_is_newer_then_journal_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(JournalUnavailable, match="schema version"):
        Journal.open(path)


def test_open_when_file_is_not_sqlite_then_journal_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(JournalUnavailable):
        Journal.open(path)


def test_default_journal_path_when_asked_then_under_user_data_dir() -> None:
    path = default_journal_path()
    assert path.name == "journal.sqlite3" and "dydx-trader" in path.parts


def test_record_signal_when_repeated_then_recorded_once(journal: Journal, tmp_path: Path) -> None:
    assert journal.record_signal(_signal()) is True
    assert journal.record_signal(_signal()) is False
    conn = sqlite3.connect(journal.path)
    assert conn.execute("SELECT signal_id, market, action FROM signals").fetchall() == [
        ("sig-1", "ETH-USD", "BUY")
    ]
    conn.close()


def test_record_validation_when_refused_then_rule_reason_and_numbers_kept(
    journal: Journal,
) -> None:
    journal.record_validation(
        "sig-1",
        accepted=False,
        rule="confidence",
        reason="0.5 below 0.6",
        numbers={"confidence": Decimal("0.5")},
    )
    conn = sqlite3.connect(journal.path)
    row = conn.execute("SELECT accepted, rule, reason, numbers FROM validations").fetchone()
    conn.close()
    assert row == (0, "confidence", "0.5 below 0.6", '{"confidence":"0.5"}')


def test_recent_decisions_when_several_then_newest_first_with_arithmetic(
    journal: Journal,
) -> None:
    accepted = Decision.accepted(
        signal_id="a",
        market="ETH-USD",
        side=Side.BUY,
        size=Decimal("0.5"),
        quantums=500_000_000,
        price=Decimal("3300.1"),
        decided_at=T0,
        arithmetic=[("equity", "10,000.00 USDC"), ("size", "0.5 ETH")],
    )
    refused = Decision.refused(
        signal_id="b",
        market="BTC-USD",
        decided_at=T0 + timedelta(seconds=1),
        error=InsufficientFreeCollateral(
            "needs 1,250.00 USDC initial margin, 830.12 free",
            needed=Decimal("1250"),
            free=Decimal("830.12"),
        ),
        arithmetic=[("free collateral", "830.12 USDC")],
    )
    journal.record_decision(accepted)
    journal.record_decision(refused)
    assert journal.recent_decisions(10) == [refused, accepted]
    assert journal.recent_decisions(1) == [refused]
    conn = sqlite3.connect(journal.path)
    text = conn.execute("SELECT arithmetic FROM decisions WHERE signal_id='b'").fetchone()[0]
    conn.close()
    assert text == '[["free collateral","830.12 USDC"]]'


def test_trading_state_when_never_set_then_active(journal: Journal) -> None:
    record = journal.get_trading_state()
    assert record.state is TradingState.ACTIVE and record.at is None


def test_trading_state_when_halted_then_survives_restart(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    with Journal.open(path) as journal:
        journal.set_trading_state(TradingState.HALTED, "drawdown 20%")
    with Journal.open(path) as journal:
        record = journal.get_trading_state()
    assert (record.state, record.reason, record.authority) == (
        TradingState.HALTED,
        "drawdown 20%",
        Authority.AUTOMATIC,
    )


def test_set_trading_state_when_automatic_loosening_then_refused(journal: Journal) -> None:
    journal.set_trading_state(TradingState.HALTED, "crash")
    with pytest.raises(IllegalStateTransition):
        journal.set_trading_state(TradingState.ACTIVE, "auto resume")
    assert journal.get_trading_state().state is TradingState.HALTED
    record = journal.set_trading_state(TradingState.ACTIVE, "checked", Authority.OPERATOR)
    assert record.state is TradingState.ACTIVE
    assert journal.get_trading_state().authority is Authority.OPERATOR


def test_set_trading_state_when_same_state_then_unchanged(journal: Journal) -> None:
    first = journal.set_trading_state(TradingState.REDUCING, "first")
    again = journal.set_trading_state(TradingState.REDUCING, "second")
    assert again == first


def test_trading_state_when_set_from_another_connection_then_visible(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    with Journal.open(path) as runner, Journal.open(path) as cli:
        cli.set_trading_state(TradingState.HALTED, "operator", Authority.OPERATOR)
        assert runner.get_trading_state().state is TradingState.HALTED


def test_runs_when_started_and_finished_then_recorded(journal: Journal) -> None:
    run_id = journal.start_run("paper", "devnet", {"speed": "60"})
    journal.finish_run(run_id, "clean")
    conn = sqlite3.connect(journal.path)
    row = conn.execute("SELECT mode, network, status, details FROM runs").fetchone()
    conn.close()
    assert row == ("paper", "devnet", "clean", '{"speed":"60"}')


def test_write_when_journal_closed_then_journal_unavailable(tmp_path: Path) -> None:
    journal = Journal.open(tmp_path / "j.sqlite3")
    journal.close()
    with pytest.raises(JournalUnavailable):
        journal.start_run("paper", "devnet")
