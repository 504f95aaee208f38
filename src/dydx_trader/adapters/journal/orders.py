"""Orders: the intent (durable before the send), its state history, and its fills.

* **Intent before send.** :meth:`OrderStore.record_intent` commits (fsync'd with
  the default ``synchronous=FULL``) before it returns, so a crash after it can
  never lose the record of an order that may be on the venue. It refuses to
  run inside a journal unit, where its commit would wait for the unit's.
* **Idempotent.** A repeated intent, state event or fill (by fill id) changes nothing.
* **Exact.** Quantums are stored as integer TEXT (uint64 does not fit SQLite's
  INTEGER), sizes, prices and fees as decimal TEXT; never REAL.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal

from dydx_trader.adapters.journal._codec import order_from_row
from dydx_trader.adapters.journal._db import JournalDb, to_json
from dydx_trader.adapters.journal.records import FillRecord, Transition
from dydx_trader.domain.errors import ClientIdConflict, InvalidInput, UnknownOrder
from dydx_trader.domain.numbers import require_finite
from dydx_trader.domain.order import IN_FLIGHT_STATES, Order, OrderIntent, OrderState

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
_IN_FLIGHT_VALUES = sorted(state.value for state in IN_FLIGHT_STATES)
_SELECT_ORDERS = "SELECT intent, state, filled_quantums FROM orders"
_BY_CREATION = (
    " ORDER BY (SELECT min(id) FROM order_transitions t WHERE t.client_id = orders.client_id)"
)
# Only "?" placeholders are joined in: the states are bound values.
_STATE_IN = " WHERE state IN (" + ", ".join("?" for _ in _IN_FLIGHT_VALUES) + ")"
_IN_FLIGHT = _SELECT_ORDERS + _STATE_IN + _BY_CREATION


class OrderStore(JournalDb):
    """The order, history and fill records of the journal."""

    def record_intent(self, intent: OrderIntent, reason: str = "intent journaled") -> Order:
        """Durably record an order as PENDING_SUBMIT before it is sent; returns the stored order.

        Recording the same intent again returns the stored order unchanged (a
        retry or a restart). Raises :class:`ClientIdConflict` if another intent
        holds this client id, or this signal already has an order under another id.
        """
        self._require_alone("an order intent")
        payload = to_json(intent.to_dict())
        with self._write() as conn:
            held = conn.execute(_ORDER_BY_CLIENT_ID, (intent.client_id,)).fetchone()
            if held is not None:
                order = order_from_row(*held)
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
        return order_from_row(*rows[0])

    def recent_orders(self, limit: int = 20) -> list[Order]:
        """The ``limit`` most recently created orders, newest first."""
        rows = self._read(_RECENT_ORDERS, max(0, limit))
        return [order_from_row(*row) for row in rows]

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
        return order_from_row(*rows[0]) if rows else None

    def in_flight_orders(self) -> list[Order]:
        """Orders whose venue outcome is still open, oldest first: reconcile these at start."""
        rows = self._read(_IN_FLIGHT, *_IN_FLIGHT_VALUES)
        return [order_from_row(*row) for row in rows]

    def last_fill_at_by_market(self) -> dict[str, datetime]:
        """When each market last filled one of our orders (aware UTC): a restarted
        trader's cooldown starts from these, not from nothing."""
        rows = self._read(
            "SELECT o.market, f.filled_at FROM fills f JOIN orders o USING (client_id)"
        )
        latest: dict[str, datetime] = {}
        for market, filled_at in rows:
            at = datetime.fromisoformat(filled_at)
            if market not in latest or at > latest[market]:
                latest[market] = at
        return latest

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
        return order_from_row(*row)

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
                to_json(numbers or {}),
                self._now(),
            ),
        )
