"""The indexer's REST bodies and WebSocket snapshots, read from the engine.

Each function returns a JSON-ready value in the real indexer's shape (protocol
reference section 1; checked key-for-key against the bundled fixtures), or
``None`` where the real indexer answers 404. Reads take the engine lock.

Equity and free collateral are comlink's ``calculateEquityAndFreeCollateral``
at full precision (big.js): ``equity = USDC + sum(size x oracle)`` and
``freeCollateral = equity - sum(|size| x oracle x base IMF)`` (no
open-interest scaling, no leverage setting), exact decimals, not the chain's
truncated quote quantums. Funding is settled into USDC at once, so there is
no unsettled funding to add.

Subaccounts, positions, orders, fills and heights come from the engine's
:class:`~dydx_devnet.indexer_view.IndexerView`: while the indexer lags, they are
the state as of its height (``latestProcessedBlockHeight``), not the chain's.
Markets, candles, order books and trades are always current.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from dydx_devnet import shapes
from dydx_devnet.candles import RESOLUTION_MS
from dydx_devnet.engine import Engine
from dydx_devnet.indexer_orders import BEST_EFFORT_OPENED
from dydx_devnet.indexer_view import IndexerView
from dydx_devnet.replay import to_ms
from dydx_devnet.subaccounts import Position, Subaccount
from dydx_devnet.views_orders import OrderQuery, order, orders

API_LIMIT = 1000


class UnknownSubscription(LookupError):
    """A WebSocket subscription names a channel or id the devnet does not have."""


def _equity_and_free_collateral(
    engine: Engine, view: IndexerView, account: Subaccount
) -> tuple[Decimal, Decimal]:
    """comlink's exact (big.js) equity and free collateral of ``account``, USDC."""
    equity = Decimal(account.usdc).scaleb(-6)
    initial = Decimal(0)
    for ticker, position in account.positions.items():
        market = engine.markets[ticker]
        size = Decimal(position.quantums).scaleb(market.spec.atomic_resolution)
        price = Decimal(view.price_value(ticker)).scaleb(market.price_exponent)
        imf = Decimal(market.spec.liquidity_tier.initial_margin_ppm).scaleb(-6)
        equity += size * price
        initial += abs(size) * price * imf
    return equity, equity - initial


def _subaccount_object(engine: Engine, view: IndexerView, account: Subaccount) -> dict[str, Any]:
    equity, free_collateral = _equity_and_free_collateral(engine, view, account)
    positions = {
        ticker: _position(engine, view, account, position)
        for ticker, position in account.positions.items()
    }
    assets = {"USDC": shapes.asset_object(account)} if account.usdc != 0 else {}
    return {
        "address": account.address,
        "subaccountNumber": account.number,
        "equity": shapes.dec(equity),
        "freeCollateral": shapes.dec(free_collateral),
        "openPerpetualPositions": positions,
        "assetPositions": assets,
        "marginEnabled": True,
        "updatedAtHeight": str(account.updated_at_height),
        "latestProcessedBlockHeight": str(view.height),
    }


def _position(
    engine: Engine, view: IndexerView, account: Subaccount, position: Position
) -> dict[str, Any]:
    price = view.price_value(position.ticker)
    return shapes.position_object(
        position, engine.markets[position.ticker], account, price_value=price
    )


def subaccount(engine: Engine, address: str, number: int) -> dict[str, Any] | None:
    """``GET /v4/addresses/{address}/subaccountNumber/{n}``; ``None`` = 404."""
    with engine.lock:
        view = engine.indexer_view()
        account = view.subaccount(address, number)
        if account is None:
            return None
        return {"subaccount": _subaccount_object(engine, view, account)}


def address(engine: Engine, address: str) -> dict[str, Any] | None:
    """``GET /v4/addresses/{address}``; ``None`` = 404 (no subaccount funded)."""
    with engine.lock:
        view = engine.indexer_view()
        accounts = view.subaccounts_of(address)
        if not accounts:
            return None
        return {
            "subaccounts": [_subaccount_object(engine, view, a) for a in accounts],
            "totalTradingRewards": "0",
        }


def perpetual_markets(engine: Engine, ticker: str | None = None) -> dict[str, Any] | None:
    """``GET /v4/perpetualMarkets[?ticker=]``; ``None`` = unknown ticker."""
    with engine.lock:
        if ticker is not None:
            market = engine.markets.get(ticker)
            if market is None:
                return None
            return {"markets": {ticker: shapes.market_object(market)}}
        return {"markets": {t: shapes.market_object(m) for t, m in engine.markets.items()}}


