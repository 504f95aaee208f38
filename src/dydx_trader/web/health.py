"""``/healthz`` (liveness: the process answers) and ``/readyz`` (readiness: every
check passes), for ``run`` and ``serve-webhook`` alike.

``/readyz`` answers 200 when ready and 503 when not, with the checks as JSON
(``{"ready": false, "checks": [{"name": "reconciled", "ok": false, "detail":
"in-flight orders not reconciled yet"}, ...]}``), so a probe needs only the
status and a person sees why.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from aiohttp import web

from dydx_trader.app.readiness import Check, is_ready

log = logging.getLogger(__name__)

HEALTH_PATH = "/healthz"
READY_PATH = "/readyz"


def add_health_routes(app: web.Application, checks: Callable[[], Sequence[Check]]) -> None:
    """Mount ``GET /healthz`` and ``GET /readyz`` (``checks()`` run at each request)."""

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "alive"}, headers=_NO_STORE)

    async def readyz(request: web.Request) -> web.Response:
        try:
            listed = tuple(checks())
        except Exception as error:  # noqa: BLE001 - a probe answers "not ready", never 500
            log.warning("readiness could not be checked: %s", type(error).__name__)
            listed = (Check("checks", False, f"could not be run: {type(error).__name__}"),)
        ready = is_ready(listed)
        body = {
            "ready": ready,
            "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in listed],
        }
        return web.json_response(body, status=200 if ready else 503, headers=_NO_STORE)

    app.router.add_get(HEALTH_PATH, healthz)
    app.router.add_get(READY_PATH, readyz)


_NO_STORE = {"Cache-Control": "no-store"}
