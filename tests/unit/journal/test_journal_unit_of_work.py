"""``Journal.unit()``: several records in one transaction; and the write error paths (R6)."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from order_testdata import short_term_intent

from dydx_trader.adapters.journal import SCHEMA_VERSION, Journal
from dydx_trader.domain.decision import Decision
from dydx_trader.domain.errors import InsufficientFreeCollateral, JournalUnavailable
from dydx_trader.domain.signal import Signal, SignalSource

T0 = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


def _signal(signal_id: str = "sig-1") -> Signal:
    return Signal.create(
        id=signal_id, market="ETH-USD", action="BUY", created_at=T0,
        source=SignalSource.CLI, strategy="manual",
    )  # fmt: skip


def _refusal(signal_id: str = "sig-1") -> Decision:
    return Decision.refused(
        signal_id=signal_id,
        market="ETH-USD",
        decided_at=T0,
        error=InsufficientFreeCollateral("needs 1,250.00 USDC, 830.12 free"),
    )


def _count(path: Path, table: str) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608
    finally:
        conn.close()


def test_unit_when_body_completes_then_signal_validation_decision_commit_together(
    journal: Journal,
) -> None:
    with journal.unit():
        assert journal.claim_signal(_signal())
        journal.record_validation("sig-1", accepted=True, reason="ok")
        journal.record_decision(_refusal())
        assert _count(journal.path, "signals") == 0  # not visible to others before the commit

    assert [_count(journal.path, t) for t in ("signals", "validations", "decisions")] == [1, 1, 1]


def test_unit_when_body_raises_then_nothing_of_it_is_kept(journal: Journal) -> None:
    with pytest.raises(RuntimeError, match="sizing bug"), journal.unit():
        journal.record_signal(_signal())
        journal.record_validation("sig-1", accepted=True)
        raise RuntimeError("sizing bug")

    assert journal.recent_decisions() == []
    assert [_count(journal.path, t) for t in ("signals", "validations")] == [0, 0]
    assert journal.record_signal(_signal()) is True  # and the journal still works


def test_unit_when_one_write_fails_and_is_caught_then_only_that_write_is_undone(
    journal: Journal,
) -> None:
    with journal.unit():
        journal.record_signal(_signal())
        with pytest.raises(JournalUnavailable):
            with journal._write() as conn:  # a write that fails halfway
                conn.execute("INSERT INTO validations (signal_id) VALUES ('half')")
        journal.record_decision(_refusal())

    assert [_count(journal.path, t) for t in ("signals", "validations", "decisions")] == [1, 0, 1]


def test_record_intent_when_inside_a_unit_then_refused_before_anything_is_written(
    journal: Journal,
) -> None:
    with pytest.raises(JournalUnavailable, match="commits on its own"), journal.unit():
        journal.record_intent(short_term_intent())
    assert journal.recent_orders() == []


async def test_unit_when_another_task_writes_while_it_is_open_then_that_write_is_refused(
    journal: Journal,
) -> None:
    async def intruder() -> None:
        journal.record_signal(_signal("other"))

    with journal.unit():
        journal.record_signal(_signal())
        task = asyncio.ensure_future(intruder())
        await asyncio.sleep(0)  # awaiting inside a unit: exactly what it must not allow
        with pytest.raises(JournalUnavailable, match="another task"):
            await task

    assert _count(journal.path, "signals") == 1


def test_write_when_commit_fails_after_sqlite_rolled_back_then_journal_unavailable(
    journal: Journal,
) -> None:
    with pytest.raises(JournalUnavailable, match="write failed"), journal._write() as conn:
        conn.execute("INSERT INTO validations (signal_id, accepted, reason, numbers, "
                     "recorded_at) VALUES ('x', 1, '', '{}', '')")  # fmt: skip
        conn.execute("ROLLBACK")  # what SQLite does itself on a full disk or an I/O error

    assert _count(journal.path, "validations") == 0
    assert journal.record_signal(_signal()) is True


def test_write_when_commit_refused_by_deferred_constraint_then_rolled_back(
    journal: Journal,
) -> None:
    with pytest.raises(JournalUnavailable, match="FOREIGN KEY"), journal._write() as conn:
        conn.execute("PRAGMA defer_foreign_keys = ON")
        conn.execute(
            "INSERT INTO fills (fill_id, client_id, quantums, size, price, fee, filled_at, "
            "recorded_at) VALUES ('f', 42, '1', '1', '1', '0', '', '')"
        )

    assert _count(journal.path, "fills") == 0
    assert journal.record_signal(_signal()) is True


_OPEN_AT = """
import sys, time
from pathlib import Path
from dydx_trader.adapters.journal import Journal
start = float(sys.argv[2])
while time.time() < start:
    pass
Journal.open(Path(sys.argv[1])).close()
"""


def test_open_when_several_processes_create_the_same_new_journal_then_all_succeed(
    tmp_path: Path,
) -> None:
    path = tmp_path / "fresh" / "journal.sqlite3"
    start = time.time() + 1.5  # every process is up and spinning by then
    processes = [
        subprocess.Popen(  # noqa: S603 - our own interpreter and script
            [sys.executable, "-c", _OPEN_AT, str(path), str(start)],
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    errors = [process.communicate(timeout=60)[1] for process in processes]

    assert [process.returncode for process in processes] == [0, 0, 0, 0], errors
    with Journal.open(path) as journal:
        assert journal.record_signal(_signal()) is True
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    conn.close()


def test_close_when_called_twice_then_second_is_a_no_op(tmp_path: Path) -> None:
    journal = Journal.open(tmp_path / "j.sqlite3", fsync=False)
    journal.close()
    journal.close()
    with pytest.raises(JournalUnavailable):
        journal.record_fill(1, "f", quantums=1, size=Decimal(1), price=Decimal(1), fee=Decimal(0))
