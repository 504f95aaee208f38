"""A journal open several times in one process (``run`` opens it for the lock's runs
row, the trader and the webhook) and written by another process (the operator's
``trading-state``): every process sees every write, and none is lost.

Found by the fault soak: opening the journal a second time closed a descriptor
of the open database file, which drops every POSIX lock this process held on
it; the next process to close the journal then believed it was the last one,
checkpointed and deleted the write-ahead log under the trader, whose later
writes went to a deleted file: unseen by the operator, and an operator's
HALTED overwritten when the trader closed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from dydx_trader.adapters.journal import Journal
from dydx_trader.domain.trading_state import Authority, TradingState

_OTHER_PROCESS = """
import sys
from pathlib import Path
from dydx_trader.adapters.journal import Journal
from dydx_trader.domain.trading_state import Authority, TradingState
path, action = Path(sys.argv[1]), sys.argv[2]
if action == "halt":
    with Journal.open(path) as journal:
        journal.set_trading_state(TradingState.HALTED, "operator kill switch", Authority.OPERATOR)
elif action == "touch":
    with Journal.open(path) as journal:
        journal.get_trading_state()
else:
    with Journal.open(path, read_only=True) as journal:
        print(journal.get_trading_state().reason)
"""


def _other_process(path: Path, action: str) -> str:
    done = subprocess.run(  # noqa: S603 - this interpreter, our own script
        [sys.executable, "-c", _OTHER_PROCESS, str(path), action],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return done.stdout.strip()


def test_open_when_twice_here_and_another_process_closed_it_then_our_writes_still_seen(
    tmp_path: Path,
) -> None:
    path = tmp_path / "journal.sqlite3"
    with Journal.open(path) as guard, Journal.open(path) as trader:
        guard.get_trading_state()
        _other_process(path, "touch")  # an operator's command, opened and closed

        trader.set_trading_state(TradingState.HALTED, "written after it closed")

        assert _other_process(path, "read") == "written after it closed"


def test_operator_halt_when_journal_open_twice_here_then_trader_sees_it_and_it_survives(
    tmp_path: Path,
) -> None:
    path = tmp_path / "journal.sqlite3"
    with Journal.open(path) as guard, Journal.open(path) as trader:
        guard.get_trading_state()
        _other_process(path, "touch")
        trader.set_trading_state(TradingState.REDUCING, "the trader tightens")

        _other_process(path, "halt")

        assert trader.get_trading_state().state is TradingState.HALTED
    with Journal.open(path, read_only=True) as after:
        latest = after.get_trading_state()
    assert latest.state is TradingState.HALTED
    assert latest.reason == "operator kill switch" and latest.authority is Authority.OPERATOR
