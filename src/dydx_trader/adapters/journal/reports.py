"""What the operator reads after the fact: orders with their fills and last word,
decisions with the state of the order they led to (``dydx-trader journal``)."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal

from dydx_trader.adapters.journal._codec import order_from_row
from dydx_trader.adapters.journal.orders import OrderStore
from dydx_trader.adapters.journal.records import DecisionReport, FillRecord, OrderReport
from dydx_trader.domain.decision import Decision, Outcome
from dydx_trader.domain.order import IN_FLIGHT_STATES, Order, OrderState

_ORDERS = "SELECT intent, state, filled_quantums FROM orders"
_BY_AGE = (
    " ORDER BY (SELECT min(id) FROM order_transitions t WHERE t.client_id = orders.client_id)"
    " DESC LIMIT ?"
)


class OrderReports(OrderStore):
    """Read-only reports over orders and decisions."""

    def order_reports(self, limit: int = 20, *, in_flight_only: bool = False) -> list[OrderReport]:
        """The ``limit`` most recent orders (only those still in flight, if asked), newest first."""
        if in_flight_only:
            states = sorted(state.value for state in IN_FLIGHT_STATES)
            marks = ", ".join("?" for _ in states)
            where = f" WHERE state IN ({marks})"
            rows = self._read(_ORDERS + where + _BY_AGE, *states, max(0, limit))
        else:
            rows = self._read(_ORDERS + _BY_AGE, max(0, limit))
        return [self._report(order_from_row(*row)) for row in rows]

    def decision_reports(self, limit: int = 20) -> list[DecisionReport]:
        """The ``limit`` latest decisions, newest first, each with its order's state."""
        rows = self._read(
            "SELECT d.payload, o.state, o.filled_quantums FROM decisions d "
            "LEFT JOIN orders o ON o.signal_id = d.signal_id AND d.outcome = ? "
            "ORDER BY d.id DESC LIMIT ?",
            Outcome.ACCEPTED.value,
            max(0, limit),
        )
        return [_decision_report(payload, state, filled) for payload, state, filled in rows]

    def _report(self, order: Order) -> OrderReport:
        fills = tuple(self.fills(order.client_id))
        last = self._read(
            "SELECT reason, at FROM order_transitions WHERE client_id = ? ORDER BY id DESC LIMIT 1",
            order.client_id,
        )
        unit = self._size_of_quantum(order, fills)
        return OrderReport(
            order=order,
            size=None if unit is None else _trimmed(unit * order.intent.quantums),
            filled_size=None if unit is None else _trimmed(unit * order.filled_quantums),
            fills=fills,
            last_reason=last[0][0] if last else "",
            last_at=datetime.fromisoformat(last[0][1]) if last else None,
        )

    def _size_of_quantum(self, order: Order, fills: tuple[FillRecord, ...]) -> Decimal | None:
        """Base units per quantum of the order's market (a power of ten), from its
        accepted decision or a fill; None when neither says."""
        rows = self._read(
            "SELECT payload FROM decisions WHERE signal_id = ? AND outcome = ? "
            "ORDER BY id DESC LIMIT 1",
            order.intent.signal_id,
            Outcome.ACCEPTED.value,
        )
        if rows:
            decision = Decision.from_dict(json.loads(rows[0][0]))
            if decision.size is not None and decision.quantums:
                return decision.size / decision.quantums
        for fill in fills:
            if fill.quantums:
                return fill.size / fill.quantums
        return None


def _trimmed(value: Decimal) -> Decimal:
    """``value`` without trailing zeros, never in exponent form (``0.25``, ``100``)."""
    return value.quantize(Decimal(1)) if value == value.to_integral() else value.normalize()


def _decision_report(payload: str, state: str | None, filled: str | None) -> DecisionReport:
    decision = Decision.from_dict(json.loads(payload))
    if state is None or filled is None:
        return DecisionReport(decision, None, None, None)
    filled_size = None
    if decision.size is not None and decision.quantums:
        filled_size = _trimmed(decision.size / decision.quantums * int(filled))
    return DecisionReport(decision, OrderState(state), int(filled), filled_size)
