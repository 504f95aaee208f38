"""The journal: one SQLite file (WAL mode) that remembers everything that costs money.

Signals, validation results, decisions with their arithmetic, orders with their
state history, fills, the trading state and runs. The rules it keeps:

* **Intent before send.** :meth:`Journal.record_intent` commits (fsync'd with
  the default ``synchronous=FULL``) before it returns, so a crash after it can
  never lose the record of an order that may be on the venue.
* **One transaction per write.** Every method that writes does it inside one
  ``BEGIN IMMEDIATE … COMMIT``; a failure anywhere rolls the whole write back.
* **Idempotent.** A repeated signal, intent, state event or fill (by fill id)
  changes nothing.
* **Exact.** Money, prices and sizes are stored as decimal TEXT, quantums as
  integer TEXT (uint64 does not fit SQLite's INTEGER); never REAL.
* **Nothing secret.** No method takes a secret; callers pass values only.

Calls are short (tens of microseconds, plus the fsync of a write: ~0.7 ms),
so the app may call them on the event loop; a connection-wide lock makes the
object safe to use from ``asyncio.to_thread`` as well. Another process (the
CLI's ``trading-state``) may read and write the same file concurrently.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import platformdirs

from dydx_trader.domain.decision import Decision
from dydx_trader.domain.errors import (
    ClientIdConflict,
    DydxTraderError,
    InvalidInput,
    JournalUnavailable,
    UnknownOrder,
)
from dydx_trader.domain.numbers import require_finite
from dydx_trader.domain.order import IN_FLIGHT_STATES, Order, OrderIntent, OrderState
from dydx_trader.domain.signal import Signal
from dydx_trader.domain.trading_state import Authority, TradingState, check_transition

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE runs (
    id INTEGER PRIMARY KEY, started_at TEXT NOT NULL, finished_at TEXT,
    mode TEXT NOT NULL, network TEXT NOT NULL, status TEXT NOT NULL, details TEXT NOT NULL);
CREATE TABLE signals (
    signal_id TEXT PRIMARY KEY, market TEXT NOT NULL, action TEXT NOT NULL,
    source TEXT NOT NULL, strategy TEXT NOT NULL, created_at TEXT NOT NULL,
    recorded_at TEXT NOT NULL, payload TEXT NOT NULL);
CREATE TABLE validations (
    id INTEGER PRIMARY KEY, signal_id TEXT NOT NULL, accepted INTEGER NOT NULL,
    rule TEXT, reason TEXT NOT NULL, numbers TEXT NOT NULL, recorded_at TEXT NOT NULL);
CREATE TABLE decisions (
    id INTEGER PRIMARY KEY, signal_id TEXT NOT NULL, market TEXT NOT NULL,
    outcome TEXT NOT NULL, error_code TEXT, reason TEXT NOT NULL,
    arithmetic TEXT NOT NULL, payload TEXT NOT NULL, decided_at TEXT NOT NULL);
CREATE INDEX decisions_signal ON decisions (signal_id);
CREATE TABLE orders (
    client_id INTEGER PRIMARY KEY, signal_id TEXT NOT NULL UNIQUE, market TEXT NOT NULL,
    side TEXT NOT NULL, quantums TEXT NOT NULL, subticks TEXT NOT NULL,
    state TEXT NOT NULL, filled_quantums TEXT NOT NULL, intent TEXT NOT NULL,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE INDEX orders_state ON orders (state);
CREATE TABLE order_transitions (
    id INTEGER PRIMARY KEY, client_id INTEGER NOT NULL REFERENCES orders (client_id),
    from_state TEXT, to_state TEXT NOT NULL, reason TEXT NOT NULL,
    numbers TEXT NOT NULL, at TEXT NOT NULL);
CREATE INDEX order_transitions_client ON order_transitions (client_id);
CREATE TABLE fills (
    fill_id TEXT PRIMARY KEY, client_id INTEGER NOT NULL REFERENCES orders (client_id),
    quantums TEXT NOT NULL, size TEXT NOT NULL, price TEXT NOT NULL, fee TEXT NOT NULL,
    height INTEGER, filled_at TEXT NOT NULL, recorded_at TEXT NOT NULL);
CREATE TABLE trading_state (
    id INTEGER PRIMARY KEY, state TEXT NOT NULL, reason TEXT NOT NULL,
    authority TEXT NOT NULL, at TEXT NOT NULL);
"""

