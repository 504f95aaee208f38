"""The indexer's REST API (comlink) under ``/v4``.

Paths and query parameters are those the official client sends
(``dydx_v4_client/indexer/rest/modules/*.py``); bodies come from
:mod:`dydx_devnet.views` in the real indexer's shapes; parameters are read and
validated by :mod:`dydx_devnet.indexer_params`. No input makes it answer 500.
The same application serves the devnet's controls (:mod:`dydx_devnet.control_api`)
and the WebSocket (:mod:`dydx_devnet.indexer_ws`).

Faults and latency (:mod:`dydx_devnet.faults`) act here: an armed indexer
failure answers in place of the route, and every ``/v4`` and faucet answer
waits out the configured latency (``asyncio.sleep``, half before the handler
and half after). So do comlink's per-client rate limits
(:mod:`dydx_devnet.indexer_limits`): HTTP 429 with ``Retry-After`` (ms).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

from aiohttp import web

from dydx_devnet import venue_routes, views
from dydx_devnet.auth import AccountRegistry
from dydx_devnet.control_api import add_control_routes
from dydx_devnet.faults import Faults, IndexerFailure
from dydx_devnet.indexer_limits import FixedWindows, IndexerLimits
from dydx_devnet.indexer_params import (
    ACCOUNTS_KEY,
    CANDLE_RESOLUTIONS,
    ENGINE_KEY,
    FAULTS_KEY,
    POSITION_STATUSES,
    RATE_LIMIT_POINTS,
    ApiError,
    engine_of,
    int_in,
    invalid,
    json_response,
    known_ticker,
    not_found,
    read_address,
    read_limit,
    read_optional_epoch,
    read_optional_height,
    read_optional_iso,
    read_status_list,
    read_subaccount_number,
    read_ticker,
)
from dydx_devnet.order_query import OrderList

log = logging.getLogger(__name__)

# --- handlers --------------------------------------------------------------

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def get_address(request: web.Request) -> web.Response:
    address = read_address(request, "address must be a valid address")
    read_limit(request)
    body = views.address(engine_of(request), address)
    if body is None:
        raise not_found(f"No subaccounts found for address {address}")
    return json_response(body)


async def get_subaccount(request: web.Request) -> web.Response:
    address = read_address(request)
    number = read_subaccount_number(request)
    body = views.subaccount(engine_of(request), address, number)
    if body is None:
        raise not_found(f"No subaccount found with address {address} and subaccountNumber {number}")
    return json_response(body)


async def get_perpetual_markets(request: web.Request) -> web.Response:
    engine = engine_of(request)
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
    return json_response(body)


def _subaccount_query(request: web.Request) -> tuple[str, int]:
    return read_address(request), read_subaccount_number(request)


async def get_perpetual_positions(request: web.Request) -> web.Response:
    address, number = _subaccount_query(request)
    statuses = read_status_list(
        request, POSITION_STATUSES, "status must be a valid Position Status (OPEN, etc)"
    )
    limit = read_limit(request)
    before_height = read_optional_height(request, "createdBeforeOrAtHeight")
    read_optional_iso(request, "createdBeforeOrAt")
    engine = engine_of(request)
    if views.subaccount(engine, address, number) is None:
        raise not_found(f"No subaccount found with address {address} and subaccountNumber {number}")
    body = views.perpetual_positions(
        engine, address, number, status=statuses, limit=limit,
        created_before_or_at_height=before_height,
    )  # fmt: skip
    return json_response(body)


async def get_asset_positions(request: web.Request) -> web.Response:
    address, number = _subaccount_query(request)
    read_limit(request)
    engine = engine_of(request)
    if views.subaccount(engine, address, number) is None:
        raise not_found(f"No subaccount found with address {address} and subaccountNumber {number}")
    return json_response(views.asset_positions(engine, address, number))


async def get_orders(request: web.Request) -> web.Response:
    engine = engine_of(request)
    address, number = _subaccount_query(request)
    limit = read_limit(request)
    return json_response(OrderList.read(request, engine).rows(engine, address, number, limit))


async def get_order(request: web.Request) -> web.Response:
    order_id = request.match_info["orderId"]
    try:
        uuid.UUID(order_id)
    except ValueError:
        raise invalid("orderId", order_id, "orderId must be a valid UUID", "params") from None
    body = views.order(engine_of(request), order_id)
    if body is None:
        raise not_found(f"Unable to find order id {order_id}")
    return json_response(body)


async def get_fills(request: web.Request) -> web.Response:
    engine = engine_of(request)
    address, number = _subaccount_query(request)
    limit = read_limit(request)
    before_height = read_optional_height(request, "createdBeforeOrAtHeight")
    before = read_optional_epoch(request, "createdBeforeOrAt")
    page_text = request.query.get("page")
    page = int_in(page_text, 1, 2**31)
    if page_text is not None and page is None:
        raise invalid("page", page_text, "page must be a non-negative integer")
    market = request.query.get("market")
    market_type = request.query.get("marketType")
    if market_type is not None and market_type not in ("PERPETUAL", "SPOT"):
        raise invalid("marketType", market_type, "marketType must be a valid market type")
    if market is not None:
        if market_type is None:
            raise invalid("marketType", None, "marketType must be provided if market is provided")
        if market_type != "PERPETUAL" or not known_ticker(engine, market):
            raise not_found(f"{market} not found in markets of type {market_type}")
    body = views.fills(
        engine, address, number, market=market, limit=limit,
        created_before_or_at_height=before_height,
        created_before_or_at_ms=None if before is None else before * 1000, page=page,
    )  # fmt: skip
    return json_response(body)


async def get_height(request: web.Request) -> web.Response:
    return json_response(views.height(engine_of(request)))


async def get_time(request: web.Request) -> web.Response:
    return json_response(views.time(engine_of(request)))


async def get_candles(request: web.Request) -> web.Response:
    engine = engine_of(request)
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
    return json_response(body)


async def get_orderbook(request: web.Request) -> web.Response:
    engine = engine_of(request)
    ticker = request.match_info["ticker"]
    if not known_ticker(engine, ticker):
        raise not_found(f"{ticker} not found in tickers of type perpetual")
    body = views.orderbook(engine, ticker)
    if body is None:
        raise not_found(f"{ticker} not found in tickers of type perpetual")
    return json_response(body)


async def get_trades(request: web.Request) -> web.Response:
    engine = engine_of(request)
    ticker = read_ticker(request, engine, optional=False)
    limit = read_limit(request)
    read_optional_height(request, "createdBeforeOrAtHeight")
    assert ticker is not None
    body = views.trades(engine, ticker, limit=limit)
    if body is None:
        raise invalid("ticker", ticker, "ticker must be a valid ticker (BTC-USD, etc)", "params")
    return json_response(body)


# --- middleware and app ----------------------------------------------------


@web.middleware
async def latency_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The configured network latency on indexer and faucet answers (not the WebSocket,
    whose messages are delayed one by one, nor the ``/devnet`` controls)."""
    if _route(request) in (None, "ws") and not request.path.startswith("/faucet/"):
        return await handler(request)
    delay = request.app[FAULTS_KEY].latency.sample_s()
    if delay == 0:
        return await handler(request)
    await asyncio.sleep(delay / 2)
    response = await handler(request)
    await asyncio.sleep(delay / 2)
    return response


