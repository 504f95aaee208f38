"""The account marked to market over time: one row per sample, read back in a window.

The trader records a sample each time it marks the account to market (every
candle close in a paper replay, every minute live); the dashboard draws its
equity, drawdown and leverage charts and the report so far from them, so the
journal stays the one record of what the account was worth when.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal

from dydx_trader.adapters.journal._db import JournalDb, to_json
from dydx_trader.adapters.journal.records import AccountSample, PositionFigures
from dydx_trader.domain.errors import JournalUnavailable
from dydx_trader.domain.margin import AccountRisk, PositionRisk

_INSERT = (
    "INSERT INTO equity_samples (at, equity, free_collateral, leverage, margin_usage, "
    "positions) VALUES (?, ?, ?, ?, ?, ?)"
)
_SELECT = "SELECT at, equity, free_collateral, leverage, margin_usage, positions"
_COUNT = (
    "SELECT count(*) FROM equity_samples WHERE (? IS NULL OR at >= ?) AND (? IS NULL OR at <= ?)"
)
# Every stride-th sample of the window (numbered from 0), and the last.
_THINNED = (
    " FROM (SELECT *, row_number() OVER (ORDER BY at, id) - 1 AS n FROM equity_samples"
    " WHERE (? IS NULL OR at >= ?) AND (? IS NULL OR at <= ?))"
    " WHERE n % ? = 0 OR n = ? - 1 ORDER BY at, id"
)
# A chart never needs more points than a screen has pixels across.
MAX_POINTS = 2_000


class EquitySampleLog(JournalDb):
    """The ``equity_samples`` records of the journal."""

    def record_equity_sample(self, at: datetime, risk: AccountRisk) -> None:
        """Record the account as marked at ``at`` (aware)."""
        zero = Decimal(0)
        with self._write() as conn:
            conn.execute(
                _INSERT,
                (
                    at.astimezone(UTC).isoformat(),
                    str(risk.equity),
                    str(risk.sizing_free_collateral),
                    str(risk.leverage if risk.leverage is not None else zero),
                    str(risk.margin_usage if risk.margin_usage is not None else zero),
                    to_json([_position_dict(p) for p in risk.positions]),
                ),
            )

    def equity_samples(
        self,
        since: datetime | None = None,
        until: datetime | None = None,
        *,
        max_points: int = MAX_POINTS,
    ) -> list[AccountSample]:
        """The samples in ``[since, until]`` (None: unbounded), oldest first, thinned
        evenly to at most ``max_points`` (the last one always kept)."""
        bounds = _bounds(since, until)
        count = int(self._read(_COUNT, *bounds)[0][0])
        stride = max(1, -(-count // max(1, max_points)))
        rows = self._read(_SELECT + _THINNED, *bounds, stride, count)
        return [_sample(*row) for row in rows]

    def latest_equity_sample(self) -> AccountSample | None:
        """The newest sample, or None before the first."""
        rows = self._read(_SELECT + " FROM equity_samples ORDER BY at DESC, id DESC LIMIT 1")
        return _sample(*rows[0]) if rows else None


def _bounds(since: datetime | None, until: datetime | None) -> tuple[str | None, ...]:
    low = None if since is None else since.astimezone(UTC).isoformat()
    high = None if until is None else until.astimezone(UTC).isoformat()
    return (low, low, high, high)


def _position_dict(position: PositionRisk) -> dict[str, object]:
    return {
        "market": position.market,
        "size": position.size,
        "entry_price": position.entry_price,
        "oracle_price": position.oracle_price,
        "notional": position.notional,
        "unrealized_pnl": position.unrealized_pnl,
        "leverage": position.leverage,
        "liquidation_price": position.liquidation_price,
        "liquidation_distance_pct": position.liquidation_distance_pct,
    }


def _sample(
    at: str, equity: str, free: str, leverage: str, usage: str, positions: str
) -> AccountSample:
    try:
        return AccountSample(
            at=datetime.fromisoformat(at),
            equity=Decimal(equity),
            free_collateral=Decimal(free),
            leverage=Decimal(leverage),
            margin_usage=Decimal(usage),
            positions=tuple(_position(p) for p in json.loads(positions)),
        )
    except (ArithmeticError, KeyError, TypeError, ValueError) as error:
        raise JournalUnavailable(f"a stored equity sample is unreadable: {error}") from None


def _position(data: Mapping[str, str | None]) -> PositionFigures:
    def number(key: str) -> Decimal:
        return Decimal(str(data[key]))

    def optional(key: str) -> Decimal | None:
        value = data.get(key)
        return None if value is None else Decimal(value)

    return PositionFigures(
        market=str(data["market"]),
        size=number("size"),
        entry_price=number("entry_price"),
        oracle_price=number("oracle_price"),
        notional=number("notional"),
        unrealized_pnl=number("unrealized_pnl"),
        leverage=optional("leverage"),
        liquidation_price=optional("liquidation_price"),
        liquidation_distance_pct=optional("liquidation_distance_pct"),
    )
