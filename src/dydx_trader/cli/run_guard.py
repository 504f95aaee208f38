"""What ``dydx-trader run`` holds around its session: the subaccount's lock and a ``runs`` row,
and the webhook that journals each signal before answering.

:func:`guarded_run` takes the instance lock *before* the trader is built (a
second ``run`` on the same subaccount refuses with one line naming the
holder), records the run in the journal (marking a predecessor that died
without a word as crashed), and at the end records how it ended and lets the
lock go. :func:`serve_webhook` serves the intake on ``http.port`` with a
journaling, bounded, drainable sink.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version

from dydx_trader.adapters.dydx.network import NetworkName, NetworkProfile
from dydx_trader.adapters.instance_lock import InstanceKey, InstanceLock
from dydx_trader.adapters.journal import Journal, RunStatus
from dydx_trader.adapters.webhook import (
    SignalDispatch,
    SignalIntake,
    WebhookSecret,
    WebhookServer,
)
from dydx_trader.config import Settings
from dydx_trader.domain.errors import DydxTraderError, JournalUnavailable
from dydx_trader.domain.signal import Signal, SignalSource

# Attempts at recording how a run ended while the journal is locked: about 30 s.
_CLOSE_ATTEMPTS = 35


class SessionRun:
    """The open ``runs`` row; :meth:`finished` records the session's exit code."""

    def __init__(self, journal: Journal, run_id: int) -> None:
        self._journal = journal
        self.run_id = run_id
        self._code: int | None = None

    def finished(self, code: int) -> int:
        """Note the session's exit code (0: clean) and hand it back."""
        self._code = code
        return code

    def close(self, error: BaseException | None) -> None:
        if error is not None:
            status, reason = RunStatus.FAILED, str(error) or type(error).__name__
        elif self._code:
            status, reason = RunStatus.FAILED, f"exit code {self._code}"
        else:
            status, reason = RunStatus.CLEAN, ""
        self._journal.finish_run(self.run_id, status, reason)


def instance_key(settings: Settings, profile: NetworkProfile, address: str) -> InstanceKey:
    """The lock key of a session: network, address and subaccount (and for a devnet,
    its indexer: every in-process devnet is its own chain)."""
    devnet = profile.name is NetworkName.DEVNET
    return InstanceKey(
        network=profile.name.value,
        address=address,
        subaccount_number=settings.account.subaccount_number,
        venue=profile.indexer_url if devnet else None,
    )


@asynccontextmanager
async def guarded_run(
    settings: Settings, profile: NetworkProfile, address: str, *, mode: str
) -> AsyncIterator[SessionRun]:
    """Hold the subaccount's lock and a ``runs`` row for the life of the session.

    Raises :class:`~dydx_trader.adapters.instance_lock.InstanceLocked` (one line
    naming the holder's pid and journal) when another process trades it.
    """
    path = settings.journal.resolved_path()
    with (
        InstanceLock.acquire(instance_key(settings, profile, address), path),
        Journal.open(path) as journal,
    ):
        run = SessionRun(
            journal,
            journal.start_run(
                mode,
                profile.name.value,
                {"indexer": profile.indexer_url},
                address=address,
                subaccount_number=settings.account.subaccount_number,
                version=_version(),
                config_hash=hashlib.sha256(settings.model_dump_json().encode()).hexdigest(),
            ),
        )
        try:
            yield run
        except BaseException as error:
            # The session's own error is the one to report, even if the journal is gone too.
            with contextlib.suppress(DydxTraderError):
                await _close_patiently(run, error)
            raise
        await _close_patiently(run, None)


async def _close_patiently(run: SessionRun, error: BaseException | None) -> None:
    """Record how the run ended; while another process holds the journal's write
    lock (an operator's command, a backup), wait for it rather than end the run
    unrecorded (its row would read "crashed")."""
    wait = 0.05
    for _ in range(_CLOSE_ATTEMPTS):
        try:
            run.close(error)
            return
        except JournalUnavailable:
            await asyncio.sleep(wait)
            wait = min(wait * 2, 1.0)
    run.close(error)


async def serve_webhook(
    settings: Settings,
    listener: socket.socket,
    submit: Callable[[Signal], Awaitable[None]],
    *,
    clock: Callable[[], datetime],
) -> WebhookServer:
    """Serve ``POST /webhook/signals`` on the bound ``listener``.

    Each accepted signal is journaled before its 202 (dated on ``clock``: market
    time in a paper session), then goes through the same flow as a strategy's;
    webhook signals a crash left undecided are decided now. ``cleanup()``
    refuses new ones and waits for those accepted.
    """
    intake, dispatch, journal = open_webhook(settings, submit, clock=clock)
    try:
        server = await WebhookServer.start(intake, dispatch, listener, on_closed=journal.close)
    except BaseException:
        journal.close()
        raise
    try:
        dispatch.resume(journal.undecided_signals(SignalSource.WEBHOOK))
    except BaseException:
        await server.cleanup()
        raise
    return server


def open_webhook(
    settings: Settings,
    submit: Callable[[Signal], Awaitable[None]],
    *,
    clock: Callable[[], datetime],
) -> tuple[SignalIntake, SignalDispatch, Journal]:
    """The intake for ``$DYDX_TRADER_WEBHOOK_SECRET``, its journaling dispatch to
    ``submit``, and the journal connection they write to (the caller closes it)."""
    secret = WebhookSecret.from_environ(os.environ)
    journal = Journal.open(settings.journal.resolved_path())
    try:
        dispatch = SignalDispatch(submit, journal=journal)
        intake = SignalIntake(
            secret, dispatch, clock=clock, max_clock_skew_s=settings.validation.max_clock_skew_s
        )
    except BaseException:
        journal.close()
        raise
    return intake, dispatch, journal


def _version() -> str:
    try:
        return version("dydx-trader")
    except PackageNotFoundError:
        return "unknown"
