"""Stored JSON text back into domain values; anything unreadable is JournalUnavailable."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal

from dydx_trader.domain.errors import DydxTraderError, JournalUnavailable
from dydx_trader.domain.order import Order, OrderIntent, OrderState
from dydx_trader.domain.signal import HintKind, Signal, SignalSource, SizingHint


def order_from_row(intent_json: str, state: str, filled_quantums: str) -> Order:
    """An ``orders`` row (intent JSON, state, filled quantums) as an :class:`Order`."""
    try:
        intent = OrderIntent.from_dict(json.loads(intent_json))
        return Order(intent, OrderState(state), int(filled_quantums))
    except (ValueError, DydxTraderError) as error:
        raise JournalUnavailable(f"a stored order is unreadable: {error}") from None


def signal_from_json(payload: str) -> Signal:
    """The :class:`Signal` whose ``to_dict`` was stored as ``payload``."""
    try:
        data: Mapping[str, str | None] = json.loads(payload)
        kind, value = data.get("sizing_kind"), data.get("sizing_value")
        sizing = None if kind is None else SizingHint(HintKind(kind), Decimal(str(value)))
        return Signal.create(
            id=data["id"],
            market=data["market"],
            action=data["action"],
            confidence=data["confidence"],
            source=SignalSource(str(data["source"])),
            strategy=str(data["strategy"]),
            created_at=datetime.fromisoformat(str(data["created_at"])),
            reference_price=data.get("reference_price"),
            stop_loss=data.get("stop_loss"),
            take_profit=data.get("take_profit"),
            sizing=sizing,
        )
    except (ArithmeticError, KeyError, TypeError, ValueError, DydxTraderError) as error:
        raise JournalUnavailable(f"a stored signal is unreadable: {error}") from None
