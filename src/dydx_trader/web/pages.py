"""The read-only side of the dashboard: the page, its JSON, and the live stream.

``GET /`` is the page (static HTML, its script and the vendored uPlot, no
CDN); ``GET /api/state`` everything but the charts; ``GET /api/series?from=
&to=`` the charts' columns over a window (ISO-8601 times; default: the
session); ``GET /api/events`` the state as server-sent events, sent again
whenever it changes (checked every :data:`PUSH_INTERVAL_S`), so the page
updates without reloading.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web

from dydx_trader.domain.errors import DydxTraderError
from dydx_trader.web.source import DashboardSource
from dydx_trader.web.views import Json

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
PUSH_INTERVAL_S = 1.0
KEEP_ALIVE_S = 15.0
# The page runs only its own files: no inline script, nothing from elsewhere.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'",
    "Cache-Control": "no-store",
}


class Pages:
    """The read-only handlers over ``source``. :meth:`close` ends every live stream."""

    def __init__(self, source: DashboardSource) -> None:
        self._source = source
        self._closing = asyncio.Event()
        self._state: tuple[float, str] | None = None

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/", self.index)
        app.router.add_get("/api/state", self.state)
        app.router.add_get("/api/series", self.series)
        app.router.add_get("/api/events", self.events)
        app.router.add_static("/static/", STATIC_DIR, follow_symlinks=False)

    def close(self) -> None:
        self._closing.set()

    async def index(self, request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC_DIR / "index.html", headers=PAGE_HEADERS)

    async def state(self, request: web.Request) -> web.Response:
        return web.Response(
            text=self._state_text(), content_type="application/json", headers=_NO_STORE
        )

    async def series(self, request: web.Request) -> web.Response:
        try:
            since = _moment(request.query.get("from"), "from")
            until = _moment(request.query.get("to"), "to")
        except ValueError as error:
            return web.json_response({"error": str(error)}, status=422)
        if since is not None and until is not None and since > until:
            return web.json_response({"error": "from is after to"}, status=422)
        try:
            body: Json = self._source.series(since, until)
        except DydxTraderError as error:
            return web.json_response({"error": str(error)}, status=503)
        return web.json_response(body, headers=_NO_STORE)

    async def events(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", **_NO_STORE, "X-Accel-Buffering": "no"}
        )
        await response.prepare(request)
        sent, quiet_since = "", time.monotonic()
        with contextlib.suppress(ConnectionError, asyncio.CancelledError):
            while not self._closing.is_set():
                text = self._state_text()
                if text != sent:
                    await response.write(f"event: state\ndata: {text}\n\n".encode())
                    sent, quiet_since = text, time.monotonic()
                elif time.monotonic() - quiet_since >= KEEP_ALIVE_S:
                    await response.write(b": still here\n\n")
                    quiet_since = time.monotonic()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(PUSH_INTERVAL_S):
                        await self._closing.wait()
        return response

    def _state_text(self) -> str:
        """The state as JSON text, computed at most once per push interval for every
        page open at once."""
        now = time.monotonic()
        if self._state is not None and now - self._state[0] < PUSH_INTERVAL_S / 2:
            return self._state[1]
        try:
            text = json.dumps(self._source.state(), separators=(",", ":"))
        except DydxTraderError as error:
            log.warning("dashboard state unavailable: %s", error)
            text = json.dumps({"error": f"the journal cannot be read now: {error}"})
        self._state = (now, text)
        return text


_NO_STORE = {"Cache-Control": "no-store"}


def _moment(value: str | None, name: str) -> datetime | None:
    """An ISO-8601 query time (UTC when it has no zone); ValueError naming ``name``."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{name} must be an ISO-8601 time like 2025-07-01T00:00Z") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
