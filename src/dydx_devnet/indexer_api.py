"""The indexer's REST API (comlink) under ``/v4``, plus the testnet-style faucet.

Paths and query parameters are those the official client sends
(``dydx_v4_client/indexer/rest/modules/*.py``); bodies come from
:mod:`dydx_devnet.views` in the real indexer's shapes. Validation follows
comlink's express-validator schemas (``comlink/src/lib/validation/schemas.ts``):
a bad parameter is a 400 ``{"errors":[{"value","msg","param","location"}]}``,
a missing resource a 404 ``{"errors":[{"msg"}]}``. No input makes it answer 500.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from decimal import Decimal, InvalidOperation
from http import HTTPStatus
from typing import Any

from aiohttp import web

from dydx_devnet import views
from dydx_devnet.auth import AccountRegistry, is_valid_address
from dydx_devnet.faults import Faults, IndexerFailure

log = logging.getLogger(__name__)

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
# The faucet hands out at most this much per request (USDC), like the testnet one.
MAX_FAUCET_USDC = Decimal(1_000_000_000)
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


def _json(body: Any, status: int = 200) -> web.Response:
    return web.json_response(body, status=status, dumps=lambda data: json.dumps(data))


# --- parameter readers -----------------------------------------------------


def _param(request: web.Request, name: str) -> tuple[str | None, str]:
    if name in request.match_info:
        return request.match_info[name], "params"
    return request.query.get(name), "query"


def _int_in(text: str | None, low: int, high: int) -> int | None:
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
    number = _int_in(value, 0, MAX_SUBACCOUNT_NUMBER)
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
    limit = _int_in(value, 1, API_LIMIT)
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
    height = _int_in(value, 0, 2**63 - 1)
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


# --- handlers --------------------------------------------------------------

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _engine(request: web.Request) -> Any:
    return request.app[ENGINE_KEY]


async def get_address(request: web.Request) -> web.Response:
    address = read_address(request, "address must be a valid address")
    read_limit(request)
    body = views.address(_engine(request), address)
    if body is None:
        raise not_found(f"No subaccounts found for address {address}")
    return _json(body)


async def get_subaccount(request: web.Request) -> web.Response:
    address = read_address(request)
    number = read_subaccount_number(request)
    body = views.subaccount(_engine(request), address, number)
    if body is None:
        raise not_found(f"No subaccount found with address {address} and subaccountNumber {number}")
    return _json(body)


async def get_perpetual_markets(request: web.Request) -> web.Response:
    engine = _engine(request)
    if "ticker" in request.query and "market" in request.query:
        raise invalid("ticker", None, "Only one of ticker or market may be provided")
    if "market" in request.query:
        value = request.query["market"]
        if not known_ticker(engine, value):
            raise invalid("market", value, "market must be a valid ticker (BTC-USD, etc)")
        ticker: str | None = value
    else:
        ticker = read_ticker(request, engine, optional=True)
    limit = read_limit(request)
    body = views.perpetual_markets(engine, ticker)
    if body is None:
        raise invalid("ticker", ticker, "ticker must be a valid ticker (BTC-USD, etc)")
    markets = body.get("markets", {})
    if isinstance(markets, dict) and len(markets) > limit:
        body = {**body, "markets": dict(list(markets.items())[:limit])}
    return _json(body)


def _subaccount_query(request: web.Request) -> tuple[str, int]:
    return read_address(request), read_subaccount_number(request)


async def get_perpetual_positions(request: web.Request) -> web.Response:
    address, number = _subaccount_query(request)
    statuses = _read_status_list(
        request, POSITION_STATUSES, "status must be a valid Position Status (OPEN, etc)"
    )
    limit = read_limit(request)
    read_optional_height(request, "createdBeforeOrAtHeight")
    read_optional_iso(request, "createdBeforeOrAt")
    engine = _engine(request)
    if views.subaccount(engine, address, number) is None:
        raise not_found(f"No subaccount found with address {address} and subaccountNumber {number}")
    return _json(views.perpetual_positions(engine, address, number, status=statuses, limit=limit))


async def get_asset_positions(request: web.Request) -> web.Response:
    address, number = _subaccount_query(request)
    read_limit(request)
    engine = _engine(request)
    if views.subaccount(engine, address, number) is None:
        raise not_found(f"No subaccount found with address {address} and subaccountNumber {number}")
    return _json(views.asset_positions(engine, address, number))


def _read_status_list(request: web.Request, choices: tuple[str, ...], msg: str) -> list[str] | None:
    value = request.query.get("status")
    if value is None:
        return None
    statuses = [part for part in value.split(",") if part]
    if not statuses or any(status not in choices for status in statuses):
        raise invalid("status", value, msg)
    return statuses


def _read_bool(request: web.Request, name: str) -> bool | None:
    value = request.query.get(name)
    if value is None:
        return None
    lowered = value.lower()
    if lowered not in ("true", "false"):
        raise invalid(name, value, f"{name} must be a boolean")
    return lowered == "true"


async def get_orders(request: web.Request) -> web.Response:
    engine = _engine(request)
    address, number = _subaccount_query(request)
    limit = read_limit(request)
    ticker = read_ticker(request, engine, optional=True)
    side = read_choice(request, "side", ORDER_SIDES, "side must be one of BUY, SELL")
    order_type = read_choice(
        request, "type", ORDER_TYPES, f"type must be one of {', '.join(ORDER_TYPES)}"
    )
    statuses = _read_status_list(
        request, ORDER_STATUSES, f"status must be one of {', '.join(ORDER_STATUSES)}"
    )
    gtb = read_optional_height(request, "goodTilBlockBeforeOrAt")
    read_optional_iso(request, "goodTilBlockTimeBeforeOrAt")
    _read_bool(request, "returnLatestOrders")
    orders = views.orders(
        engine, address, number, ticker=ticker, status=statuses, limit=API_LIMIT, side=side
    )
    if order_type is not None:
        orders = [order for order in orders if order.get("type") == order_type]
    if gtb is not None:
        orders = [
            order
            for order in orders
            if order.get("goodTilBlock") is not None and int(order["goodTilBlock"]) <= gtb
        ]
    return _json(orders[:limit])


async def get_order(request: web.Request) -> web.Response:
    order_id = request.match_info["orderId"]
    try:
        uuid.UUID(order_id)
    except ValueError:
        raise invalid("orderId", order_id, "orderId must be a valid UUID", "params") from None
    body = views.order(_engine(request), order_id)
    if body is None:
        raise not_found(f"Unable to find order with orderId: {order_id}")
    return _json(body)


async def get_fills(request: web.Request) -> web.Response:
    engine = _engine(request)
    address, number = _subaccount_query(request)
    limit = read_limit(request)
    read_optional_height(request, "createdBeforeOrAtHeight")
    read_optional_iso(request, "createdBeforeOrAt")
    page = request.query.get("page")
    if page is not None and _int_in(page, 1, 2**31) is None:
        raise invalid("page", page, "page must be a non-negative integer")
    market = request.query.get("market")
    market_type = request.query.get("marketType")
    if market_type is not None and market_type not in ("PERPETUAL", "SPOT"):
        raise invalid("marketType", market_type, "marketType must be a valid market type")
    if market is not None:
        if market_type is None:
            raise invalid("marketType", None, "marketType must be provided if market is provided")
        if market_type != "PERPETUAL" or not known_ticker(engine, market):
            raise not_found(f"{market} not found in markets of type {market_type}")
    body = views.fills(engine, address, number, market=market, limit=limit)
    return _json(body)


async def get_height(request: web.Request) -> web.Response:
    return _json(views.height(_engine(request)))


async def get_time(request: web.Request) -> web.Response:
    return _json(views.time(_engine(request)))


async def get_candles(request: web.Request) -> web.Response:
    engine = _engine(request)
    ticker = read_ticker(request, engine, optional=False)
    resolution = request.query.get("resolution")
    if resolution not in CANDLE_RESOLUTIONS:
        raise invalid(
            "resolution",
            resolution,
            f"resolution must be a valid Candle Resolution, one of {','.join(CANDLE_RESOLUTIONS)}",
        )
    limit = read_limit(request)
    from_iso = read_optional_iso(request, "fromISO")
    to_iso = read_optional_iso(request, "toISO")
    assert ticker is not None
    body = views.candles(engine, ticker, resolution, limit=limit, from_iso=from_iso, to_iso=to_iso)
    if body is None:
        raise invalid("ticker", ticker, "ticker must be a valid ticker (BTC-USD, etc)", "params")
    return _json(body)


async def get_orderbook(request: web.Request) -> web.Response:
    engine = _engine(request)
    ticker = request.match_info["ticker"]
    if not known_ticker(engine, ticker):
        raise not_found(f"{ticker} not found in tickers of type perpetual")
    body = views.orderbook(engine, ticker)
    if body is None:
        raise not_found(f"{ticker} not found in tickers of type perpetual")
    return _json(body)


async def get_trades(request: web.Request) -> web.Response:
    engine = _engine(request)
    ticker = read_ticker(request, engine, optional=False)
    limit = read_limit(request)
    read_optional_height(request, "createdBeforeOrAtHeight")
    assert ticker is not None
    body = views.trades(engine, ticker, limit=limit)
    if body is None:
        raise invalid("ticker", ticker, "ticker must be a valid ticker (BTC-USD, etc)", "params")
    return _json(body)


# --- faucet and devnet controls --------------------------------------------


async def _json_body(request: web.Request) -> Any:
    raw = await request.read()
    try:
        return json.loads(raw.decode("utf-8")) if raw else None
    except (ValueError, RecursionError) as exc:  # bad UTF-8, bad JSON, huge integers
        raise ApiError(400, [{"msg": f"Malformed JSON body: {exc}"}]) from None


def parse_usdc_amount(value: Any) -> Decimal:
    """A faucet amount in USDC: a positive finite number with at most 6 decimals."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise invalid("amount", value, "amount must be a positive number", "body")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise invalid("amount", value, "amount must be a positive number", "body") from None
    if not amount.is_finite() or amount <= 0:
        raise invalid("amount", value, "amount must be a positive number", "body")
    if amount > MAX_FAUCET_USDC:
        raise invalid("amount", value, f"amount must not exceed {MAX_FAUCET_USDC} USDC", "body")
    if amount != amount.quantize(Decimal("0.000001")):
        raise invalid("amount", value, "amount must have at most 6 decimals", "body")
    return amount