def perpetual_positions(
    engine: Engine,
    address: str,
    number: int,
    status: str | list[str] | None = None,
    limit: int = API_LIMIT,
    created_before_or_at_height: int | None = None,
) -> dict[str, Any]:
    """``GET /v4/perpetualPositions``: newest first, optionally only some statuses and
    those opened at or before a height."""
    wanted = {status} if isinstance(status, str) else (set(status) if status else None)
    with engine.lock:
        view = engine.indexer_view()
        account = view.subaccount(address, number)
        if account is None:
            return {"positions": []}
        everything = list(account.positions.values()) + account.closed_positions
        everything.sort(key=lambda p: p.created_at_height, reverse=True)
        cutoff = view.height if created_before_or_at_height is None else created_before_or_at_height
        rows = [
            _position(engine, view, account, p)
            for p in everything
            if (wanted is None or p.status in wanted) and p.created_at_height <= cutoff
        ]
        return {"positions": rows[:limit]}


def asset_positions(engine: Engine, address: str, number: int) -> dict[str, Any]:
    """``GET /v4/assetPositions``."""
    with engine.lock:
        account = engine.indexer_view().subaccount(address, number)
        if account is None or account.usdc == 0:
            return {"positions": []}
        return {"positions": [shapes.asset_object(account)]}


def fills(
    engine: Engine,
    address: str,
    number: int,
    market: str | None = None,
    limit: int = API_LIMIT,
    created_before_or_at_height: int | None = None,
    created_before_or_at_ms: int | None = None,
    page: int | None = None,
) -> dict[str, Any]:
    """``GET /v4/fills``: newest first, filtered on ``market`` (not ``ticker``) and on
    creation height and time; with ``page``, oldest first by event id, ``limit`` a
    page, plus ``pageSize``, ``totalResults`` and ``offset`` (comlink's FillTable)."""
    with engine.lock:
        rows = [
            f
            for f in reversed(engine.indexer_view().fills_of(address, number))
            if (market is None or f["market"] == market)
            and (
                created_before_or_at_height is None
                or int(f["createdAtHeight"]) <= created_before_or_at_height
            )
            and (created_before_or_at_ms is None or _fill_ms(f) <= created_before_or_at_ms)
        ]
        if page is None:
            return {"fills": rows[:limit]}
        ascending = rows[::-1]  # fills are kept in event order
        offset = (max(1, page) - 1) * limit
        return {
            "fills": ascending[offset : offset + limit],
            "pageSize": limit,
            "totalResults": len(rows),
            "offset": offset,
        }


def _fill_ms(fill: dict[str, Any]) -> int:
    return to_ms(datetime.fromisoformat(str(fill["createdAt"]).replace("Z", "+00:00")))


def height(engine: Engine) -> dict[str, Any]:
    """``GET /v4/height``: the indexer's latest processed block."""
    with engine.lock:
        view = engine.indexer_view()
        return {"height": str(view.height), "time": shapes.iso(view.block_time_ms)}


def time(engine: Engine) -> dict[str, Any]:
    """``GET /v4/time``: the devnet's clock is the chain's."""
    with engine.lock:
        ms = engine.block_time_ms
        return {"iso": shapes.iso(ms), "epoch": ms / 1000}


def _iso_ms(text: str | None) -> int | None:
    if text is None:
        return None
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:  # the indexer reads a zone-less time as UTC
        moment = moment.replace(tzinfo=UTC)
    return to_ms(moment)


def candles(
    engine: Engine,
    ticker: str,
    resolution: str,
    limit: int = API_LIMIT,
    from_iso: str | None = None,
    to_iso: str | None = None,
) -> dict[str, Any] | None:
    """``GET /v4/candles/perpetualMarkets/{ticker}``: newest first; ``None`` = unknown.

    Raises ``ValueError`` for an unknown resolution or an unreadable ISO time.
    """
    if resolution not in RESOLUTION_MS:
        raise ValueError(f"resolution must be one of {', '.join(RESOLUTION_MS)}")
    resolution_ms = RESOLUTION_MS[resolution]
    from_ms, to_ms = _iso_ms(from_iso), _iso_ms(to_iso)
    with engine.lock:
        if ticker not in engine.markets:
            return None
        end = engine.block_time_ms if to_ms is None else min(to_ms, engine.block_time_ms)
        start = end - resolution_ms * limit if from_ms is None else from_ms
        start = max(start, end - resolution_ms * limit)
        bars = engine.candles.candle_bars(ticker, resolution, start, end)
        rows = [engine.candles.candle_object(ticker, resolution, bar) for bar in reversed(bars)]
        return {"candles": rows[:limit]}


