"""Opening the journal's SQLite file: as a writer (creating and upgrading it) or read-only."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

from dydx_trader.adapters.journal._schema import MIGRATIONS, SCHEMA_VERSION
from dydx_trader.domain.errors import JournalUnavailable

# How long a write waits for another connection's lock before it fails (ms).
BUSY_TIMEOUT_MS = 1_000
# Opening may wait longer: switching a new file to WAL and creating or upgrading
# the schema queue behind every other process doing the same at start-up.
_OPEN_TIMEOUT_MS = 15_000


def connect_writer(path: Path, fsync: bool) -> sqlite3.Connection:
    """A read-write connection to ``path``, created (mode 0600) and upgraded if needed."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        _create_private(path)
        conn = sqlite3.connect(
            path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
        )
    except (OSError, sqlite3.Error) as error:
        raise JournalUnavailable(f"cannot open the journal at {path}: {error}") from None
    try:
        _prepare_writer(conn, path, fsync)
    except BaseException:
        conn.close()
        raise
    return conn


def _create_private(path: Path) -> None:
    """Create a new journal file private (mode 0600) before SQLite does (it follows
    the umask). Never touch an existing one: closing *any* descriptor of a file
    drops every POSIX lock this process holds on it, and SQLite's locks of a
    connection already open here would go with it; another process closing the
    journal would then take itself for the last one and delete the write-ahead
    log from under this one."""
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600))
    except FileExistsError:
        pass


def _prepare_writer(conn: sqlite3.Connection, path: Path, fsync: bool) -> None:
    try:
        conn.execute(f"PRAGMA busy_timeout = {_OPEN_TIMEOUT_MS}")
        mode = _enable_wal(conn)
        # FULL: a commit is fsync'd before it returns, so the intent outlives power loss.
        conn.execute(f"PRAGMA synchronous = {'FULL' if fsync else 'NORMAL'}")
        conn.execute("PRAGMA foreign_keys = ON")
        if _version(conn, path) < SCHEMA_VERSION:
            _migrate(conn, path)
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    except sqlite3.Error as error:
        raise JournalUnavailable(f"cannot use the journal at {path}: {error}") from None
    if str(mode).lower() != "wal":
        raise JournalUnavailable(f"the journal at {path} cannot use WAL mode (got {mode})")


def _enable_wal(conn: sqlite3.Connection) -> str:
    """Switch to WAL and return the mode in force. SQLite answers "locked" at once,
    without its busy handler, while another process switches the same new file:
    retry that for as long as opening may wait."""
    deadline = time.monotonic() + _OPEN_TIMEOUT_MS / 1000
    while True:
        try:
            return str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0])
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() >= deadline:
                raise
            time.sleep(0.01)


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        # Another process may have created or upgraded it while we waited.
        for version in range(_version(conn, path), SCHEMA_VERSION):
            for statement in MIGRATIONS[version]:
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _version(conn: sqlite3.Connection, path: Path) -> int:
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version > SCHEMA_VERSION:
        raise JournalUnavailable(
            f"the journal at {path} has schema version {version}; this program reads "
            f"version {SCHEMA_VERSION}",
            version=version,
        )
    return version


def connect_read_only(path: Path, missing_ok: bool) -> sqlite3.Connection:
    """A ``mode=ro``, ``query_only`` connection; an empty in-memory journal when
    ``path`` is missing and ``missing_ok``."""
    if not path.exists():
        if not missing_ok:
            raise JournalUnavailable(f"there is no journal at {path}")
        return _empty_in_memory()
    try:
        conn = sqlite3.connect(
            f"{path.resolve().as_uri()}?mode=ro",
            uri=True,
            isolation_level=None,
            check_same_thread=False,
            timeout=BUSY_TIMEOUT_MS / 1000,
        )
    except sqlite3.Error as error:
        raise JournalUnavailable(f"cannot open the journal at {path} read-only: {error}") from None
    try:
        conn.execute("PRAGMA query_only = ON")
        version = _version(conn, path)
    except sqlite3.Error as error:
        conn.close()
        raise JournalUnavailable(f"cannot read the journal at {path}: {error}") from None
    except BaseException:
        conn.close()
        raise
    if version < SCHEMA_VERSION:
        conn.close()
        what = "is not a journal" if version == 0 else f"has the older schema version {version}"
        raise JournalUnavailable(
            f"the journal at {path} {what}; a writer (dydx-trader run, or trading-state "
            "with a state) upgrades it",
            version=version,
        )
    return conn


def _empty_in_memory() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
    _migrate(conn, Path(":memory:"))
    conn.execute("PRAGMA query_only = ON")
    return conn