async def post_faucet_tokens(request: web.Request) -> web.Response:
    body = await _json_body(request)
    if not isinstance(body, dict):
        raise ApiError(400, [{"msg": "body must be a JSON object"}])
    address = body.get("address")
    if not isinstance(address, str) or not is_valid_address(address):
        raise invalid("address", address, "address must be a valid dydx address", "body")
    number = body.get("subaccountNumber", 0)
    if (
        isinstance(number, bool)
        or not isinstance(number, int)
        or not 0 <= number <= MAX_SUBACCOUNT_NUMBER
    ):
        raise invalid(
            "subaccountNumber",
            number,
            SUBACCOUNT_NUMBER_MSG,
            "body",
        )
    amount = parse_usdc_amount(body.get("amount"))
    quote_quantums = int(amount * 1_000_000)
    request.app[ACCOUNTS_KEY].ensure(address)
    engine = _engine(request)
    engine.deposit(address, number, quote_quantums)
    return _json(
        {
            "address": address,
            "subaccountNumber": number,
            "amount": str(amount),
            "height": str(engine.height),
        }
    )


async def post_faucet_native(request: web.Request) -> web.Response:
    body = await _json_body(request)
    address = body.get("address") if isinstance(body, dict) else None
    if not isinstance(address, str) or not is_valid_address(address):
        raise invalid("address", address, "address must be a valid dydx address", "body")
    # The devnet has no native token; the call only creates the account.
    request.app[ACCOUNTS_KEY].ensure(address)
    return _json({"address": address})