LIMITS_KEY: web.AppKey[IndexerLimits] = web.AppKey("indexer_limits", IndexerLimits)
WINDOWS_KEY: web.AppKey[FixedWindows] = web.AppKey("indexer_windows", FixedWindows)


@web.middleware
async def rate_limit_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """comlink's per-client fixed windows: 429 with ``Retry-After`` (ms) past the points."""
    route = _route(request)
    limits = request.app[LIMITS_KEY]
    if route in (None, "ws") or not limits.enabled:
        return await handler(request)
    bucket, points = limits.bucket(route)
    client = request.remote or "unknown"
    verdict = request.app[WINDOWS_KEY].consume((client, bucket), points, limits.window_s)
    headers = {
        "RateLimit-Remaining": str(verdict.remaining),
        "RateLimit-Reset": str(int(time.time() * 1000) + verdict.reset_in_ms),
        "RateLimit-Limit": str(verdict.limit),
    }
    if not verdict.allowed:
        response = json_response({"errors": [{"msg": "Too many requests"}]}, status=429)
        response.headers.update(headers)
        response.headers["Retry-After"] = str(verdict.reset_in_ms)
        return response
    answer = await handler(request)
    answer.headers.update(headers)
    return answer


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure becomes a JSON error answer; nothing escapes as a crash."""
    failure = _armed_failure(request)
    if failure is not None:
        return _failure_response(failure)
    try:
        return await handler(request)
    except ApiError as exc:
        return json_response({"errors": exc.errors}, status=exc.status)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        # Unknown paths, wrong methods, oversized bodies: still a JSON error body.
        return json_response({"errors": [{"msg": exc.reason}]}, status=exc.status)
    except Exception:  # the devnet must keep serving whatever a request does
        log.exception("indexer handler failed for %s", request.path)
        return json_response({"errors": [{"msg": "Internal Server Error"}]}, status=500)


def _route(request: web.Request) -> str | None:
    """The path segment after ``/v4/`` (``fills``, ``ws``, ...); ``None`` off the indexer."""
    parts = request.path.split("/")
    return parts[2] if len(parts) >= 3 and parts[1] == "v4" else None


def _armed_failure(request: web.Request) -> IndexerFailure | None:
    """The fault an indexer read must answer now, if one is armed for its route."""
    route = _route(request)
    if route in (None, "ws"):
        return None
    return request.app[FAULTS_KEY].consume_indexer_failure(route)


def _failure_response(failure: IndexerFailure) -> web.Response:
    if failure.status == 429:
        # comlink's rate limiter: Retry-After in milliseconds, RateLimit-* headers.
        response = json_response({"errors": [{"msg": "Too many requests"}]}, status=429)
        response.headers["Retry-After"] = str(failure.retry_after_ms)
        response.headers["RateLimit-Remaining"] = "0"
        response.headers["RateLimit-Limit"] = str(RATE_LIMIT_POINTS)
        return response
    reason = HTTPStatus(failure.status).phrase
    return json_response({"errors": [{"msg": reason}]}, status=failure.status)


def add_routes(app: web.Application) -> None:
    """Register the REST routes (the WebSocket route is added by ``indexer_ws``)."""
    # First: aiohttp matches in registration order, and /v4/orders/{orderId} would
    # otherwise take /v4/orders/parentSubaccountNumber.
    venue_routes.add_routes(app)
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
    add_control_routes(app)


def make_app(
    engine: Any,
    accounts: AccountRegistry,
    faults: Faults,
    limits: IndexerLimits | None = None,
) -> web.Application:
    """The aiohttp application serving the indexer REST API (WebSocket added separately)."""
    app = web.Application(
        middlewares=[latency_middleware, rate_limit_middleware, error_middleware],
        client_max_size=64 * 1024,
    )
    app[LIMITS_KEY] = limits if limits is not None else IndexerLimits()
    app[WINDOWS_KEY] = FixedWindows()
    app[ENGINE_KEY] = engine
    app[ACCOUNTS_KEY] = accounts
    app[FAULTS_KEY] = faults
    add_routes(app)
    return app