def orderbook(engine: Engine, ticker: str) -> dict[str, Any] | None:
    """``GET /v4/orderbooks/perpetualMarket/{ticker}``: up to 100 levels a side."""
    with engine.lock:
        market = engine.markets.get(ticker)
        if market is None:
            return None
        book = engine.state.books[ticker]
        return {
            side: [
                {"price": shapes.price(market, p), "size": shapes.size(market, q)}
                for p, q in book.aggregated(bids=side == "bids")
            ]
            for side in ("bids", "asks")
        }


def trades(engine: Engine, ticker: str, limit: int = 100) -> dict[str, Any] | None:
    """``GET /v4/trades/perpetualMarket/{ticker}``: newest first."""
    with engine.lock:
        if ticker not in engine.markets:
            return None
        return {"trades": list(engine.state.trades.get(ticker, ()))[:limit]}


def subscribed_contents(engine: Engine, channel: str, channel_id: str | None) -> dict[str, Any]:
    """The ``contents`` of a ``subscribed`` message (the subscription's snapshot).

    Marks order-book and candle ids as watched so the engine produces their
    updates. Raises :class:`UnknownSubscription` for an unknown channel or id.
    """
    with engine.lock:
        if channel == "v4_block_height":
            body = height(engine)
            return {"height": body["height"], "time": body["time"]}
        if channel == "v4_markets":
            markets = perpetual_markets(engine)
            assert markets is not None
            return markets
        if channel_id is None:
            raise UnknownSubscription(f"channel {channel} needs an id")
        if channel == "v4_subaccounts":
            return _subaccount_snapshot(engine, channel_id)
        if channel == "v4_orderbook":
            levels = orderbook(engine, channel_id)
            if levels is None:
                raise UnknownSubscription(f"no market {channel_id}")
            engine.watch(channel, channel_id)
            return levels
        if channel == "v4_trades":
            recent = trades(engine, channel_id)
            if recent is None:
                raise UnknownSubscription(f"no market {channel_id}")
            return recent
        if channel == "v4_candles":
            ticker, _, resolution = channel_id.partition("/")
            if ticker not in engine.markets or resolution not in RESOLUTION_MS:
                raise UnknownSubscription(f"no candles {channel_id}")
            engine.watch(channel, channel_id)
            series = candles(engine, ticker, resolution, limit=100)
            assert series is not None
            return series
        raise UnknownSubscription(f"unknown channel {channel}")


def _subaccount_snapshot(engine: Engine, channel_id: str) -> dict[str, Any]:
    owner, _, number_text = channel_id.rpartition("/")
    if not owner or not number_text.isdigit():
        raise UnknownSubscription(f"subaccount id {channel_id!r} is not 'address/number'")
    number = int(number_text)
    view = engine.indexer_view()
    account = view.subaccount(owner, number) or Subaccount(owner, number)
    # socks: OPEN, UNTRIGGERED and BEST_EFFORT_OPENED orders, then the recently
    # best-effort-canceled ones (good-til-block within the last 20 blocks).
    live = orders(engine, owner, number, status=["OPEN", "UNTRIGGERED", BEST_EFFORT_OPENED])
    recent = orders(
        engine,
        owner,
        number,
        status="BEST_EFFORT_CANCELED",
        query=OrderQuery(good_til_block_after=max(view.height - 20, 1)),
    )
    return {
        "subaccount": _subaccount_object(engine, view, account),
        "orders": live + recent,
        "blockHeight": str(view.height),
    }


__all__ = [
    "API_LIMIT",
    "OrderQuery",
    "UnknownSubscription",
    "address",
    "asset_positions",
    "candles",
    "fills",
    "height",
    "order",
    "orderbook",
    "orders",
    "perpetual_markets",
    "perpetual_positions",
    "subaccount",
    "subscribed_contents",
    "time",
    "trades",
]
