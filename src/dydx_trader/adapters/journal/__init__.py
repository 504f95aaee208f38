"""The journal: one SQLite file (WAL mode) that remembers everything that costs money.

Signals, validation results, decisions with their arithmetic, orders with their
state history, fills, the trading state (with where each change came from) and
the kill switch's memory, runs, the account marked to market over time, and
activity on the subaccount that was not ours. The rules it keeps:

* **Intent before send.** :meth:`Journal.record_intent` commits (fsync'd with
  the default ``synchronous=FULL``) before it returns.
* **One transaction per write, or one per unit.** Every writing method commits
  on its own, unless it runs inside :meth:`Journal.unit`, which records several
  (signal, validation, decision) in one transaction.
* **Idempotent.** A repeated signal, intent, state event, fill (by fill id) or
  foreign record (by venue id) changes nothing.
* **Exact.** Money, prices and sizes are stored as decimal TEXT, quantums as
  integer TEXT (uint64 does not fit SQLite's INTEGER); never REAL.
* **Nothing secret.** No method takes a secret; callers pass values only.
* **Readers stay readers.** ``Journal.open(path, read_only=True)`` cannot write,
  and does not checkpoint on close.

Calls are short (tens of microseconds, plus the fsync of a write: ~0.7 ms), so
the app may call them on the event loop; a connection-wide lock makes the object
safe to use from ``asyncio.to_thread`` as well. Other processes (the CLI) may
read and write the same file concurrently; a write waits at most
:data:`BUSY_TIMEOUT_MS` for their locks.

Modules: :mod:`._db` (connection, transactions), :mod:`._schema` (tables,
migrations), :mod:`.decisions`, :mod:`.orders`, :mod:`.reports`,
:mod:`.trading_state`, :mod:`.runs`, :mod:`.foreign`, :mod:`.samples` (equity
over time), :mod:`.trades` (fills as the report reads them), :mod:`.timeline` (signals with
their decisions), :mod:`.protection` (the stop-loss / take-profit levels), :mod:`.records`
(the values handed back).
"""

from __future__ import annotations

from dydx_trader.adapters.journal._connect import BUSY_TIMEOUT_MS
from dydx_trader.adapters.journal._db import default_journal_path
from dydx_trader.adapters.journal._schema import SCHEMA_VERSION
from dydx_trader.adapters.journal.decisions import DecisionLog
from dydx_trader.adapters.journal.foreign import ForeignActivityLog
from dydx_trader.adapters.journal.protection import ProtectionLog
from dydx_trader.adapters.journal.records import (
    AccountSample,
    DecisionReport,
    FillRecord,
    ForeignActivity,
    OrderReport,
    PositionFigures,
    RunRecord,
    RunStatus,
    TradingStateRecord,
    Transition,
)
from dydx_trader.adapters.journal.reports import OrderReports
from dydx_trader.adapters.journal.runs import RunLog
from dydx_trader.adapters.journal.samples import EquitySampleLog
from dydx_trader.adapters.journal.timeline import SignalOutcome, SignalTimeline
from dydx_trader.adapters.journal.trades import FillRows
from dydx_trader.adapters.journal.trading_state import TradingStateLog

__all__ = [
    "BUSY_TIMEOUT_MS",
    "SCHEMA_VERSION",
    "AccountSample",
    "DecisionReport",
    "FillRecord",
    "ForeignActivity",
    "Journal",
    "OrderReport",
    "PositionFigures",
    "RunRecord",
    "RunStatus",
    "SignalOutcome",
    "TradingStateRecord",
    "Transition",
    "default_journal_path",
]


class Journal(
    DecisionLog,
    OrderReports,
    TradingStateLog,
    RunLog,
    ForeignActivityLog,
    EquitySampleLog,
    FillRows,
    SignalTimeline,
    ProtectionLog,
):
    """The journal over one open SQLite connection. Build with :meth:`Journal.open`."""
