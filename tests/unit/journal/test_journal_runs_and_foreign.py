"""Runs (who ran, how it ended, crashed ones found at the next start), foreign activity,
the kill switch's memory, and journals written by previous schemas."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest

from dydx_trader.adapters.journal import SCHEMA_VERSION, Journal, RunStatus
from dydx_trader.adapters.journal._schema import MIGRATIONS
from dydx_trader.domain.errors import InvalidInput
from dydx_trader.domain.protection import ProtectionLevels
from dydx_trader.domain.side import Side
from dydx_trader.domain.trading_state import KillSwitchMemory, TradingState

ADDRESS = "dydx1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq"
LEVELS = ProtectionLevels(Side.BUY, stop_loss=Decimal("3000.1"), take_profit=Decimal("3600"))


def _start(journal: Journal, subaccount: int = 0) -> int:
    return journal.start_run(
        "live", "testnet", {"speed": "1"}, address=ADDRESS, subaccount_number=subaccount,
        version="0.1.0", config_hash="abc123",
    )  # fmt: skip


def test_start_run_when_finished_cleanly_then_every_field_recorded(journal: Journal) -> None:
    run_id = _start(journal)
    journal.finish_run(run_id, RunStatus.CLEAN)

    [run] = journal.runs()
    assert (run.id, run.status, run.network, run.address, run.version, run.config_hash) == (
        run_id, RunStatus.CLEAN, "testnet", ADDRESS, "0.1.0", "abc123",
    )  # fmt: skip
    assert run.finished_at is not None and run.pid is not None and run.details == {"speed": "1"}


def test_start_run_when_previous_run_of_same_key_never_finished_then_marked_crashed(
    journal: Journal,
) -> None:
    killed = _start(journal)  # kill -9: finish_run never called
    other_subaccount = _start(journal, subaccount=1)  # alive: our own pid, another key

    current = _start(journal)

    statuses = {run.id: run.status for run in journal.runs()}
    assert statuses == {
        killed: RunStatus.CRASHED,
        other_subaccount: RunStatus.RUNNING,
        current: RunStatus.RUNNING,
    }


def test_start_run_when_running_row_of_dead_process_then_marked_crashed(journal: Journal) -> None:
    run_id = _start(journal, subaccount=7)
    conn = sqlite3.connect(journal.path)
    conn.execute("UPDATE runs SET pid = 2147483646 WHERE id = ?", (run_id,))  # no such process
    conn.commit()
    conn.close()

    _start(journal)

    assert journal.runs()[-1].status is RunStatus.CRASHED


def test_record_foreign_activity_when_seen_twice_then_one_record(journal: Journal) -> None:
    details = {"side": "BUY", "size": "0.01", "price": "64000"}
    assert journal.record_foreign_activity("fill", "f-9", "BTC-USD", details, 1234) is True
    assert journal.record_foreign_activity("fill", "f-9", "BTC-USD", details, 1235) is False

    [seen] = journal.foreign_activity()
    assert (seen.kind, seen.venue_id, seen.market, seen.details, seen.height) == (
        "fill", "f-9", "BTC-USD", details, 1234,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "venue_id", "market", "height"),
    [("", "x", "BTC-USD", None), ("fill", "", "BTC-USD", 1), ("fill", "x", "BTC-USD", True)],
)
def test_record_foreign_activity_when_malformed_then_invalid_input(
    journal: Journal, kind: str, venue_id: str, market: str, height: object
) -> None:
    with pytest.raises(InvalidInput):
        journal.record_foreign_activity(kind, venue_id, market, {}, height)  # type: ignore[arg-type]
    assert journal.foreign_activity() == []


def test_kill_switch_memory_when_saved_then_read_back_exactly(journal: Journal) -> None:
    assert journal.kill_switch_memory() is None
    memory = KillSwitchMemory(
        peak=Decimal("10234.567891"), peak_at_ms=1_735_689_600_000, rejections=1, unknown=2,
        clean_streak=0,
    )  # fmt: skip
    journal.save_kill_switch_memory(memory)
    journal.save_kill_switch_memory(memory)
    assert journal.kill_switch_memory() == memory


def test_open_when_journal_has_previous_schema_then_upgraded_and_data_kept(
    tmp_path: Path,
) -> None:
    path = tmp_path / "v1.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    for statement in MIGRATIONS[0]:
        conn.execute(statement)
    conn.execute(
        "INSERT INTO trading_state (state, reason, authority, at) "
        "VALUES ('HALTED', 'before the upgrade', 'operator', '2025-01-01T00:00:00+00:00')"
    )
    conn.execute("PRAGMA user_version = 1")
    conn.close()

    with Journal.open(path) as journal:
        assert journal.get_trading_state().state is TradingState.HALTED
        run_id = _start(journal)
        assert journal.runs()[0].id == run_id
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    conn.close()


def test_open_when_journal_at_schema_3_then_protection_levels_added_and_samples_kept(
    tmp_path: Path,
) -> None:
    path = tmp_path / "v3.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    for statement in (s for migration in MIGRATIONS[:3] for s in migration):
        conn.execute(statement)
    conn.execute(
        "INSERT INTO equity_samples (at, equity, free_collateral, leverage, margin_usage, "
        "positions) VALUES ('2025-01-01T00:00:00+00:00', '10000', '9000', '0.1', '0.1', '{}')"
    )
    conn.execute("PRAGMA user_version = 3")
    conn.close()

    with Journal.open(path) as journal:
        journal.set_protection("ETH-USD", LEVELS, "sig-1")
        entries = journal.protection_entries()
    conn = sqlite3.connect(path)
    version = conn.execute("PRAGMA user_version").fetchone()
    samples = conn.execute("SELECT count(*) FROM equity_samples").fetchone()
    conn.close()

    assert SCHEMA_VERSION == 4 and version == (4,) and samples == (1,)
    assert entries == {"ETH-USD": (LEVELS, "sig-1")}
