"""``POST /webhook/signals`` on the operator's server, before and after the trader takes
signals.

The server answers from the start (the dashboard shows the trader starting),
but signals go to the intake only once the trader has reconciled and started:
until then a webhook request waits (up to ``wait_s``), as it waited in the
socket's backlog before; after the trader has stopped taking signals, or if
it does not start in time, the answer is 503 with ``Retry-After``, which the
intake's senders retry with the same id.
"""

from __future__ import annotations

import asyncio
import contextlib

from aiohttp import web

from dydx_trader.adapters.webhook import SignalIntake

RETRY_AFTER_S = 5
DEFAULT_WAIT_S = 120.0


class WebhookSlot:
    """The late-bound intake behind the webhook route."""

    def __init__(self, wait_s: float = DEFAULT_WAIT_S) -> None:
        self._intake: SignalIntake | None = None
        self._open = asyncio.Event()
        self._closed = False
        self._wait_s = wait_s

    def attach(self, intake: SignalIntake) -> None:
        """From now on, signals go to ``intake``."""
        self._intake = intake
        self._open.set()

    def detach(self) -> None:
        """No more signals: every request from now on gets 503."""
        self._intake = None
        self._closed = True
        self._open.set()  # wake the waiting requests: they get 503

    async def handle(self, request: web.Request) -> web.Response:
        if not self._closed and self._intake is None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._wait_s):
                    await self._open.wait()
        intake = self._intake
        if intake is None:
            return web.json_response(
                {"error": "the trader is not taking signals now; retry later with the same id"},
                status=503,
                headers={"Retry-After": str(RETRY_AFTER_S)},
            )
        return await intake.handle(request)
