"""Our fills as the report and the dashboard read them: with the order's market and
side and the strategy of the signal behind it, in the order they happened."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from dydx_trader.adapters.journal._db import JournalDb
from dydx_trader.domain.errors import JournalUnavailable
from dydx_trader.report.trips import FillRow

_FILL_ROWS = (
    "SELECT f.filled_at, o.market, o.side, f.size, f.price, f.fee, "
    "coalesce(s.strategy, '?'), o.signal_id FROM fills f "
    "JOIN orders o USING (client_id) LEFT JOIN signals s ON s.signal_id = o.signal_id"
)
_WINDOW = " WHERE (? IS NULL OR f.filled_at >= ?) AND (? IS NULL OR f.filled_at <= ?)"


class FillRows(JournalDb):
    """Fills joined with their orders and signals."""

    def fill_rows(
        self, since: datetime | None = None, until: datetime | None = None
    ) -> list[FillRow]:
        """Every fill in ``[since, until]`` (None: unbounded), oldest first."""
        low = None if since is None else since.astimezone(UTC).isoformat()
        high = None if until is None else until.astimezone(UTC).isoformat()
        rows = self._read(
            _FILL_ROWS + _WINDOW + " ORDER BY f.filled_at, f.rowid", low, low, high, high
        )
        return [_row(*row) for row in rows]

    def recent_fills(self, limit: int = 20) -> list[FillRow]:
        """The ``limit`` latest fills, newest first."""
        rows = self._read(_FILL_ROWS + " ORDER BY f.filled_at DESC, f.rowid DESC LIMIT ?",
                          max(0, limit))  # fmt: skip
        return [_row(*row) for row in rows]


def _row(
    at: str, market: str, side: str, size: str, price: str, fee: str, strategy: str, signal: str
) -> FillRow:
    try:
        return FillRow(
            at=datetime.fromisoformat(at),
            market=market,
            side=side,
            size=Decimal(size),
            price=Decimal(price),
            fee=Decimal(fee),
            strategy=strategy,
            signal_id=signal,
        )
    except (ArithmeticError, ValueError) as error:
        raise JournalUnavailable(f"a stored fill is unreadable: {error}") from None
