"""The journal as an auditor reads it: plain SQL on a read-only connection.

Only the tables every journal version has (orders, fills, trading_state; runs
when it has the columns), so the soak can audit a trader of any version
(``SOAK_TRADER_SRC``: how the scenarios were shown to fail on a178e09). A
read-only WAL connection never blocks the trader and is never blocked by it.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

_READ_ATTEMPTS = 20


@dataclass(frozen=True, slots=True)
class JournalOrder:
    client_id: int
    signal_id: str
    market: str
    state: str
    quantums: int
    filled_quantums: int
    created_at: datetime
    good_til_block: int | None


@dataclass(frozen=True, slots=True)
class JournalFill:
    fill_id: str
    client_id: int
    quantums: int


@dataclass(frozen=True, slots=True)
class StateChange:
    state: str
    reason: str
    authority: str
    at: datetime


@dataclass(frozen=True, slots=True)
class RunRow:
    status: str
    reason: str


@dataclass(frozen=True, slots=True)
class JournalView:
    orders: dict[int, JournalOrder] = field(default_factory=dict)
    fills: dict[str, JournalFill] = field(default_factory=dict)
    states: tuple[StateChange, ...] = ()
    runs: tuple[RunRow, ...] = ()

    def state_at(self, moment: datetime) -> StateChange | None:
        """The trading state in force at ``moment`` (None: never set, i.e. ACTIVE)."""
        found = None
        for change in self.states:
            if change.at <= moment:
                found = change
        return found

    @property
    def latest_state(self) -> StateChange | None:
        return self.states[-1] if self.states else None


def read_journal(path: Path) -> JournalView:
    """Everything the soak audits in the journal at ``path`` (empty when missing)."""
    if not path.exists():
        return JournalView()
    for attempt in range(_READ_ATTEMPTS):
        try:
            return _read(path)
        except sqlite3.OperationalError as error:
            # A reader can meet a WAL being recovered after a kill -9: try again.
            if attempt == _READ_ATTEMPTS - 1 or "no such table" in str(error):
                raise
            time.sleep(0.05)
    raise AssertionError("unreachable")


def _read(path: Path) -> JournalView:
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
    try:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        if "orders" not in tables:
            return JournalView()
        orders = {
            row[0]: JournalOrder(
                row[0],
                row[1],
                row[2],
                row[3],
                int(row[4]),
                int(row[5]),
                _when(row[6]),
                json.loads(row[7]).get("good_til_block"),
            )
            for row in conn.execute(
                "SELECT client_id, signal_id, market, state, quantums, filled_quantums, "
                "created_at, intent FROM orders"
            )
        }
        fills = {
            row[0]: JournalFill(row[0], row[1], int(row[2]))
            for row in conn.execute("SELECT fill_id, client_id, quantums FROM fills")
        }
        states = tuple(
            StateChange(row[0], row[1], row[2], _when(row[3]))
            for row in conn.execute(
                "SELECT state, reason, authority, at FROM trading_state ORDER BY id"
            )
        )
        columns = {row[1] for row in conn.execute("PRAGMA table_info(runs)")}
        runs: tuple[RunRow, ...] = ()
        if "reason" in columns:
            runs = tuple(
                RunRow(row[0], row[1])
                for row in conn.execute("SELECT status, reason FROM runs ORDER BY id")
            )
        return JournalView(orders, fills, states, runs)
    finally:
        conn.close()


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text)
