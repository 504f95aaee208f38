"""The operator's controls as a small JSON API: halt, reduce-only, resume.

``POST /api/trading-state`` with ``{"state": "halted" | "reducing" | "active",
"reason": "..."}`` and ``Authorization: Bearer <token>`` switches the
persisted trading state exactly as ``dydx-trader trading-state`` does (the
trader re-reads it before every order), journaled with the operator as its
authority and ``dashboard`` as its source. Answers: 200 with the new state;
401 no or wrong token; 403 a cross-site request; 415 not JSON; 422 a bad body;
409 a change the state table forbids; 503 the journal cannot take it.
``GET /api/trading-state`` reads it (no token needed).
"""

from __future__ import annotations

import json
import logging

from aiohttp import web

from dydx_trader.domain.errors import DydxTraderError, IllegalStateTransition
from dydx_trader.domain.trading_state import TradingState
from dydx_trader.web import views
from dydx_trader.web.auth import DashboardToken, cross_site_refusal, is_json
from dydx_trader.web.source import DashboardSource

log = logging.getLogger(__name__)

TRADING_STATE_PATH = "/api/trading-state"
MAX_BODY_BYTES = 4 * 1024
MAX_REASON_CHARS = 200
_STATES = {"active": TradingState.ACTIVE, "reducing": TradingState.REDUCING,
           "halted": TradingState.HALTED}  # fmt: skip


class Controls:
    """The control handlers over ``source``, guarded by ``token``."""

    def __init__(self, source: DashboardSource, token: DashboardToken) -> None:
        self._source = source
        self._token = token

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get(TRADING_STATE_PATH, self.show)
        app.router.add_post(TRADING_STATE_PATH, self.change)

    async def show(self, request: web.Request) -> web.Response:
        state = self._source.trading_state()
        return web.json_response(state, headers={"Cache-Control": "no-store"})

    async def change(self, request: web.Request) -> web.Response:
        if not self._token.matches(request.headers.get("Authorization")):
            return _error(401, "missing or wrong dashboard token", {"WWW-Authenticate": "Bearer"})
        refusal = cross_site_refusal(request)
        if refusal is not None:
            return _error(403, refusal)
        if not is_json(request):
            return _error(415, "send the body as application/json")
        try:
            state, reason = await _read_body(request)
        except ValueError as error:
            return _error(422, str(error))
        try:
            record = self._source.set_trading_state(state, reason)
        except IllegalStateTransition as error:
            return _error(409, str(error))
        except DydxTraderError as error:
            return _error(503, f"the trading state could not be saved: {error}")
        log.warning("trading state -> %s from the dashboard: %s", record.state.value, reason)
        body = views.trading_state_view(record.state.value, record.reason, record)
        return web.json_response(body, headers={"Cache-Control": "no-store"})


async def _read_body(request: web.Request) -> tuple[TradingState, str]:
    """The body's state and reason; ValueError with a one-line message otherwise."""
    if (request.content_length or 0) > MAX_BODY_BYTES:
        raise ValueError(f"the body is over {MAX_BODY_BYTES} bytes")
    raw = await request.content.read(MAX_BODY_BYTES + 1)
    if len(raw) > MAX_BODY_BYTES:
        raise ValueError(f"the body is over {MAX_BODY_BYTES} bytes")
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ValueError("the body is not JSON") from None
    if not isinstance(body, dict):
        raise ValueError('the body must be an object like {"state": "halted"}')
    unknown = sorted(set(body) - {"state", "reason"})
    if unknown:
        raise ValueError(f"unknown field(s) {', '.join(unknown)[:80]}; allowed: state, reason")
    name = body.get("state")
    if not isinstance(name, str) or name.lower() not in _STATES:
        raise ValueError(f"state must be one of {', '.join(_STATES)}")
    reason = body.get("reason", "")
    if not isinstance(reason, str) or len(reason) > MAX_REASON_CHARS or not reason.isprintable():
        raise ValueError(f"reason must be printable text of at most {MAX_REASON_CHARS} characters")
    state = _STATES[name.lower()]
    return state, reason.strip() or f"set to {state.value} from the dashboard"


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=headers)
