"""``run``'s HTTP side: the operator's server (dashboard, controls, metrics, health)
from before the trader starts until after it stops, and the webhook on it.

:func:`operator_http` opens the dashboard's journal connection, loads (or makes)
the controls' token, serves, and prints the URL; :meth:`OperatorHttp.take_signals`
opens the webhook once the trader has started and :meth:`OperatorHttp.stop_signals`
drains it before the trader stops; :meth:`OperatorHttp.hold` keeps the page up
after a paper replay until Ctrl-C.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime

from rich.console import Console

from dydx_trader.adapters.journal import Journal
from dydx_trader.adapters.metrics import PrometheusMetrics
from dydx_trader.adapters.webhook import SECRET_ENV_VAR, SignalDispatch
from dydx_trader.app.ports import Clock
from dydx_trader.cli.run_guard import open_webhook
from dydx_trader.cli.webhook_cmd import listen_url
from dydx_trader.config import Settings
from dydx_trader.domain.signal import Signal, SignalSource
from dydx_trader.web.auth import load_token
from dydx_trader.web.server import OperatorServer
from dydx_trader.web.source import DashboardSource

log = logging.getLogger(__name__)


class OperatorHttp:
    """The running operator server of one session."""

    def __init__(self, server: OperatorServer, source: DashboardSource, metrics: PrometheusMetrics,
                 listener: socket.socket) -> None:  # fmt: skip
        self.server = server
        self.source = source
        self.metrics = metrics
        self._listener = listener
        self._webhook: tuple[SignalDispatch, Journal] | None = None

    async def take_signals(
        self,
        settings: Settings,
        submit: Callable[[Signal], Awaitable[None]],
        clock: Clock,
        console: Console,
    ) -> None:
        """Open the webhook (when its secret is set) onto ``submit``; the signals a
        crash left journaled and undecided are decided now."""
        if not os.environ.get(SECRET_ENV_VAR):
            return
        intake, dispatch, journal = open_webhook(settings, submit, clock=clock.now)
        self._webhook = (dispatch, journal)
        self.server.attach_webhook(intake)
        dispatch.resume(journal.undecided_signals(SignalSource.WEBHOOK))
        host, port = self._listener.getsockname()[:2]
        announce(console, f"webhook: POST {listen_url(host, port)}")

    async def stop_signals(self) -> None:
        """Refuse new signals (503) and wait until the accepted ones are decided."""
        self.server.detach_webhook()
        if self._webhook is not None:
            dispatch, journal = self._webhook
            self._webhook = None
            try:
                await dispatch.close()
            finally:
                journal.close()

    async def hold(self, stop: asyncio.Event, console: Console) -> None:
        """Keep serving the page until ``stop`` (Ctrl-C or SIGTERM)."""
        if stop.is_set():
            return
        announce(console, f"the replay has ended; the dashboard stays at {self.server.url} "
                          "until Ctrl-C")  # fmt: skip
        await stop.wait()


@asynccontextmanager
async def operator_http(
    settings: Settings,
    listener: socket.socket,
    clock: Clock,
    console: Console,
    *,
    mode: str,
    session_start: datetime | None,
    step_s: int,
) -> AsyncIterator[OperatorHttp]:
    """Serve the operator's server on ``listener`` for the life of the block."""
    path = settings.journal.resolved_path()
    token = load_token(path.parent)
    journal = Journal.open(path, clock=clock.now)
    try:
        source = DashboardSource(
            journal, clock.now, mode=mode, session_start=session_start, step_s=step_s
        )
        metrics = PrometheusMetrics(source.scrape_figures)
        webhook = bool(os.environ.get(SECRET_ENV_VAR))
        server = await OperatorServer.start(listener, source, token, metrics, webhook=webhook)
        http = OperatorHttp(server, source, metrics, listener)
        try:
            announce(console, f"dashboard: {server.url} (metrics: {server.url}metrics)")
            if token.generated:
                # On the terminal only, never in run.log: it opens the controls.
                console.print(f"dashboard token (shown once, kept in {token.where}): "
                              f"{token.secret.reveal()}", soft_wrap=True, highlight=False,
                              markup=False)  # fmt: skip
            else:
                announce(console, f"dashboard controls take the token in {token.where}")
            yield http
        finally:
            await http.stop_signals()
            await server.close()
    finally:
        journal.close()


def announce(console: Console, text: str) -> None:
    """Print ``text`` and put it in the run's log."""
    console.print(text, soft_wrap=True, highlight=False, markup=False)
    log.info("%s", text)
