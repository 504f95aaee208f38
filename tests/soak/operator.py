"""What other processes do to a trader's journal: the operator's commands, and a
connection holding the write lock (a backup, a query, a slow command).

Both act on the journal's file only, never on the trader, as they would in life.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from dydx_trader.adapters.journal import Journal
from dydx_trader.domain.trading_state import Authority, TradingState


def hold_write_lock(journal: Path, seconds: float) -> threading.Thread:
    """Another connection takes the journal's write lock and keeps it ``seconds``."""

    def hold() -> None:
        if not journal.exists():
            return
        conn = sqlite3.connect(journal, timeout=10, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            time.sleep(seconds)
            conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass  # the trader held it the whole time: no contention this time
        finally:
            conn.close()

    thread = threading.Thread(target=hold, name="soak-journal-lock", daemon=True)
    thread.start()
    return thread


def resume(journal: Path) -> None:
    """``dydx-trader trading-state active``: the operator lifts a halt."""
    if not journal.exists():
        return
    with Journal.open(journal) as opened:
        if opened.get_trading_state().state is not TradingState.ACTIVE:
            opened.set_trading_state(
                TradingState.ACTIVE, "soak: the operator resumes", Authority.OPERATOR
            )
