"""The indexer's history routes, from :mod:`dydx_devnet.ledger` and the candles.

* ``GET /v4/historical-pnl?address&subaccountNumber[&limit&page&createdBeforeOrAt(Height)
  &createdOnOrAfter(Height)]``: ``{"historicalPnl": [{equity, totalPnl, netTransfers,
  createdAt, blockHeight, blockTime}]}`` hourly, newest first; 404 for an unknown subaccount;
* ``GET /v4/historical-pnl/parentSubaccountNumber``: the children's ticks summed per hour;
* ``GET /v4/historicalFunding/{ticker}[?limit&effectiveBeforeOrAt(Height)]``:
  ``{"historicalFunding": [{ticker, rate, price, effectiveAtHeight, effectiveAt}]}``;
* ``GET /v4/fundingPayments?address&subaccountNumber[&limit&ticker&page
  &createdOnOrAfter&showZeroPayments]`` and ``/v4/fundingPayments/parentSubaccount``:
  ``{"fundingPayments": [...]}`` newest first (comlink reads ``createdOnOrAfter``,
  not the ``afterOrAt`` the official client sends, so that one is ignored, as there);
* ``GET /v4/sparklines?timePeriod=ONE_DAY|SEVEN_DAYS``: every market's candle closes,
  newest first (1-hour candles of the last day, 4-hour ones of the last week).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from aiohttp import web

from dydx_devnet import shapes, views
from dydx_devnet.indexer_params import (
    engine_of,
    invalid,
    json_response,
    not_found,
    read_address,
    read_bool,
    read_limit,
    read_optional_height,
    read_optional_iso,
    read_subaccount_number,
    read_ticker,
)
from dydx_devnet.ledger import FundingPayment, PnlTick
from dydx_devnet.parent_subaccounts import children, is_child_of, read_parent_number
from dydx_devnet.replay import DAY_MS, HOUR_MS
from dydx_devnet.transfers import usdc_text
from dydx_devnet.venue_params import iso_ms, paged, read_created_before, read_page, within

SPARKLINES = {"ONE_DAY": ("1HOUR", DAY_MS), "SEVEN_DAYS": ("4HOURS", 7 * DAY_MS)}


def _pnl_object(tick: PnlTick) -> dict[str, Any]:
    return {
        "equity": usdc_text(tick.equity),
        "totalPnl": usdc_text(tick.total_pnl),
        "netTransfers": usdc_text(tick.net_transfers),
        "createdAt": shapes.iso(tick.ms),
        "blockHeight": str(tick.height),
        "blockTime": shapes.iso(tick.ms),
    }


def _pnl_filter(request: web.Request) -> tuple[int | None, int | None, int | None, int | None]:
    before_height, before_ms = read_created_before(request)
    after_height = read_optional_height(request, "createdOnOrAfterHeight")
    after = read_optional_iso(request, "createdOnOrAfter")
    return before_height, before_ms, after_height, None if after is None else iso_ms(after)


def _ticks(engine: Any, keys: Iterable[tuple[str, int]], request: web.Request) -> list[PnlTick]:
    before_height, before_ms, after_height, after_ms = _pnl_filter(request)
    height = engine.indexer_view().height
    found = [
        tick
        for key in keys
        for tick in engine.state.ledger.pnl.get(key, ())
        if tick.height <= height
        and within(tick.height, tick.ms, before_height, before_ms)
        and (after_height is None or tick.height >= after_height)
        and (after_ms is None or tick.ms >= after_ms)
    ]
    return sorted(found, key=lambda tick: tick.height, reverse=True)


async def get_historical_pnl(request: web.Request) -> web.Response:
    address, number = read_address(request), read_subaccount_number(request)
    limit, page = read_limit(request), read_page(request)
    engine = engine_of(request)
    with engine.lock:
        if engine.indexer_view().subaccount(address, number) is None:
            raise not_found(
                f"No subaccount found with address {address} and subaccountNumber {number}"
            )
        rows = [_pnl_object(t) for t in _ticks(engine, [(address, number)], request)]
    return json_response(paged("historicalPnl", rows, limit, page))


async def get_parent_historical_pnl(request: web.Request) -> web.Response:
    address, parent = read_address(request), read_parent_number(request)
    limit = read_limit(request)
    engine = engine_of(request)
    with engine.lock:
        keys = [(a.address, a.number) for a in children(engine.indexer_view(), address, parent)]
        if not keys:
            raise not_found(
                f"No subaccounts found with address {address} and parentSubaccountNumber {parent}"
            )
        ticks = _ticks(engine, keys, request)[:limit]
    # comlink's aggregateHourlyPnlTicks: one row per hour, the children's figures summed.
    hours: dict[int, dict[str, Any]] = {}
    for tick in ticks:
        row = hours.get(tick.ms // HOUR_MS)
        if row is None:
            hours[tick.ms // HOUR_MS] = _pnl_object(tick)
            continue
        for field, amount in (
            ("equity", tick.equity),
            ("totalPnl", tick.total_pnl),
            ("netTransfers", tick.net_transfers),
        ):
            row[field] = f"{Decimal(row[field]) + Decimal(amount).scaleb(-6):.6f}"
    return json_response({"historicalPnl": list(hours.values())})


async def get_historical_funding(request: web.Request) -> web.Response:
    engine = engine_of(request)
    ticker = read_ticker(request, engine, optional=False)
    limit = read_limit(request)
    before_height = read_optional_height(request, "effectiveBeforeOrAtHeight")
    before = read_optional_iso(request, "effectiveBeforeOrAt")
    before_ms = None if before is None else iso_ms(before)
    assert ticker is not None
    with engine.lock:
        height = engine.indexer_view().height
        rows = [
            {
                "ticker": tick.ticker,
                "rate": shapes.dec(tick.rate),
                "price": shapes.dec(tick.price),
                "effectiveAtHeight": str(tick.height),
                "effectiveAt": shapes.iso(tick.ms),
            }
            for tick in reversed(engine.state.ledger.funding.get(ticker, ()))
            if tick.height <= height and within(tick.height, tick.ms, before_height, before_ms)
        ]
    return json_response({"historicalFunding": rows[:limit]})


def _payment_object(payment: FundingPayment) -> dict[str, Any]:
    tick = payment.tick
    return {
        "subaccountNumber": str(payment.key[1]),
        "createdAt": shapes.iso(tick.ms),
        "createdAtHeight": str(tick.height),
        "perpetualId": str(payment.perpetual_id),
        "ticker": tick.ticker,
        "oraclePrice": shapes.dec(tick.price),
        "size": shapes.dec(payment.size),
        "side": "LONG" if payment.size > 0 else "SHORT",
        "rate": shapes.dec(tick.rate),
        "payment": shapes.usdc(payment.payment),
        "fundingIndex": shapes.frac(tick.index),
    }


def _payments(request: web.Request, engine: Any, wanted: Any) -> web.Response:
    limit, page = read_limit(request), read_page(request)
    after = read_optional_iso(request, "createdOnOrAfter")
    after_ms = None if after is None else iso_ms(after)
    zero = read_bool(request, "showZeroPayments")
    with engine.lock:
        height = engine.indexer_view().height
        rows = [
            _payment_object(p)
            for p in reversed(engine.state.ledger.payments)
            if wanted(p)
            and p.tick.height <= height
            and (after_ms is None or p.tick.ms >= after_ms)
            and (zero or p.payment != 0)
        ]
    return json_response(paged("fundingPayments", rows, limit, page))


async def get_funding_payments(request: web.Request) -> web.Response:
    engine = engine_of(request)
    address, number = read_address(request), read_subaccount_number(request)
    ticker = read_ticker(request, engine, optional=True)
    return _payments(
        request,
        engine,
        lambda p: p.key == (address, number) and (ticker is None or p.tick.ticker == ticker),
    )


async def get_parent_funding_payments(request: web.Request) -> web.Response:
    address, parent = read_address(request), read_parent_number(request)
    return _payments(
        request,
        engine_of(request),
        lambda p: p.key[0] == address and is_child_of(p.key[1], parent),
    )


async def get_sparklines(request: web.Request) -> web.Response:
    period = request.query.get("timePeriod")
    if period not in SPARKLINES:
        raise invalid(
            "timePeriod",
            period,
            f"timePeriod must be a valid Time Period, one of {','.join(SPARKLINES)}",
        )
    resolution, lookback_ms = SPARKLINES[period]
    engine = engine_of(request)
    with engine.lock:
        since = shapes.iso(engine.block_time_ms - lookback_ms)
        body: dict[str, list[str]] = {}
        for ticker in engine.markets:
            series = views.candles(engine, ticker, resolution, from_iso=since)
            assert series is not None
            body[ticker] = [c["close"] for c in series["candles"] if c["startedAt"] >= since]
    return json_response(body)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/v4/historical-pnl", get_historical_pnl)
    app.router.add_get("/v4/historical-pnl/parentSubaccountNumber", get_parent_historical_pnl)
    app.router.add_get("/v4/historicalFunding/{ticker}", get_historical_funding)
    app.router.add_get("/v4/fundingPayments", get_funding_payments)
    app.router.add_get("/v4/fundingPayments/parentSubaccount", get_parent_funding_payments)
    app.router.add_get("/v4/sparklines", get_sparklines)
