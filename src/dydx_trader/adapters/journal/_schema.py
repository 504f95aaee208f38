"""The journal's tables, and the migrations that bring any older file up to date.

``MIGRATIONS[i]`` takes a journal from schema version ``i`` to ``i + 1``; a new
file runs them all. Each runs inside the ``BEGIN IMMEDIATE`` that re-reads
``user_version`` first, so two processes creating or upgrading the same file
at once both succeed: the second finds the work done.
"""

from __future__ import annotations

from typing import Final

_V1: Final = (
    """CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY, started_at TEXT NOT NULL, finished_at TEXT,
    mode TEXT NOT NULL, network TEXT NOT NULL, status TEXT NOT NULL, details TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS signals (
    signal_id TEXT PRIMARY KEY, market TEXT NOT NULL, action TEXT NOT NULL,
    source TEXT NOT NULL, strategy TEXT NOT NULL, created_at TEXT NOT NULL,
    recorded_at TEXT NOT NULL, payload TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS validations (
    id INTEGER PRIMARY KEY, signal_id TEXT NOT NULL, accepted INTEGER NOT NULL,
    rule TEXT, reason TEXT NOT NULL, numbers TEXT NOT NULL, recorded_at TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS decisions (
    id INTEGER PRIMARY KEY, signal_id TEXT NOT NULL, market TEXT NOT NULL,
    outcome TEXT NOT NULL, error_code TEXT, reason TEXT NOT NULL,
    arithmetic TEXT NOT NULL, payload TEXT NOT NULL, decided_at TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS decisions_signal ON decisions (signal_id)",
    """CREATE TABLE IF NOT EXISTS orders (
    client_id INTEGER PRIMARY KEY, signal_id TEXT NOT NULL UNIQUE, market TEXT NOT NULL,
    side TEXT NOT NULL, quantums TEXT NOT NULL, subticks TEXT NOT NULL,
    state TEXT NOT NULL, filled_quantums TEXT NOT NULL, intent TEXT NOT NULL,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS orders_state ON orders (state)",
    """CREATE TABLE IF NOT EXISTS order_transitions (
    id INTEGER PRIMARY KEY, client_id INTEGER NOT NULL REFERENCES orders (client_id),
    from_state TEXT, to_state TEXT NOT NULL, reason TEXT NOT NULL,
    numbers TEXT NOT NULL, at TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS order_transitions_client ON order_transitions (client_id)",
    """CREATE TABLE IF NOT EXISTS fills (
    fill_id TEXT PRIMARY KEY, client_id INTEGER NOT NULL REFERENCES orders (client_id),
    quantums TEXT NOT NULL, size TEXT NOT NULL, price TEXT NOT NULL, fee TEXT NOT NULL,
    height INTEGER, filled_at TEXT NOT NULL, recorded_at TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS trading_state (
    id INTEGER PRIMARY KEY, state TEXT NOT NULL, reason TEXT NOT NULL,
    authority TEXT NOT NULL, at TEXT NOT NULL)""",
)

# Runs say who ran (address, subaccount, version, config) and how it ended; the
# kill switch's memory survives restarts; activity on the subaccount that is not
# ours is kept for the operator.
_V2: Final = (
    "ALTER TABLE runs ADD COLUMN address TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE runs ADD COLUMN subaccount_number INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE runs ADD COLUMN version TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE runs ADD COLUMN config_hash TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE runs ADD COLUMN pid INTEGER",
    "ALTER TABLE runs ADD COLUMN host TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE runs ADD COLUMN reason TEXT NOT NULL DEFAULT ''",
    "CREATE INDEX IF NOT EXISTS runs_status ON runs (status)",
    """CREATE TABLE IF NOT EXISTS kill_switch (
    id INTEGER PRIMARY KEY CHECK (id = 1), peak TEXT, peak_at_ms INTEGER,
    rejections INTEGER NOT NULL, unknown INTEGER NOT NULL, clean_streak INTEGER NOT NULL,
    updated_at TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS foreign_activity (
    venue_id TEXT PRIMARY KEY, kind TEXT NOT NULL, market TEXT NOT NULL,
    details TEXT NOT NULL, height INTEGER, recorded_at TEXT NOT NULL)""",
)

# The account marked to market over time (the dashboard's charts and the report
# so far), and who changed the trading state from where (cli, dashboard, ...).
_V3: Final = (
    """CREATE TABLE IF NOT EXISTS equity_samples (
    id INTEGER PRIMARY KEY, at TEXT NOT NULL, equity TEXT NOT NULL,
    free_collateral TEXT NOT NULL, leverage TEXT NOT NULL, margin_usage TEXT NOT NULL,
    positions TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS equity_samples_at ON equity_samples (at)",
    "ALTER TABLE trading_state ADD COLUMN source TEXT NOT NULL DEFAULT ''",
)

# The stop-loss / take-profit levels protecting each market's position, written
# before the entry that sets them is sent.
_V4: Final = (
    """CREATE TABLE IF NOT EXISTS protection (
    market TEXT PRIMARY KEY, side TEXT NOT NULL, stop_loss TEXT, take_profit TEXT,
    signal_id TEXT NOT NULL, updated_at TEXT NOT NULL)""",
)

MIGRATIONS: Final = (_V1, _V2, _V3, _V4)
SCHEMA_VERSION: Final = len(MIGRATIONS)
