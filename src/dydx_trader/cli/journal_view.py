"""How ``dydx-trader journal`` and ``trading-state`` show what they read: tables and JSON.

JSON keeps every decimal as a string (exact) and every time as ISO-8601 UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich.markup import escape
from rich.table import Table

from dydx_trader.adapters.instance_lock import LockHolder
from dydx_trader.adapters.journal import (
    DecisionReport,
    FillRecord,
    ForeignActivity,
    OrderReport,
    TradingStateRecord,
)
from dydx_trader.app.foreign_activity import LIQUIDATION_FILL_TYPES
from dydx_trader.domain.decision import Outcome
from dydx_trader.domain.order import OrderIntent


def plain(value: Decimal | None) -> str:
    """``value`` without an exponent or trailing zeros (``0.25``, ``100``); ``-`` for None."""
    return "-" if value is None else f"{value.normalize():f}"


def holder_line(path: Path, holders: list[LockHolder]) -> str:
    """``journal: <path> (...)``, saying whether a live trader holds it."""
    if not holders:
        return f"journal: {path} (no live trader holds it)"
    held = "; ".join(f"{h.label}, {h.describe()}" for h in holders)
    return f"journal: {path} (live trader: {held})"


def holders_json(holders: list[LockHolder]) -> list[dict[str, Any]]:
    return [
        {
            "pid": h.pid,
            "host": h.host,
            "trades": h.label,
            "since": None if h.since is None else h.since.isoformat(),
        }
        for h in holders
    ]


def state_json(record: TradingStateRecord) -> dict[str, str | None]:
    return {
        "state": record.state.value,
        "reason": record.reason,
        "set_by": record.authority.value,
        "since": None if record.at is None else record.at.isoformat(),
    }


def state_line(record: TradingStateRecord) -> str:
    since = "" if record.at is None else f" since {record.at:%Y-%m-%d %H:%M:%S} UTC"
    # An empty reason once hid why trading had stopped (review F8): say that it is missing.
    reason = record.reason or "no reason was recorded"
    return (
        f"Trading state: [bold]{record.state.value}[/bold]{since} "
        f"({record.authority.value}: {escape(reason)})"
    )


# -- decisions ------------------------------------------------------------------------------


def _order_cell(report: DecisionReport) -> str:
    decision = report.decision
    if decision.outcome is not Outcome.ACCEPTED:
        return ""
    if report.order_state is None:
        return "not sent"
    return f"{report.order_state.value} {plain(report.filled_size)}/{plain(decision.size)}"


def decisions_table(reports: list[DecisionReport]) -> Table:
    table = Table(title="Recent decisions (newest first)")
    for column in ("decided at (UTC)", "signal", "market", "outcome", "order", "reason"):
        table.add_column(column, overflow="fold")
    for report in reports:
        decision = report.decision
        colour = "green" if decision.outcome is Outcome.ACCEPTED else "red"
        table.add_row(
            decision.decided_at.strftime("%Y-%m-%d %H:%M:%S"),
            decision.signal_id,
            decision.market,
            f"[{colour}]{decision.outcome.value}[/{colour}]",
            _order_cell(report),
            decision.reason,
        )
    return table


def decision_json(report: DecisionReport) -> dict[str, Any]:
    data: dict[str, Any] = dict(report.decision.to_dict())
    data["order_state"] = None if report.order_state is None else report.order_state.value
    data["order_filled_quantums"] = report.filled_quantums
    data["order_filled_size"] = None if report.filled_size is None else str(report.filled_size)
    return data


# -- orders ---------------------------------------------------------------------------------


def _average_price(fills: tuple[FillRecord, ...]) -> Decimal | None:
    size = sum((f.size for f in fills), Decimal(0))
    if not size:
        return None
    return sum((f.size * f.price for f in fills), Decimal(0)) / size


def orders_table(reports: list[OrderReport], title: str) -> Table:
    table = Table(title=title)
    for column in ("client id", "signal", "market", "side", "state", "filled / size",
                   "good-til", "fills", "last change (UTC)", "last reason"):  # fmt: skip
        table.add_column(column, overflow="fold")
    for report in reports:
        intent = report.order.intent
        average = _average_price(report.fills)
        fills = str(len(report.fills)) + ("" if average is None else f" (avg {plain(average)})")
        if report.size is None:
            amounts = f"{report.order.filled_quantums}/{intent.quantums} quantums"
        else:
            amounts = f"{plain(report.filled_size)}/{plain(report.size)}"
        table.add_row(
            str(intent.client_id),
            intent.signal_id,
            intent.market,
            _side(intent),
            report.order.state.value,
            amounts,
            _good_til(intent),
            fills,
            "" if report.last_at is None else report.last_at.strftime("%Y-%m-%d %H:%M:%S"),
            report.last_reason,
        )
    return table


def _side(intent: OrderIntent) -> str:
    """``SELL reduce-only STOP_LOSS``: a protective order names its condition."""
    words = [intent.side.value, "reduce-only" if intent.reduce_only else ""]
    words.append("" if intent.condition_type is None else intent.condition_type.value)
    return " ".join(word for word in words if word)


def _good_til(intent: OrderIntent) -> str:
    """A short-term order's good-til-block; a stateful one's good-til-block-time (UTC)."""
    if intent.good_til_block is not None or intent.good_til_block_time is None:
        return str(intent.good_til_block)
    return f"{datetime.fromtimestamp(intent.good_til_block_time, UTC):%Y-%m-%d %H:%M}"


def order_json(report: OrderReport) -> dict[str, Any]:
    intent = report.order.intent
    return {
        "client_id": intent.client_id,
        "signal_id": intent.signal_id,
        "market": intent.market,
        "side": intent.side.value,
        "state": report.order.state.value,
        "size": None if report.size is None else str(report.size),
        "filled_size": None if report.filled_size is None else str(report.filled_size),
        "quantums": intent.quantums,
        "filled_quantums": report.order.filled_quantums,
        "subticks": intent.subticks,
        "good_til_block": intent.good_til_block,
        "good_til_block_time": intent.good_til_block_time,
        "condition_type": None if intent.condition_type is None else intent.condition_type.value,
        "trigger_subticks": intent.trigger_subticks,
        "time_in_force": intent.time_in_force.value,
        "reduce_only": intent.reduce_only,
        "last_reason": report.last_reason,
        "last_at": None if report.last_at is None else report.last_at.isoformat(),
        "fills": [
            {
                "fill_id": f.fill_id,
                "quantums": f.quantums,
                "size": str(f.size),
                "price": str(f.price),
                "fee": str(f.fee),
                "height": f.height,
                "filled_at": f.filled_at.isoformat(),
            }
            for f in report.fills
        ],
    }


# -- foreign activity (liquidations among it) -------------------------------------------------

def foreign_table(records: list[ForeignActivity]) -> Table:
    """Orders and fills on the subaccount that this trader did not place, newest first:
    liquidation and deleveraging fills in red, with what went to the insurance fund."""
    table = Table(title="Foreign activity: not placed by this trader (newest first)")
    for column in ("recorded at (UTC)", "what", "market", "side", "size", "price", "fee",
                   "height", "venue id"):  # fmt: skip
        table.add_column(column, overflow="fold")
    for record in records:
        details = record.details
        kind = details.get("type", "")
        what = f"{record.kind} {kind}".strip()
        if kind in LIQUIDATION_FILL_TYPES:
            what = f"[red]{escape(what)}[/red]"
        else:
            what = escape(what)
        table.add_row(
            record.recorded_at.strftime("%Y-%m-%d %H:%M:%S"),
            what,
            record.market,
            details.get("side", ""),
            details.get("size", ""),
            details.get("price", ""),
            details.get("fee", ""),
            "" if record.height is None else str(record.height),
            record.venue_id,
        )
    return table


def foreign_json(record: ForeignActivity) -> dict[str, Any]:
    return {
        "kind": record.kind,
        "venue_id": record.venue_id,
        "market": record.market,
        "liquidation": record.details.get("type") in LIQUIDATION_FILL_TYPES,
        "details": dict(record.details),
        "height": record.height,
        "recorded_at": record.recorded_at.isoformat(),
    }