_ORDER_BY_CLIENT_ID = "SELECT intent, state, filled_quantums FROM orders WHERE client_id = ?"
_ORDER_BY_SIGNAL = "SELECT intent, state, filled_quantums FROM orders WHERE signal_id = ?"
# Orders sort by insertion: each order's first history row is written with it.
_RECENT_ORDERS = (
    "SELECT intent, state, filled_quantums FROM orders "
    "ORDER BY (SELECT min(id) FROM order_transitions t WHERE t.client_id = orders.client_id) "
    "DESC LIMIT ?"
)
_FILLS_OF_ORDER = (
    "SELECT fill_id, quantums, size, price, fee, height, filled_at FROM fills "
    "WHERE client_id = ? ORDER BY recorded_at, rowid"
)
_IN_FLIGHT = (
    "SELECT intent, state, filled_quantums FROM orders WHERE state IN (?, ?, ?, ?, ?) "
    "ORDER BY (SELECT min(id) FROM order_transitions t WHERE t.client_id = orders.client_id)"
)


def default_journal_path() -> Path:
    """``<user data dir>/dydx-trader/journal.sqlite3`` (no I/O)."""
    return Path(platformdirs.user_data_dir("dydx-trader")) / "journal.sqlite3"


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Transition:
    """One step of an order's history (``from_state`` is None for the first)."""

    client_id: int
    from_state: OrderState | None
    to_state: OrderState
    reason: str
    numbers: Mapping[str, str]
    at: datetime


@dataclass(frozen=True, slots=True)
class FillRecord:
    """One applied fill: ``quantums`` base quantums, ``size`` base units, ``price`` and
    ``fee`` USDC (fee negative for a maker rebate), ``height`` the block if known."""

    fill_id: str
    client_id: int
    quantums: int
    size: Decimal
    price: Decimal
    fee: Decimal
    height: int | None
    filled_at: datetime


@dataclass(frozen=True, slots=True)
class TradingStateRecord:
    """The persisted trading state, why, by whom and since when (None: never set)."""

    state: TradingState
    reason: str
    authority: Authority
    at: datetime | None


