"""Activity on our subaccount that this journal did not cause: another bot, a manual trade.

Settlement and the account stream report it; the journal keeps one record per
venue id (an order id or a fill id), so seeing it again changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime

from dydx_trader.adapters.journal._db import JournalDb, to_json
from dydx_trader.adapters.journal.records import ForeignActivity
from dydx_trader.domain.errors import InvalidInput


class ForeignActivityLog(JournalDb):
    """The ``foreign_activity`` records of the journal."""

    def record_foreign_activity(
        self,
        kind: str,
        venue_id: str,
        market: str,
        details: Mapping[str, str],
        height: int | None,
    ) -> bool:
        """Record an order or fill (``kind``) the journal does not know, by its venue id.

        ``details`` are what was seen of it, as text (side, size, price, state...);
        ``height`` the block it was seen at, if known. Returns True when new,
        False when ``venue_id`` was already recorded (nothing changes).
        """
        for name, value in (("kind", kind), ("venue_id", venue_id), ("market", market)):
            if not isinstance(value, str) or not value:
                raise InvalidInput(f"foreign activity {name} must be a non-empty string")
        if height is not None and (isinstance(height, bool) or not isinstance(height, int)):
            raise InvalidInput(f"foreign activity height {height!r} must be an int or None")
        with self._write() as conn:
            cursor = conn.execute(
                "INSERT OR IGNORE INTO foreign_activity (venue_id, kind, market, details, "
                "height, recorded_at) VALUES (?, ?, ?, ?, ?, ?)",
                (venue_id, kind, market, to_json(dict(details)), height, self._now()),
            )
            return cursor.rowcount == 1

    def foreign_activity(self, limit: int = 50) -> list[ForeignActivity]:
        """The ``limit`` latest foreign records, newest first."""
        rows = self._read(
            "SELECT kind, venue_id, market, details, height, recorded_at FROM foreign_activity "
            "ORDER BY recorded_at DESC, rowid DESC LIMIT ?",
            max(0, limit),
        )
        return [
            ForeignActivity(
                kind=kind,
                venue_id=venue_id,
                market=market,
                details=json.loads(details),
                height=height,
                recorded_at=datetime.fromisoformat(recorded_at),
            )
            for kind, venue_id, market, details, height, recorded_at in rows
        ]
