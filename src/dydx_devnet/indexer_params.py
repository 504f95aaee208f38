"""The indexer API's request side: parameters, validation errors, JSON bodies, app keys.

Validation follows comlink's express-validator schemas
(``comlink/src/lib/validation/schemas.ts``): a bad parameter is a 400
``{"errors":[{"value","msg","param","location"}]}``, a missing resource a 404
``{"errors":[{"msg"}]}``.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from dydx_devnet.auth import AccountRegistry
from dydx_devnet.faults import Faults

API_LIMIT = 1000  # comlink API_LIMIT_V4
RATE_LIMIT_POINTS = 100  # comlink's default: 100 requests per 10 s
MAX_SUBACCOUNT_NUMBER = 128_000
CANDLE_RESOLUTIONS = ("1MIN", "5MINS", "15MINS", "30MINS", "1HOUR", "4HOURS", "1DAY")
ORDER_SIDES = ("BUY", "SELL")
ORDER_TYPES = (
    "LIMIT",
    "MARKET",
    "STOP_LIMIT",
    "STOP_MARKET",
    "TRAILING_STOP",
    "TAKE_PROFIT",
    "TAKE_PROFIT_MARKET",
    "TWAP",
    "TWAP_SUBORDER",
)
ORDER_STATUSES = (
    "OPEN",
    "FILLED",
    "CANCELED",
    "BEST_EFFORT_CANCELED",
    "UNTRIGGERED",
    "ERROR",
    "BEST_EFFORT_OPENED",
)
POSITION_STATUSES = ("OPEN", "CLOSED", "LIQUIDATED")
SUBACCOUNT_NUMBER_MSG = (
    f"subaccountNumber must be a non-negative integer less than {MAX_SUBACCOUNT_NUMBER + 1}"
)
_INT_RE = re.compile(r"^[+-]?\d{1,30}$")
_ALNUM_RE = re.compile(r"^[a-zA-Z0-9]*$")

ENGINE_KEY: web.AppKey[Any] = web.AppKey("engine", object)
ACCOUNTS_KEY: web.AppKey[AccountRegistry] = web.AppKey("accounts", AccountRegistry)
FAULTS_KEY: web.AppKey[Faults] = web.AppKey("faults", Faults)


class ApiError(Exception):
    """An error answer: HTTP ``status`` with comlink's ``errors`` list."""

    def __init__(self, status: int, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors[0].get("msg", "") if errors else "")
        self.status = status
        self.errors = errors


def invalid(param: str, value: Any, msg: str, location: str = "query") -> ApiError:
    """A 400 as express-validator reports one failed field."""
    entry: dict[str, Any] = {"msg": msg, "param": param, "location": location}
    if value is not None:
        entry = {"value": value, **entry}
    return ApiError(400, [entry])


def not_found(msg: str) -> ApiError:
    return ApiError(404, [{"msg": msg}])


def json_response(body: Any, status: int = 200) -> web.Response:
    return web.json_response(body, status=status, dumps=lambda data: json.dumps(data))


# --- parameter readers -----------------------------------------------------


def _param(request: web.Request, name: str) -> tuple[str | None, str]:
    if name in request.match_info:
        return request.match_info[name], "params"
    return request.query.get(name), "query"


def int_in(text: str | None, low: int, high: int) -> int | None:
    if text is None or not _INT_RE.match(text.strip()):
        return None
    value = int(text)
    return value if low <= value <= high else None


def read_address(request: web.Request, msg: str = "address must be a valid dydx address") -> str:
    value, location = _param(request, "address")
    if value is None or len(value) > 90 or not _ALNUM_RE.match(value) or not value:
        raise invalid("address", value, msg, location)
    return value


def read_subaccount_number(request: web.Request) -> int:
    value, location = _param(request, "subaccountNumber")
    number = int_in(value, 0, MAX_SUBACCOUNT_NUMBER)
    if number is None:
        raise invalid(
            "subaccountNumber",
            value,
            SUBACCOUNT_NUMBER_MSG,
            location,
        )
    return number


def read_limit(request: web.Request) -> int:
    value = request.query.get("limit")
    if value is None:
        return API_LIMIT
    limit = int_in(value, 1, API_LIMIT)
    if limit is None:
        raise invalid(
            "limit",
            value,
            f"limit must be a positive integer that is not greater than max: {API_LIMIT}",
        )
    return limit


def read_optional_height(request: web.Request, name: str) -> int | None:
    value = request.query.get(name)
    if value is None:
        return None
    height = int_in(value, 0, 2**63 - 1)
    if height is None:
        raise invalid(name, value, f"{name} must be a non-negative integer")
    return height


def read_optional_iso(request: web.Request, name: str) -> str | None:
    value = request.query.get(name)
    if value is None:
        return None
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise invalid(name, value, "Invalid value") from None
    return value


def read_optional_epoch(request: web.Request, name: str) -> int | None:
    """An optional ISO-8601 time as unix seconds (a zone-less time is UTC)."""
    text = read_optional_iso(request, name)
    if text is None:
        return None
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def read_type_list(request: web.Request, name: str) -> list[str] | None:
    """``includeTypes`` / ``excludeTypes``: comma-separated order types."""
    value = request.query.get(name)
    if value is None:
        return None
    types = [part for part in value.split(",") if part]
    if not types or any(t not in ORDER_TYPES for t in types):
        raise invalid(name, value, f"{name} must be one of {', '.join(ORDER_TYPES)}")
    return types


def read_choice(request: web.Request, name: str, choices: tuple[str, ...], msg: str) -> str | None:
    value = request.query.get(name)
    if value is None:
        return None
    if value not in choices:
        raise invalid(name, value, msg)
    return value


def known_ticker(engine: Any, ticker: str | None) -> bool:
    return ticker is not None and ticker in engine.markets


def read_ticker(request: web.Request, engine: Any, *, optional: bool) -> str | None:
    value, location = _param(request, "ticker")
    if value is None and optional:
        return None
    if not known_ticker(engine, value):
        raise invalid("ticker", value, "ticker must be a valid ticker (BTC-USD, etc)", location)
    return value


def read_status_list(request: web.Request, choices: tuple[str, ...], msg: str) -> list[str] | None:
    value = request.query.get("status")
    if value is None:
        return None
    statuses = [part for part in value.split(",") if part]
    if not statuses or any(status not in choices for status in statuses):
        raise invalid("status", value, msg)
    return statuses


def read_bool(request: web.Request, name: str) -> bool | None:
    value = request.query.get(name)
    if value is None:
        return None
    lowered = value.lower()
    if lowered not in ("true", "false"):
        raise invalid(name, value, f"{name} must be a boolean")
    return lowered == "true"


def engine_of(request: web.Request) -> Any:
    return request.app[ENGINE_KEY]


async def json_body(request: web.Request) -> Any:
    raw = await request.read()
    try:
        return json.loads(raw.decode("utf-8")) if raw else None
    except (ValueError, RecursionError) as exc:  # bad UTF-8, bad JSON, huge integers
        raise ApiError(400, [{"msg": f"Malformed JSON body: {exc}"}]) from None