class Journal:
    """The journal over one open SQLite connection. Build with :meth:`open`."""

    def __init__(self, connection: sqlite3.Connection, path: Path, clock: Callable[[], datetime]):
        self._conn = connection
        self._lock = threading.RLock()
        self.path = path
        self._clock = clock

    # -- lifecycle -------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        path: Path | None = None,
        *,
        clock: Callable[[], datetime] = _utc_now,
        fsync: bool = True,
    ) -> Journal:
        """Open (creating if needed, mode 0600) the journal at ``path`` or the default path.

        ``fsync=True`` (``synchronous=FULL``) makes every commit survive power
        loss, at about 0.5-5 ms a write; ``False`` (``NORMAL``) survives a process
        crash but not an OS crash, at tens of microseconds. Raises
        :class:`JournalUnavailable` if the file cannot be used.
        """
        path = default_journal_path() if path is None else Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            # Create it private before SQLite does (which would follow the umask).
            os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=5)
        except (OSError, sqlite3.Error) as error:
            raise JournalUnavailable(f"cannot open the journal at {path}: {error}") from None
        try:
            _prepare(conn, path, fsync)
        except BaseException:
            conn.close()
            raise
        return cls(conn, path, clock)

    def close(self) -> None:
        """Checkpoint the WAL and close; further calls raise :class:`JournalUnavailable`."""
        with self._lock:
            try:
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error:
                pass  # closing must not fail; the WAL is replayed on next open
            self._conn.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: everything inside commits together or not at all."""
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as error:
                raise JournalUnavailable(f"journal {self.path} is not writable: {error}") from None
            try:
                yield self._conn
                self._conn.execute("COMMIT")
            except BaseException as error:
                self._conn.execute("ROLLBACK")
                if isinstance(error, sqlite3.Error):
                    raise JournalUnavailable(f"journal write failed: {error}") from error
                raise

    def _read(self, sql: str, *params: object) -> list[sqlite3.Row]:
        with self._lock:
            try:
                return list(self._conn.execute(sql, params))
            except sqlite3.Error as error:
                raise JournalUnavailable(f"journal read failed: {error}") from None

    def _now(self) -> str:
        return self._clock().astimezone(UTC).isoformat()

    # -- runs, signals, validations, decisions ---------------------------------------

    def start_run(self, mode: str, network: str, details: Mapping[str, str] | None = None) -> int:
        """Record that a run started; returns its id for :meth:`finish_run`."""
        with self._write() as conn:
            cursor = conn.execute(
                "INSERT INTO runs (started_at, mode, network, status, details) "
                "VALUES (?, ?, ?, 'running', ?)",
                (self._now(), mode, network, _json(details or {})),
            )
            return int(cursor.lastrowid or 0)

    def finish_run(self, run_id: int, status: str) -> None:
        with self._write() as conn:
            conn.execute(
                "UPDATE runs SET finished_at = ?, status = ? WHERE id = ?",
                (self._now(), status, run_id),
            )

    def record_signal(self, signal: Signal) -> bool:
        """Record a signal; False if its id was already recorded (nothing changes)."""
        with self._write() as conn:
            cursor = conn.execute(
                "INSERT OR IGNORE INTO signals (signal_id, market, action, source, strategy, "
                "created_at, recorded_at, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    signal.id,
                    signal.market,
                    signal.action.value,
                    signal.source.value,
                    signal.strategy,
                    signal.created_at.isoformat(),
                    self._now(),
                    _json(signal.to_dict()),
                ),
            )
            return cursor.rowcount == 1

    def record_validation(
        self,
        signal_id: str,
        *,
        accepted: bool,
        rule: str | None = None,
        reason: str = "",
        numbers: Mapping[str, object] | None = None,
    ) -> None:
        """Record a validator verdict: accepted, or refused by ``rule`` because ``reason``."""
        with self._write() as conn:
            conn.execute(
                "INSERT INTO validations (signal_id, accepted, rule, reason, numbers, "
                "recorded_at) VALUES (?, ?, ?, ?, ?, ?)",
                (signal_id, int(accepted), rule, reason, _json(numbers or {}), self._now()),
            )

    def record_decision(self, decision: Decision) -> None:
        """Record a decision and its arithmetic (as JSON text)."""
        with self._write() as conn:
            conn.execute(
                "INSERT INTO decisions (signal_id, market, outcome, error_code, reason, "
                "arithmetic, payload, decided_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    decision.signal_id,
                    decision.market,
                    decision.outcome.value,
                    decision.error_code,
                    decision.reason,
                    _json([list(line) for line in decision.arithmetic]),
                    _json(decision.to_dict()),
                    decision.decided_at.isoformat(),
                ),
            )

    def recent_decisions(self, limit: int = 20) -> list[Decision]:
        """The ``limit`` latest decisions, newest first."""
        rows = self._read("SELECT payload FROM decisions ORDER BY id DESC LIMIT ?", max(0, limit))
        return [Decision.from_dict(json.loads(row[0])) for row in rows]

    # -- orders ------------------------------------------------------------------------

    def record_intent(self, intent: OrderIntent, reason: str = "intent journaled") -> Order:
        """Durably record an order as PENDING_SUBMIT before it is sent; returns the stored order.

        Recording the same intent again returns the stored order unchanged (a
        retry or a restart). Raises :class:`ClientIdConflict` if another intent
        holds this client id, or this signal already has an order under another id.
        """
        payload = _json(intent.to_dict())
        with self._write() as conn:
            held = conn.execute(_ORDER_BY_CLIENT_ID, (intent.client_id,)).fetchone()
            if held is not None:
                order = _order(held)
                if order.intent == intent:
                    return order
                raise ClientIdConflict(
                    f"client id {intent.client_id} already belongs to signal "
                    f"{order.intent.signal_id!r} ({order.state.value}); derive the next nonce",
                    client_id=intent.client_id,
                )
            other = conn.execute(
                "SELECT client_id FROM orders WHERE signal_id = ?", (intent.signal_id,)
            ).fetchone()
            if other is not None:
                raise ClientIdConflict(
                    f"signal {intent.signal_id!r} already has order {other[0]}; reuse it",
                    client_id=int(other[0]),
                )
            now = self._now()
            conn.execute(
                "INSERT INTO orders (client_id, signal_id, market, side, quantums, subticks, "
                "state, filled_quantums, intent, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, '0', ?, ?, ?)",
                (
                    intent.client_id,
                    intent.signal_id,
                    intent.market,
                    intent.side.value,
                    str(intent.quantums),
                    str(intent.subticks),
                    OrderState.PENDING_SUBMIT.value,
                    payload,
                    now,
                    now,
                ),
            )
            self._log_transition(conn, intent.client_id, None, OrderState.PENDING_SUBMIT, reason)
            return Order(intent)

    def transition(
        self, client_id: int, new_state: OrderState, reason: str, **numbers: object
    ) -> Order:
        """Move an order to ``new_state`` (FSM-checked) and append it to its history.

        Moving to the current state changes nothing. Raises :class:`UnknownOrder`
        or :class:`IllegalStateTransition` (and then nothing is written).
        """
        with self._write() as conn:
            order = self._load(conn, client_id)
            moved = order.moved_to(new_state)
            if moved is not order:
                self._save(conn, order, moved, reason, numbers)
            return moved

    def record_fill(
        self,
        client_id: int,
        fill_id: str,
        *,
        quantums: int,
        size: Decimal,
        price: Decimal,
        fee: Decimal,
        filled_at: datetime | None = None,
        height: int | None = None,
    ) -> bool:
        """Apply one fill (``quantums`` base quantums; size, price, fee in human units / USDC).

        Returns False if ``fill_id`` was already applied (nothing changes). The
        order's filled quantity and state move with it in the same transaction.
        """
        for name, value in (("size", size), ("price", price), ("fee", fee)):
            require_finite(f"fill {name}", value)
        with self._write() as conn:
            seen = conn.execute("SELECT client_id FROM fills WHERE fill_id = ?", (fill_id,))
            row = seen.fetchone()
            if row is not None:
                if int(row[0]) != client_id:
                    raise InvalidInput(
                        f"fill {fill_id!r} was already recorded for order {row[0]}, "
                        f"not {client_id}",
                        client_id=client_id,
                    )
                return False
            order = self._load(conn, client_id)
            filled = order.filled_by(quantums)
            conn.execute(
                "INSERT INTO fills (fill_id, client_id, quantums, size, price, fee, height, "
                "filled_at, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    fill_id,
                    client_id,
                    str(quantums),
                    str(size),
                    str(price),
                    str(fee),
                    height,
                    (filled_at or self._clock()).astimezone(UTC).isoformat(),
                    self._now(),
                ),
            )
            self._save(conn, order, filled, f"fill {fill_id}", {"fill_quantums": quantums})
            return True

    def order(self, client_id: int) -> Order:
        """The order with ``client_id``; :class:`UnknownOrder` if there is none."""
        rows = self._read(_ORDER_BY_CLIENT_ID, client_id)
        if not rows:
            raise UnknownOrder(f"the journal has no order {client_id}", client_id=client_id)
        return _order(rows[0])

    def recent_orders(self, limit: int = 20) -> list[Order]:
        """The ``limit`` most recently created orders, newest first."""
        rows = self._read(_RECENT_ORDERS, max(0, limit))
        return [_order(row) for row in rows]

    def fills(self, client_id: int) -> list[FillRecord]:
        """The fills applied to one order, in the order they were recorded."""
        rows = self._read(_FILLS_OF_ORDER, client_id)
        return [
            FillRecord(
                fill_id=row[0],
                client_id=client_id,
                quantums=int(row[1]),
                size=Decimal(row[2]),
                price=Decimal(row[3]),
                fee=Decimal(row[4]),
                height=row[5],
                filled_at=datetime.fromisoformat(row[6]),
            )
            for row in rows
        ]

    def order_by_signal(self, signal_id: str) -> Order | None:
        rows = self._read(_ORDER_BY_SIGNAL, signal_id)
        return _order(rows[0]) if rows else None

    def in_flight_orders(self) -> list[Order]:
        """Orders whose venue outcome is still open, oldest first: reconcile these at start."""
        rows = self._read(_IN_FLIGHT, *sorted(state.value for state in IN_FLIGHT_STATES))
        return [_order(row) for row in rows]

    def order_history(self, client_id: int) -> list[Transition]:
        rows = self._read(
            "SELECT from_state, to_state, reason, numbers, at FROM order_transitions "
            "WHERE client_id = ? ORDER BY id",
            client_id,
        )
        return [
            Transition(
                client_id=client_id,
                from_state=None if row[0] is None else OrderState(row[0]),
                to_state=OrderState(row[1]),
                reason=row[2],
                numbers=json.loads(row[3]),
                at=datetime.fromisoformat(row[4]),
            )
            for row in rows
        ]

    def _load(self, conn: sqlite3.Connection, client_id: int) -> Order:
        row = conn.execute(_ORDER_BY_CLIENT_ID, (client_id,)).fetchone()
        if row is None:
            raise UnknownOrder(f"the journal has no order {client_id}", client_id=client_id)
        return _order(row)

    def _save(
        self,
        conn: sqlite3.Connection,
        old: Order,
        new: Order,
        reason: str,
        numbers: Mapping[str, object],
    ) -> None:
        conn.execute(
            "UPDATE orders SET state = ?, filled_quantums = ?, updated_at = ? WHERE client_id = ?",
            (new.state.value, str(new.filled_quantums), self._now(), new.client_id),
        )
        if new.state is not old.state or numbers:
            self._log_transition(conn, new.client_id, old.state, new.state, reason, numbers)

    def _log_transition(
        self,
        conn: sqlite3.Connection,
        client_id: int,
        old: OrderState | None,
        new: OrderState,
        reason: str,
        numbers: Mapping[str, object] | None = None,
    ) -> None:
        conn.execute(
            "INSERT INTO order_transitions (client_id, from_state, to_state, reason, numbers, at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                client_id,
                None if old is None else old.value,
                new.value,
                reason,
                _json(numbers or {}),
                self._now(),
            ),
        )

    # -- trading state -------------------------------------------------------------------

    def get_trading_state(self) -> TradingStateRecord:
        """The persisted trading state (ACTIVE if it was never set)."""
        rows = self._read(
            "SELECT state, reason, authority, at FROM trading_state ORDER BY id DESC LIMIT 1"
        )
        if not rows:
            return TradingStateRecord(TradingState.ACTIVE, "never set", Authority.OPERATOR, None)
        state, reason, authority, at = rows[0]
        return TradingStateRecord(
            TradingState(state), reason, Authority(authority), datetime.fromisoformat(at)
        )

    def set_trading_state(
        self, state: TradingState, reason: str, by: Authority = Authority.AUTOMATIC
    ) -> TradingStateRecord:
        """Persist a state change, checked against the table for ``by``; returns the result.

        Reading and writing happen in one transaction, so two processes cannot
        interleave. Setting the current state again changes nothing.
        """
        with self._write() as conn:
            row = conn.execute(
                "SELECT state, reason, authority, at FROM trading_state ORDER BY id DESC LIMIT 1"
            ).fetchone()
            current = TradingState.ACTIVE if row is None else TradingState(row[0])
            if not check_transition(current, state, by) and row is not None:
                return TradingStateRecord(
                    current, row[1], Authority(row[2]), datetime.fromisoformat(row[3])
                )
            now = self._now()
            conn.execute(
                "INSERT INTO trading_state (state, reason, authority, at) VALUES (?, ?, ?, ?)",
                (state.value, reason, by.value, now),
            )
            return TradingStateRecord(state, reason, by, datetime.fromisoformat(now))


def _prepare(conn: sqlite3.Connection, path: Path, fsync: bool) -> None:
    try:
        conn.execute("PRAGMA busy_timeout = 5000")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        # FULL: a commit is fsync'd before it returns, so the intent outlives power loss.
        conn.execute(f"PRAGMA synchronous = {'FULL' if fsync else 'NORMAL'}")
        conn.execute("PRAGMA foreign_keys = ON")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version == 0:
            conn.executescript(
                f"BEGIN IMMEDIATE; {_SCHEMA} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
            )
        elif version != SCHEMA_VERSION:
            raise JournalUnavailable(
                f"the journal at {path} has schema version {version}; this program reads "
                f"version {SCHEMA_VERSION}",
                version=version,
            )
    except sqlite3.Error as error:
        raise JournalUnavailable(f"cannot use the journal at {path}: {error}") from None
    if str(mode).lower() != "wal":
        raise JournalUnavailable(f"the journal at {path} cannot use WAL mode (got {mode})")


def _order(row: sqlite3.Row | tuple[str, str, str]) -> Order:
    intent_json, state, filled = row
    try:
        intent = OrderIntent.from_dict(json.loads(intent_json))
        return Order(intent, OrderState(state), int(filled))
    except (ValueError, DydxTraderError) as error:
        raise JournalUnavailable(f"a stored order is unreadable: {error}") from None


def _json(value: object) -> str:
    return json.dumps(value, default=str, sort_keys=True, separators=(",", ":"))
