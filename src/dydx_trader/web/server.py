"""The operator's HTTP server on ``http.host``/``http.port``: the dashboard, its
controls, ``/metrics``, ``/healthz``, ``/readyz`` and (when a webhook secret is
set) ``POST /webhook/signals``, on one aiohttp application.

It starts before the trader (the page and ``/readyz`` answer while it
reconciles) and stops after it (with ``--hold``, after the replay ends).
Every answer carries ``nosniff``, ``DENY`` framing and ``no-referrer``.

On a loopback address the read-only views are open (only this machine reaches
them); on any other address every view but the probes and the page's own
files needs the token too (the page sends it once typed in), and so does
``/metrics`` (Prometheus's ``authorization`` setting).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Awaitable, Callable

from aiohttp import web

from dydx_trader.adapters.metrics import CONTENT_TYPE, PrometheusMetrics
from dydx_trader.adapters.webhook import MAX_BODY_BYTES, SIGNALS_PATH, SignalIntake
from dydx_trader.adapters.webhook.server import serve_app
from dydx_trader.web.auth import DashboardToken
from dydx_trader.web.controls import Controls
from dydx_trader.web.health import HEALTH_PATH, READY_PATH, add_health_routes
from dydx_trader.web.pages import Pages
from dydx_trader.web.source import DashboardSource
from dydx_trader.web.webhook_slot import WebhookSlot

METRICS_PATH = "/metrics"
# Open pages hold a stream each; they are ended first, so a stop never waits long.
SHUTDOWN_TIMEOUT_S = 2.0
_SAFE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class OperatorServer:
    """A running operator server. Build with :meth:`start`; :meth:`close` stops it."""

    def __init__(
        self, runner: web.AppRunner, pages: Pages, slot: WebhookSlot | None, url: str
    ) -> None:
        self._runner = runner
        self._pages = pages
        self._slot = slot
        self.url = url

    @classmethod
    async def start(
        cls,
        listener: socket.socket,
        source: DashboardSource,
        token: DashboardToken,
        metrics: PrometheusMetrics,
        *,
        webhook: bool,
        open_reads: bool | None = None,
    ) -> OperatorServer:
        """Serve on the already listening ``listener``; with ``webhook`` the signal
        route is there too, waiting for :meth:`attach_webhook`. ``open_reads``: the
        views need no token (default: when the listener is on loopback)."""
        pages = Pages(source)
        slot = WebhookSlot() if webhook else None
        middlewares = [_safe_headers, _counting_webhook(metrics)]
        if open_reads is None:
            open_reads = is_loopback(listener.getsockname()[0])
        if not open_reads:
            middlewares.append(_token_for_reads(token))
        app = web.Application(client_max_size=MAX_BODY_BYTES + 1, middlewares=middlewares)
        pages.add_routes(app)
        Controls(source, token).add_routes(app)
        add_health_routes(app, source.readiness)

        async def scrape(request: web.Request) -> web.Response:
            return web.Response(
                body=metrics.exposition(), headers={"Content-Type": CONTENT_TYPE}
            )

        app.router.add_get(METRICS_PATH, scrape)
        if slot is not None:
            app.router.add_post(SIGNALS_PATH, slot.handle)
        runner = await serve_app(app, listener, shutdown_timeout=SHUTDOWN_TIMEOUT_S)
        return cls(runner, pages, slot, _url(listener))

    def attach_webhook(self, intake: SignalIntake) -> None:
        """Signals go to ``intake`` from now on (the trader has started)."""
        if self._slot is not None:
            self._slot.attach(intake)

    def detach_webhook(self) -> None:
        """No new signals (503) from now on."""
        if self._slot is not None:
            self._slot.detach()

    async def close(self) -> None:
        """End the live streams, then stop serving and close the port."""
        self.detach_webhook()
        self._pages.close()
        await self._runner.cleanup()


@web.middleware
async def _safe_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await handler(request)
    if not response.prepared:
        for name, value in _SAFE_HEADERS.items():
            response.headers.setdefault(name, value)
    return response


def _counting_webhook(metrics: PrometheusMetrics) -> Callable[..., Awaitable[web.StreamResponse]]:
    """Counts every answer on the webhook's path by its status."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path != SIGNALS_PATH:
            return await handler(request)
        try:
            response = await handler(request)
        except web.HTTPException as error:
            metrics.webhook_request(error.status)
            raise
        metrics.webhook_request(response.status)
        return response

    return middleware


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address the server listens on) reaches this machine only."""
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return host == "localhost"


# Open on any address: the probes, the page's own files (no data in them), and the
# webhook (its own secret guards it). The controls check the token themselves.
_OPEN_PATHS = frozenset({"/", HEALTH_PATH, READY_PATH, SIGNALS_PATH})


def _token_for_reads(token: DashboardToken) -> Callable[..., Awaitable[web.StreamResponse]]:
    """Every other view needs ``Authorization: Bearer <token>`` (off loopback)."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in _OPEN_PATHS or request.path.startswith("/static/"):
            return await handler(request)
        if not token.matches(request.headers.get("Authorization")):
            return web.json_response(
                {"error": "this dashboard is not on loopback: send the dashboard token"},
                status=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        return await handler(request)

    return middleware


def _url(listener: socket.socket) -> str:
    host, port = listener.getsockname()[:2]
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else host  # noqa: S104 - a display name
    shown = f"[{shown}]" if ":" in shown else shown
    return f"http://{shown}:{port}/"