async def post_faults(request: web.Request) -> web.Response:
    body = await _json_body(request)
    try:
        state = request.app[FAULTS_KEY].apply(body)
    except ValueError as exc:
        raise ApiError(400, [{"msg": str(exc)}]) from None
    return _json(state)


async def get_faults(request: web.Request) -> web.Response:
    return _json(request.app[FAULTS_KEY].state())


# --- middleware and app ----------------------------------------------------


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure becomes a JSON error answer; nothing escapes as a crash."""
    failure = _armed_failure(request)
    if failure is not None:
        return _failure_response(failure)
    try:
        return await handler(request)
    except ApiError as exc:
        return _json({"errors": exc.errors}, status=exc.status)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        # Unknown paths, wrong methods, oversized bodies: still a JSON error body.
        return _json({"errors": [{"msg": exc.reason}]}, status=exc.status)
    except Exception:  # the devnet must keep serving whatever a request does
        log.exception("indexer handler failed for %s", request.path)
        return _json({"errors": [{"msg": "Internal Server Error"}]}, status=500)


def _armed_failure(request: web.Request) -> IndexerFailure | None:
    """The fault an indexer read must answer now, if one is armed for its route."""
    parts = request.path.split("/")
    if len(parts) < 3 or parts[1] != "v4" or parts[2] == "ws":
        return None
    return request.app[FAULTS_KEY].consume_indexer_failure(parts[2])


def _failure_response(failure: IndexerFailure) -> web.Response:
    if failure.status == 429:
        # comlink's rate limiter: Retry-After in milliseconds, RateLimit-* headers.
        response = _json({"errors": [{"msg": "Too many requests"}]}, status=429)
        response.headers["Retry-After"] = str(failure.retry_after_ms)
        response.headers["RateLimit-Remaining"] = "0"
        response.headers["RateLimit-Limit"] = str(RATE_LIMIT_POINTS)
        return response
    reason = HTTPStatus(failure.status).phrase
    return _json({"errors": [{"msg": reason}]}, status=failure.status)


def add_routes(app: web.Application) -> None:
    """Register the REST routes (the WebSocket route is added by ``indexer_ws``)."""
    app.router.add_get("/v4/addresses/{address}", get_address)
    app.router.add_get(
        "/v4/addresses/{address}/subaccountNumber/{subaccountNumber}", get_subaccount
    )
    app.router.add_get("/v4/perpetualMarkets", get_perpetual_markets)
    app.router.add_get("/v4/perpetualPositions", get_perpetual_positions)
    app.router.add_get("/v4/assetPositions", get_asset_positions)
    app.router.add_get("/v4/orders", get_orders)
    app.router.add_get("/v4/orders/{orderId}", get_order)
    app.router.add_get("/v4/fills", get_fills)
    app.router.add_get("/v4/height", get_height)
    app.router.add_get("/v4/time", get_time)
    app.router.add_get("/v4/candles/perpetualMarkets/{ticker}", get_candles)
    app.router.add_get("/v4/orderbooks/perpetualMarket/{ticker}", get_orderbook)
    app.router.add_get("/v4/trades/perpetualMarket/{ticker}", get_trades)
    app.router.add_post("/faucet/tokens", post_faucet_tokens)
    app.router.add_post("/faucet/native-token", post_faucet_native)
    app.router.add_post("/devnet/faults", post_faults)
    app.router.add_get("/devnet/faults", get_faults)


def make_app(engine: Any, accounts: AccountRegistry, faults: Faults) -> web.Application:
    """The aiohttp application serving the indexer REST API (WebSocket added separately)."""
    app = web.Application(middlewares=[error_middleware], client_max_size=64 * 1024)
    app[ENGINE_KEY] = engine
    app[ACCOUNTS_KEY] = accounts
    app[FAULTS_KEY] = faults
    add_routes(app)
    return app
