"""The journal's connection: open (writer or read-only), schema, and the write discipline.

* **One transaction per write.** Every writing method runs inside :meth:`JournalDb._write`:
  its own ``BEGIN IMMEDIATE … COMMIT``, or, inside :meth:`JournalDb.unit`, a
  savepoint of the unit's one transaction, so several records commit together
  or not at all.
* **Short lock waits.** The busy timeout (``_connect.BUSY_TIMEOUT_MS``) bounds how
  long a write waits for another process's lock; the trader writes on its event
  loop, so a long wait would freeze it.
* **Read-only mode** (``read_only=True``): a ``mode=ro`` connection with
  ``query_only`` set, no checkpoint on close; every write raises
  :class:`JournalUnavailable` naming the file.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Self

import platformdirs

from dydx_trader.adapters.journal._connect import connect_read_only, connect_writer
from dydx_trader.domain.errors import JournalUnavailable


def default_journal_path() -> Path:
    """``<user data dir>/dydx-trader/journal.sqlite3`` (no I/O)."""
    return Path(platformdirs.user_data_dir("dydx-trader")) / "journal.sqlite3"


def _utc_now() -> datetime:
    return datetime.now(UTC)


def to_json(value: object) -> str:
    """Canonical JSON text (sorted keys, no spaces; decimals and dates as strings)."""
    return json.dumps(value, default=str, sort_keys=True, separators=(",", ":"))


class JournalDb:
    """One open SQLite connection and the rules for using it. Build with :meth:`open`."""

    def __init__(
        self,
        connection: sqlite3.Connection,
        path: Path,
        clock: Callable[[], datetime],
        *,
        read_only: bool = False,
    ) -> None:
        self._conn = connection
        self._lock = threading.RLock()
        self._unit_owner: tuple[int, int | None] | None = None
        self._closed = False
        self.path = path
        self.read_only = read_only
        self._clock = clock

    # -- lifecycle -------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        path: Path | None = None,
        *,
        clock: Callable[[], datetime] = _utc_now,
        fsync: bool = True,
        read_only: bool = False,
        missing_ok: bool = False,
    ) -> Self:
        """Open the journal at ``path`` (default: :func:`default_journal_path`).

        A writer creates the file (mode 0600) and its folder if needed, and
        brings an older schema up to date. ``fsync=True`` (``synchronous=FULL``)
        makes every commit survive power loss, at about 0.5-5 ms a write;
        ``False`` (``NORMAL``) survives a process crash but not an OS crash.

        ``read_only=True`` never creates or changes anything; with
        ``missing_ok=True`` a missing file reads as an empty journal (in memory).
        Raises :class:`JournalUnavailable` if the file cannot be used.
        """
        path = default_journal_path() if path is None else Path(path)
        if read_only:
            return cls(connect_read_only(path, missing_ok), path, clock, read_only=True)
        return cls(connect_writer(path, fsync), path, clock)

    def close(self) -> None:
        """Close (idempotent); later calls raise :class:`JournalUnavailable`.

        A writer checkpoints the WAL passively (never waiting for, or blocking,
        another process); a reader leaves the file alone.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if not self.read_only:
                try:
                    self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
                except sqlite3.Error:
                    pass  # closing must not fail; the WAL is replayed on next open
            self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transactions ----------------------------------------------------------------

    @contextmanager
    def unit(self) -> Iterator[None]:
        """One transaction around several records: they commit together or not at all.

        Synchronous only: never ``await`` inside it (another coroutine's write
        would join this transaction; that is refused). A unit inside a unit
        joins it. The order intent is never recorded inside a unit: it must be
        durable on its own before the send.
        """
        with self._lock:
            if self._unit_owner is not None:
                self._require_unit_owner()
                yield
                return
            with self._transaction():
                self._unit_owner = _owner()
                try:
                    yield
                finally:
                    self._unit_owner = None

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write: its own transaction, or a savepoint of the open unit."""
        with self._lock:
            if self._unit_owner is not None:
                self._require_unit_owner()
                yield from self._savepoint()
                return
            with self._transaction():
                yield self._conn

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """``BEGIN IMMEDIATE … COMMIT``; rolled back on any failure (the lock is held)."""
        self._begin()
        try:
            yield
            self._conn.execute("COMMIT")
        except BaseException as error:
            self._rollback()
            if isinstance(error, sqlite3.Error):
                raise self._failed(error) from None
            raise

    def _savepoint(self) -> Iterator[sqlite3.Connection]:
        try:
            self._conn.execute("SAVEPOINT journal_write")
        except sqlite3.Error as error:
            raise self._failed(error) from None
        try:
            yield self._conn
            self._conn.execute("RELEASE journal_write")
        except BaseException as error:
            try:
                self._conn.execute("ROLLBACK TO journal_write")
                self._conn.execute("RELEASE journal_write")
            except sqlite3.Error:
                pass  # the unit's own rollback undoes it
            if isinstance(error, sqlite3.Error):
                raise self._failed(error) from None
            raise

    def _failed(self, error: sqlite3.Error) -> JournalUnavailable:
        return JournalUnavailable(f"journal {self.path} write failed: {error}")

    def _require_alone(self, what: str) -> None:
        """Refuse ``what`` inside a unit: it must be durable before this call returns."""
        with self._lock:  # a unit in another thread holds the lock until it ends
            if self._unit_owner is not None:
                raise JournalUnavailable(
                    f"{what} commits on its own; record it outside a journal unit"
                )

    def _require_unit_owner(self) -> None:
        if self._unit_owner != _owner():
            raise JournalUnavailable(
                "a journal unit is open in another task (a unit must not await); "
                "this write was refused"
            )

    def _begin(self) -> None:
        if self.read_only:
            raise JournalUnavailable(f"the journal at {self.path} is open read-only")
        try:
            self._conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as error:
            raise JournalUnavailable(f"journal {self.path} is not writable: {error}") from None

    def _rollback(self) -> None:
        # A failed COMMIT may already have rolled back; a second ROLLBACK would
        # raise "no transaction is active" and hide the real error.
        if self._conn.in_transaction:
            try:
                self._conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass

    def check_writable(self) -> None:
        """Begin a write transaction and roll it back (nothing is written); raises
        :class:`JournalUnavailable` when the journal cannot take a write now."""
        with self._lock:
            self._begin()
            self._rollback()

    def _read(self, sql: str, *params: object) -> list[sqlite3.Row]:
        with self._lock:
            try:
                return list(self._conn.execute(sql, params))
            except sqlite3.Error as error:
                raise JournalUnavailable(f"journal {self.path} read failed: {error}") from None

    def _now(self) -> str:
        return self._clock().astimezone(UTC).isoformat()


def _owner() -> tuple[int, int | None]:
    """Who is writing: this thread, and the asyncio task on it if any."""
    try:
        task = asyncio.current_task()
    except RuntimeError:
        task = None
    return threading.get_ident(), None if task is None else id(task)
