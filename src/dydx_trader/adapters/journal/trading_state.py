"""The trading state (ACTIVE / REDUCING / HALTED) and the kill switch's memory.

Both are read by one process and written by another (the trader and the
operator's ``dydx-trader trading-state``): each change reads and writes in one
transaction, so two processes cannot interleave.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from dydx_trader.adapters.journal._db import JournalDb
from dydx_trader.adapters.journal.records import TradingStateRecord
from dydx_trader.domain.errors import InvalidInput, JournalUnavailable
from dydx_trader.domain.trading_state import (
    Authority,
    KillSwitchMemory,
    TradingState,
    is_change,
    require_allowed,
)

_LATEST_STATE = (
    "SELECT state, reason, authority, at, source FROM trading_state ORDER BY id DESC LIMIT 1"
)


class TradingStateLog(JournalDb):
    """The trading-state history and the kill switch's memory."""

    def get_trading_state(self) -> TradingStateRecord:
        """The persisted trading state (ACTIVE if it was never set)."""
        rows = self._read(_LATEST_STATE)
        if not rows:
            return TradingStateRecord(TradingState.ACTIVE, "never set", Authority.OPERATOR, None)
        return _record(*rows[0])

    def set_trading_state(
        self,
        state: TradingState,
        reason: str,
        by: Authority = Authority.AUTOMATIC,
        source: str = "trader",
    ) -> TradingStateRecord:
        """Persist a state change, checked against the table for ``by``; returns the result.

        ``source`` says where it came from (``trader``, ``cli``, ``dashboard``).
        Setting the current state again changes nothing. Raises
        :class:`IllegalStateTransition` when ``by`` may not make this move.
        """
        with self._write() as conn:
            row = conn.execute(_LATEST_STATE).fetchone()
            current = TradingState.ACTIVE if row is None else TradingState(row[0])
            require_allowed(current, state, by)
            if row is not None and not is_change(current, state):
                return _record(*row)
            now = self._now()
            conn.execute(
                "INSERT INTO trading_state (state, reason, authority, at, source) "
                "VALUES (?, ?, ?, ?, ?)",
                (state.value, reason, by.value, now, source),
            )
            return TradingStateRecord(state, reason, by, datetime.fromisoformat(now), source)

    def kill_switch_memory(self) -> KillSwitchMemory | None:
        """The kill switch's persisted memory (None: nothing persisted yet)."""
        rows = self._read(
            "SELECT peak, peak_at_ms, rejections, unknown, clean_streak FROM kill_switch"
        )
        if not rows:
            return None
        peak, peak_at_ms, rejections, unknown, clean_streak = rows[0]
        try:
            return KillSwitchMemory(
                peak=None if peak is None else Decimal(peak),
                peak_at_ms=peak_at_ms,
                rejections=rejections,
                unknown=unknown,
                clean_streak=clean_streak,
            )
        except (ArithmeticError, InvalidInput) as error:
            raise JournalUnavailable(
                f"the stored kill switch memory is unreadable: {error}"
            ) from None

    def save_kill_switch_memory(self, memory: KillSwitchMemory) -> None:
        """Persist the kill switch's memory (replacing the previous one)."""
        with self._write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO kill_switch (id, peak, peak_at_ms, rejections, unknown, "
                "clean_streak, updated_at) VALUES (1, ?, ?, ?, ?, ?, ?)",
                (
                    None if memory.peak is None else str(memory.peak),
                    memory.peak_at_ms,
                    memory.rejections,
                    memory.unknown,
                    memory.clean_streak,
                    self._now(),
                ),
            )


def _record(state: str, reason: str, authority: str, at: str, source: str) -> TradingStateRecord:
    return TradingStateRecord(
        TradingState(state), reason, Authority(authority), datetime.fromisoformat(at), source
    )
