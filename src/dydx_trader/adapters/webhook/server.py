"""The webhook served on a TCP port, closed in the right order: intake first, then the port."""

from __future__ import annotations

import socket
from collections.abc import Callable

from aiohttp import web

from dydx_trader.adapters.webhook.dispatch import SignalDispatch
from dydx_trader.adapters.webhook.intake import SignalIntake, create_webhook_app


async def serve_app(
    app: web.Application, listener: socket.socket, *, shutdown_timeout: float = 60.0
) -> web.AppRunner:
    """Serve ``app`` on the already listening ``listener``; returns the runner to clean
    up (nothing is left running when it fails). ``shutdown_timeout`` bounds, in
    seconds, how long a clean-up waits for open requests."""
    runner = web.AppRunner(
        app, access_log=None, handle_signals=False, shutdown_timeout=shutdown_timeout
    )
    await runner.setup()
    try:
        await web.SockSite(runner, listener).start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner


class WebhookServer:
    """A running webhook. :meth:`cleanup` drains it: new signals get 503 while the
    accepted ones are decided, then the port closes and ``on_closed`` runs."""

    def __init__(
        self,
        runner: web.AppRunner,
        dispatch: SignalDispatch,
        on_closed: Callable[[], None] | None = None,
    ) -> None:
        self._runner = runner
        self._dispatch = dispatch
        self._on_closed = on_closed

    @classmethod
    async def start(
        cls,
        intake: SignalIntake,
        dispatch: SignalDispatch,
        listener: socket.socket,
        *,
        on_closed: Callable[[], None] | None = None,
    ) -> WebhookServer:
        """Serve ``intake`` (whose sink is ``dispatch``) on the already listening
        ``listener`` (bound before anything started, so a port in use is one line)."""
        runner = await serve_app(create_webhook_app(intake), listener)
        return cls(runner, dispatch, on_closed)

    @property
    def port(self) -> int:
        """The port actually bound (useful after asking for port 0)."""
        addresses = self._runner.addresses
        return int(addresses[0][1]) if addresses else 0

    async def cleanup(self) -> None:
        """Refuse new signals (503), wait for the accepted ones, then close the port."""
        try:
            await self._dispatch.close()
        finally:
            await self._runner.cleanup()
            if self._on_closed is not None:
                self._on_closed()
