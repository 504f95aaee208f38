"""The ``run`` command's webhook sink: journal the signal, then hand it to the trader.

The signal is in the journal before the sender gets its 202, so neither a
crash nor a restart loses it (:meth:`SignalDispatch.resume` hands the ones a
crash left undecided to the next trader) and a replayed id is a 409 across
restarts: the journal is the memory of ids. The trader decides in the
background, at most ``max_pending`` signals at a time; a full intake answers
503 with ``Retry-After``. Every background task is awaited or its failure
logged: nothing is dropped, and "Task exception was never retrieved" never
appears. :meth:`SignalDispatch.close` refuses new signals (503) and waits for
the ones already accepted, before the trader stops.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Protocol

from dydx_trader.adapters.webhook.intake import IntakeBusy, SignalReplayed
from dydx_trader.domain.signal import Signal

log = logging.getLogger(__name__)

DEFAULT_MAX_PENDING = 64
RETRY_AFTER_S = 5


class SignalJournal(Protocol):
    def record_signal(self, signal: Signal) -> bool: ...


class SignalDispatch:
    """A bounded, journaling, drainable hand-over of webhook signals to ``submit``.

    ``submit`` decides one signal (the trader's ``submit``); ``journal`` records
    each signal before it is accepted (None: no journal, the intake's memory of
    ids is all there is).
    """

    def __init__(
        self,
        submit: Callable[[Signal], Awaitable[object]],
        *,
        journal: SignalJournal | None = None,
        max_pending: int = DEFAULT_MAX_PENDING,
        retry_after_s: int = RETRY_AFTER_S,
    ) -> None:
        if max_pending < 1:
            raise ValueError(f"max_pending {max_pending} must be at least 1")
        self._submit = submit
        self._journal = journal
        self._max_pending = max_pending
        self._retry_after_s = retry_after_s
        self._pending: set[asyncio.Task[None]] = set()
        self._closed = False

    @property
    def pending(self) -> int:
        """Signals accepted and not yet decided."""
        return len(self._pending)

    async def __call__(self, signal: Signal) -> None:
        """The intake's sink: journal ``signal`` and start deciding it, or refuse."""
        if self._closed:
            raise IntakeBusy("the trader is shutting down", self._retry_after_s)
        if len(self._pending) >= self._max_pending:
            raise IntakeBusy(
                f"{len(self._pending)} signals are waiting for a decision", self._retry_after_s
            )
        if self._journal is not None and not self._journal.record_signal(signal):
            raise SignalReplayed(signal.id)
        self._start(signal)

    def resume(self, signals: Iterable[Signal]) -> int:
        """Start deciding ``signals`` (journaled, never decided); returns how many."""
        count = 0
        for signal in signals:
            self._start(signal)
            count += 1
        if count:
            log.info("webhook: deciding %d signal(s) journaled before the last stop", count)
        return count

    async def close(self) -> None:
        """Refuse new signals from now on, and wait until every accepted one is decided."""
        self._closed = True
        while self._pending:
            await asyncio.gather(*tuple(self._pending), return_exceptions=True)

    def _start(self, signal: Signal) -> None:
        task = asyncio.ensure_future(self._decide(signal))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _decide(self, signal: Signal) -> None:
        try:
            await self._submit(signal)
        except Exception as error:  # noqa: BLE001 - journaled already; say why it stopped here
            log.error(
                "webhook signal %s stopped before its decision was sent: %s (it is in the "
                "journal; if no decision was recorded, the next start decides it)",
                signal.id,
                str(error) or type(error).__name__,
            )
