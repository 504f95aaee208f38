"""``Journal.open(path, read_only=True)``: reads everything, writes nothing, changes no byte."""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from order_testdata import short_term_intent

from dydx_trader.adapters.journal import SCHEMA_VERSION, Journal
from dydx_trader.domain.errors import JournalUnavailable
from dydx_trader.domain.signal import Signal, SignalSource
from dydx_trader.domain.trading_state import Authority, TradingState

T0 = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


def _signal(signal_id: str) -> Signal:
    return Signal.create(
        id=signal_id, market="BTC-USD", action="SELL", created_at=T0,
        source=SignalSource.WEBHOOK, strategy="tv",
    )  # fmt: skip


def _digest(path: Path) -> str:
    """The database file and its WAL (a reader may leave an empty WAL and its index)."""
    wal = path.with_name(path.name + "-wal")
    data = path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def path(tmp_path: Path) -> Path:
    path = tmp_path / "journal.sqlite3"
    with Journal.open(path, fsync=False) as journal:
        journal.record_signal(_signal("s1"))
        journal.record_intent(short_term_intent())
        journal.set_trading_state(TradingState.REDUCING, "operator said so", Authority.OPERATOR)
    return path


def test_open_read_only_when_journal_exists_then_reads_like_a_writer(path: Path) -> None:
    with Journal.open(path, read_only=True) as journal:
        assert journal.read_only
        assert journal.get_trading_state().state is TradingState.REDUCING
        assert [o.client_id for o in journal.in_flight_orders()] == [short_term_intent().client_id]
        assert [s.id for s in journal.undecided_signals()] == ["s1"]


@pytest.mark.parametrize(
    "write",
    [
        lambda j: j.record_signal(_signal("s2")),
        lambda j: j.set_trading_state(TradingState.HALTED, "x", Authority.OPERATOR),
        lambda j: j.start_run("live", "testnet"),
        lambda j: j.record_foreign_activity("fill", "f-1", "BTC-USD", {}, None),
    ],
)
def test_write_when_read_only_then_journal_unavailable_naming_the_file(
    path: Path, write: object
) -> None:
    with Journal.open(path, read_only=True) as journal:
        with pytest.raises(JournalUnavailable, match="read-only") as raised:
            write(journal)  # type: ignore[operator]
        assert str(path) in str(raised.value)


def test_close_when_read_only_then_no_byte_of_the_journal_changes(path: Path) -> None:
    before = _digest(path)
    with Journal.open(path, read_only=True) as journal:
        journal.recent_decisions()
        journal.order_reports()
    assert _digest(path) == before


def test_open_read_only_when_file_missing_then_refused_and_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "journal.sqlite3"
    with pytest.raises(JournalUnavailable, match="no journal at"):
        Journal.open(missing, read_only=True)
    assert not missing.parent.exists()


def test_open_read_only_when_missing_ok_then_empty_journal_in_memory(tmp_path: Path) -> None:
    missing = tmp_path / "journal.sqlite3"
    with Journal.open(missing, read_only=True, missing_ok=True) as journal:
        assert journal.get_trading_state().state is TradingState.ACTIVE
        assert journal.recent_decisions() == []
        with pytest.raises(JournalUnavailable):
            journal.record_signal(_signal("s"))
    assert not missing.exists()


def test_open_read_only_when_older_schema_then_says_a_writer_upgrades_it(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (x)")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION - 1}")
    conn.close()
    with pytest.raises(JournalUnavailable, match=r"older schema version .* upgrades it"):
        Journal.open(path, read_only=True)


def test_open_read_only_when_not_a_journal_then_journal_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite3"
    sqlite3.connect(path).execute("CREATE TABLE t (x)").connection.close()
    with pytest.raises(JournalUnavailable, match="is not a journal"):
        Journal.open(path, read_only=True)


def test_read_when_a_writer_holds_the_lock_then_reader_not_blocked(path: Path) -> None:
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # the trader in the middle of a write
    try:
        with Journal.open(path, read_only=True) as journal:
            assert journal.get_trading_state().state is TradingState.REDUCING
    finally:
        other.execute("ROLLBACK")
        other.close()
