"""Protection: the levels protecting each market's position, and the protective orders.

* :meth:`ProtectionLog.set_protection` records the stop-loss / take-profit levels of
  a market before the entry that sets them is sent (intent before send): a trader
  killed between the fill and the stop finds them at its next start.
* Protective orders are ordinary journaled orders whose signal id is
  ``protect:<market>:<kind>:<n>``; ``n`` counts the orders of that kind ever made
  for the market, so each new one gets a new, deterministic client id.
"""

from __future__ import annotations

from dydx_trader.adapters.journal._codec import order_from_row
from dydx_trader.adapters.journal.orders import OrderStore
from dydx_trader.domain.order import IN_FLIGHT_STATES, ConditionType, Order
from dydx_trader.domain.protection import PROTECT_PREFIX, ProtectionLevels, protective_signal_id
from dydx_trader.domain.side import Side

_LIVE = sorted(state.value for state in IN_FLIGHT_STATES)
_SELECT = "SELECT intent, state, filled_quantums FROM orders WHERE signal_id GLOB ?"
# Only "?" placeholders are joined in: the states are bound values.
_LIVE_PROTECTIVE = _SELECT + " AND state IN (" + ", ".join("?" for _ in _LIVE) + ") ORDER BY rowid"


class ProtectionLog(OrderStore):
    """Protection levels by market, and the protective orders still live."""

    def set_protection(self, market: str, levels: ProtectionLevels, signal_id: str) -> None:
        """Durably record the levels protecting ``market`` (replacing earlier ones)."""
        with self._write() as conn:
            conn.execute(
                "INSERT INTO protection (market, side, stop_loss, take_profit, signal_id, "
                "updated_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (market) DO UPDATE SET "
                "side = excluded.side, stop_loss = excluded.stop_loss, "
                "take_profit = excluded.take_profit, signal_id = excluded.signal_id, "
                "updated_at = excluded.updated_at",
                (
                    market,
                    levels.side.value,
                    None if levels.stop_loss is None else str(levels.stop_loss),
                    None if levels.take_profit is None else str(levels.take_profit),
                    signal_id,
                    self._now(),
                ),
            )

    def clear_protection(self, market: str) -> None:
        """Forget ``market``'s levels (its position is closed)."""
        with self._write() as conn:
            conn.execute("DELETE FROM protection WHERE market = ?", (market,))

    def protection_entries(self) -> dict[str, tuple[ProtectionLevels, str]]:
        """The levels protecting each market, with the signal whose entry set them."""
        rows = self._read(
            "SELECT market, side, stop_loss, take_profit, signal_id FROM protection"
        )
        return {
            row[0]: (
                ProtectionLevels.from_dict(
                    {"side": Side(row[1]).value, "stop_loss": row[2], "take_profit": row[3]}
                ),
                row[4],
            )
            for row in rows
        }

    def live_protective_orders(self) -> list[Order]:
        """Protective orders not yet final (placed, untriggered, or unknown), oldest first."""
        rows = self._read(_LIVE_PROTECTIVE, f"{PROTECT_PREFIX}*", *_LIVE)
        return [order_from_row(*row) for row in rows]

    def note_order(self, client_id: int, reason: str, **numbers: object) -> None:
        """Append a line to an order's history without changing its state (a cancel
        requested before it is sent, and what the node answered)."""
        with self._write() as conn:
            order = self._load(conn, client_id)
            self._log_transition(conn, client_id, order.state, order.state, reason, numbers)

    def protective_order_count(self, market: str, kind: ConditionType) -> int:
        """How many protective orders of ``kind`` were ever journaled for ``market``."""
        rows = self._read(
            "SELECT count(*) FROM orders WHERE signal_id GLOB ?",
            protective_signal_id(market, kind, 0)[:-1] + "*",
        )
        return int(rows[0][0])
