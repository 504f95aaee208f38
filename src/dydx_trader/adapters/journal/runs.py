"""Sessions of ``dydx-trader run``: who ran, with what, and how it ended.

A run is ``running`` from :meth:`RunLog.start_run` until :meth:`RunLog.finish_run`
says ``clean`` or ``failed``. A process killed outright never says; the next
start finds its row still ``running`` and marks it ``crashed``.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Mapping
from datetime import datetime

from dydx_trader.adapters.journal._db import JournalDb, to_json
from dydx_trader.adapters.journal.records import RunRecord, RunStatus

_LATEST_RUNS = (
    "SELECT id, started_at, finished_at, mode, network, address, subaccount_number, version, "
    "config_hash, pid, host, status, reason, details FROM runs ORDER BY id DESC LIMIT ?"
)


class RunLog(JournalDb):
    """The ``runs`` records of the journal."""

    def start_run(
        self,
        mode: str,
        network: str,
        details: Mapping[str, str] | None = None,
        *,
        address: str = "",
        subaccount_number: int = 0,
        version: str = "",
        config_hash: str = "",
    ) -> int:
        """Record that a run started (this process); returns its id for :meth:`finish_run`.

        Call it holding the instance lock of (``network``, ``address``,
        ``subaccount_number``): an earlier run of that key still ``running`` is
        then certainly dead, and is marked ``crashed``, as is any run of this
        host whose process is gone.
        """
        host = socket.gethostname()
        with self._write() as conn:
            stale = conn.execute(
                "SELECT id, network, address, subaccount_number, pid, host FROM runs "
                "WHERE status = ?",
                (RunStatus.RUNNING.value,),
            ).fetchall()
            for run_id, run_network, run_address, run_subaccount, pid, run_host in stale:
                same_key = (run_network, run_address, run_subaccount) == (
                    network,
                    address,
                    subaccount_number,
                )
                if same_key or (run_host == host and not _alive(pid)):
                    conn.execute(
                        "UPDATE runs SET status = ?, reason = ? WHERE id = ?",
                        (RunStatus.CRASHED.value, "found still running at a later start", run_id),
                    )
            cursor = conn.execute(
                "INSERT INTO runs (started_at, mode, network, status, details, address, "
                "subaccount_number, version, config_hash, pid, host) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    self._now(),
                    mode,
                    network,
                    RunStatus.RUNNING.value,
                    to_json(details or {}),
                    address,
                    subaccount_number,
                    version,
                    config_hash,
                    os.getpid(),
                    host,
                ),
            )
            return int(cursor.lastrowid or 0)

    def finish_run(self, run_id: int, status: RunStatus | str, reason: str = "") -> None:
        """Record how run ``run_id`` ended (``clean`` or ``failed``, with a reason)."""
        with self._write() as conn:
            conn.execute(
                "UPDATE runs SET finished_at = ?, status = ?, reason = ? WHERE id = ?",
                (self._now(), RunStatus(status).value, reason, run_id),
            )

    def runs(self, limit: int = 20) -> list[RunRecord]:
        """The ``limit`` latest runs, newest first."""
        rows = self._read(_LATEST_RUNS, max(0, limit))
        return [_run(*row) for row in rows]


def _alive(pid: int | None) -> bool:
    if pid is None:
        return True  # a run recorded before pids were: assume alive, never guess "crashed"
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, but not ours to signal
    return True


def _run(
    run_id: int,
    started_at: str,
    finished_at: str | None,
    mode: str,
    network: str,
    address: str,
    subaccount_number: int,
    version: str,
    config_hash: str,
    pid: int | None,
    host: str,
    status: str,
    reason: str,
    details: str,
) -> RunRecord:
    return RunRecord(
        id=run_id,
        started_at=datetime.fromisoformat(started_at),
        finished_at=None if finished_at is None else datetime.fromisoformat(finished_at),
        mode=mode,
        network=network,
        address=address,
        subaccount_number=subaccount_number,
        version=version,
        config_hash=config_hash,
        pid=pid,
        host=host,
        status=RunStatus(status),
        reason=reason,
        details=json.loads(details),
    )
