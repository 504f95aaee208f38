"""Indexer JSON -> domain values: the one place where the wire format is read.

Every function takes a decoded JSON body (REST) or a websocket ``contents``
object and returns typed domain values (``Decimal`` for USDC, prices and
sizes; ``int`` for heights and ids; aware UTC ``datetime``), reading each field
through :class:`~dydx_trader.adapters.dydx.fields.Fields`. Anything that does
not have the documented shape (protocol reference section 1) raises
:class:`MalformedPayload` naming the field. Markets are read by
:mod:`~dydx_trader.adapters.dydx.market_wire` and listed here too, so callers
have one module to import.
"""

from __future__ import annotations

from decimal import Decimal

from dydx_trader.adapters.dydx.fields import Fields, as_malformed, json_type
from dydx_trader.adapters.dydx.market_wire import (
    parse_market,
    parse_market_patch,
    parse_markets,
    parse_markets_channel,
)
from dydx_trader.domain.account import AccountSnapshot, PerpetualPosition
from dydx_trader.domain.errors import MalformedPayload
from dydx_trader.domain.side import Side
from dydx_trader.domain.venue import (
    Candle,
    CandleResolution,
    CandlesSnapshot,
    CandleUpdate,
    IndexerFill,
    IndexerHeight,
    IndexerOrder,
    IndexerOrderStatus,
    OrderStatusUpdate,
    SubaccountUpdate,
)

__all__ = (
    "Fields",
    "parse_candles",
    "parse_candles_channel",
    "parse_fill",
    "parse_fills",
    "parse_height",
    "parse_market",
    "parse_market_patch",
    "parse_markets",
    "parse_markets_channel",
    "parse_order",
    "parse_orders",
    "parse_subaccount",
    "parse_subaccount_object",
    "parse_subaccounts_channel",
)


def _side(text: str) -> Side:
    return Side(text)


# -- account ----------------------------------------------------------------------


def parse_subaccount(body: object) -> AccountSnapshot:
    """``GET /v4/addresses/{a}/subaccountNumber/{n}`` body -> :class:`AccountSnapshot`.

    The wire wraps the object in ``{"subaccount": ...}`` (trap T1).
    """
    return parse_subaccount_object(Fields(body, "subaccount response").payload.get("subaccount"))


def parse_subaccount_object(payload: object) -> AccountSnapshot:
    """A bare ``SubaccountResponseObject`` (also the ``v4_subaccounts`` snapshot)."""
    fields = Fields(payload, "subaccount")
    address = fields.text("address")
    number = fields.integer("subaccountNumber")
    where = f"subaccount {address}/{number}"
    fields.where = where
    positions = tuple(
        _position(key, item) for key, item in fields.obj("openPerpetualPositions").items()
    )
    with as_malformed(where):
        return AccountSnapshot(
            address=address,
            subaccount_number=number,
            usdc_balance=_usdc_balance(fields.obj("assetPositions")),
            positions=positions,
            indexer_equity=fields.decimal("equity"),
            indexer_free_collateral=fields.decimal("freeCollateral"),
            updated_at_height=fields.integer("updatedAtHeight"),
            latest_processed_block_height=fields.integer("latestProcessedBlockHeight"),
        )


def parse_perpetual_positions(body: object) -> tuple[PerpetualPosition, ...]:
    """``GET /v4/perpetualPositions`` body (``{"positions": [...]}``) -> positions.

    Only OPEN positions are returned (the endpoint also lists closed ones).
    """
    positions = []
    for item in Fields(body, "perpetualPositions").array("positions"):
        fields = Fields(item, "perpetual position")
        if fields.text("status") != "OPEN":
            continue
        positions.append(_position(fields.text("market"), fields))
    return tuple(positions)


def parse_asset_positions(body: object) -> Decimal:
    """``GET /v4/assetPositions`` body (``{"positions": [...]}``) -> signed USDC."""
    assets: dict[str, object] = {}
    for item in Fields(body, "assetPositions").array("positions"):
        symbol = Fields(item, "asset position").text("symbol")
        if symbol in assets:
            raise MalformedPayload(f"assetPositions: {symbol} listed twice", field="symbol")
        assets[symbol] = item
    return _usdc_balance(Fields(assets, "assetPositions"))


def _usdc_balance(assets: Fields) -> Decimal:
    """Signed USDC: the asset ``size`` is unsigned, ``side: SHORT`` means borrowed (T2)."""
    usdc = assets.optional_obj("USDC")
    if usdc is None:  # zero-size assets are omitted
        return Decimal(0)
    size = usdc.decimal("size")
    if size < 0:
        raise usdc.bad("size", str(size), "an unsigned size (the sign is in 'side')")
    side = usdc.text("side")
    if side == "LONG":
        return size
    if side == "SHORT":
        return -size
    raise usdc.bad("side", side, "LONG or SHORT")


def _position(key: str, fields: Fields) -> PerpetualPosition:
    market = fields.text("market")
    if market != key:
        raise MalformedPayload(
            f"{fields.where}: field 'market' is {market!r} but listed under {key!r}",
            field="market",
        )
    size = fields.decimal("size")  # signed (T2)
    side = fields.text("side")
    if (
        side not in ("LONG", "SHORT")
        or (size > 0 and side != "LONG")
        or (size < 0 and side != "SHORT")
    ):
        raise fields.bad("side", side, f"the side matching size {size}")
    with as_malformed(fields.where):
        return PerpetualPosition(
            market=market,
            size=size,
            entry_price=fields.decimal("entryPrice"),
            unrealized_pnl=fields.optional_decimal("unrealizedPnl") or Decimal(0),
            realized_pnl=fields.optional_decimal("realizedPnl") or Decimal(0),
            net_funding=fields.optional_decimal("netFunding") or Decimal(0),
        )


# -- orders and fills -----------------------------------------------------------------


def parse_orders(body: object) -> tuple[IndexerOrder, ...]:
    """``GET /v4/orders`` body (a bare JSON array) -> orders."""
    if not isinstance(body, list):
        raise MalformedPayload(f"orders: expected a JSON array, got {json_type(body)}")
    return tuple(parse_order(item) for item in body)


def parse_order(payload: object) -> IndexerOrder:
    """One ``OrderResponseObject`` -> :class:`IndexerOrder`."""
    fields = Fields(payload, "order")
    order_id = fields.text("id")
    fields.where = f"order {order_id}"
    with as_malformed(fields.where):
        return IndexerOrder(
            order_id=order_id,
            client_id=fields.integer("clientId"),
            ticker=fields.text("ticker"),
            clob_pair_id=fields.integer("clobPairId"),
            side=fields.choice("side", _side, "BUY or SELL"),
            size=_non_negative(fields, "size"),
            total_filled=_non_negative(fields, "totalFilled"),
            price=_non_negative(fields, "price"),
            order_type=fields.text("type"),
            status=fields.choice("status", IndexerOrderStatus, "an indexer order status"),
            time_in_force=fields.text("timeInForce"),
            reduce_only=fields.flag("reduceOnly"),
            post_only=fields.flag("postOnly", default=False),
            order_flags=fields.integer("orderFlags"),
            subaccount_number=fields.optional_integer("subaccountNumber"),
            good_til_block=fields.optional_integer("goodTilBlock"),
            good_til_block_time=fields.optional_time("goodTilBlockTime"),
            trigger_price=fields.optional_decimal("triggerPrice"),
            created_at_height=fields.optional_integer("createdAtHeight"),
            updated_at_height=fields.optional_integer("updatedAtHeight"),
            removal_reason=fields.optional_text("removalReason"),
        )


def _non_negative(fields: Fields, name: str) -> Decimal:
    value = fields.decimal(name)
    if value < 0:
        raise fields.bad(name, str(value), "a non-negative number")
    return value


def parse_fills(body: object) -> tuple[IndexerFill, ...]:
    """``GET /v4/fills`` body (``{"fills": [...]}``) -> fills."""
    return tuple(parse_fill(item) for item in Fields(body, "fills").array("fills"))


def parse_fill(payload: object) -> IndexerFill:
    """One fill: REST ``FillResponseObject`` (``market``) or websocket fill (``ticker``)."""
    fields = Fields(payload, "fill")
    fill_id = fields.text("id")
    fields.where = f"fill {fill_id}"
    ticker = fields.optional_text("market") or fields.text("ticker")
    size = fields.decimal("size")
    price = fields.decimal("price")
    if size <= 0:
        raise fields.bad("size", str(size), "a positive size")
    if price <= 0:
        raise fields.bad("price", str(price), "a positive price")
    return IndexerFill(
        fill_id=fill_id,
        ticker=ticker,
        side=fields.choice("side", _side, "BUY or SELL"),
        liquidity=fields.text("liquidity"),
        fill_type=fields.text("type"),
        price=price,
        size=size,
        fee=fields.optional_decimal("fee"),
        created_at=fields.time("createdAt"),
        created_at_height=fields.integer("createdAtHeight"),
        order_id=fields.optional_text("orderId"),
        subaccount_number=fields.optional_integer("subaccountNumber"),
    )


def parse_subaccounts_channel(contents: object) -> SubaccountUpdate:
    """A ``v4_subaccounts`` ``channel_data`` ``contents`` -> :class:`SubaccountUpdate`."""
    fields = Fields(contents, "v4_subaccounts")
    fills = tuple(parse_fill(item) for item in _optional_array(fields, "fills"))
    orders = tuple(_order_update(item) for item in _optional_array(fields, "orders"))
    return SubaccountUpdate(
        fills=fills,
        orders=orders,
        has_transfer=fields.payload.get("transfers") is not None,
        block_height=fields.optional_integer("blockHeight"),
    )


def _optional_array(fields: Fields, name: str) -> list[object]:
    return [] if fields.payload.get(name) is None else fields.array(name)


def _order_update(payload: object) -> OrderStatusUpdate:
    fields = Fields(payload, "order update")
    order_id = fields.text("id")
    fields.where = f"order update {order_id}"
    return OrderStatusUpdate(
        order_id=order_id,
        ticker=fields.text("ticker"),
        status=fields.choice("status", IndexerOrderStatus, "an indexer order status"),
        client_id=fields.optional_integer("clientId"),
        clob_pair_id=fields.optional_integer("clobPairId"),
        order_flags=fields.optional_integer("orderFlags"),
        total_filled=fields.optional_decimal("totalFilled"),
        removal_reason=fields.optional_text("removalReason"),
        updated_at_height=fields.optional_integer("updatedAtHeight"),
    )


# -- height and candles -----------------------------------------------------------------


def parse_height(body: object) -> IndexerHeight:
    """``GET /v4/height`` body (or the ``v4_block_height`` snapshot) -> height and time.

    Updates on the websocket say ``blockHeight`` instead of ``height``.
    """
    fields = Fields(body, "height")
    height = fields.optional_integer("height")
    if height is None:
        height = fields.integer("blockHeight")
    if height < 0:
        raise fields.bad("height", height, "a non-negative block height")
    return IndexerHeight(height=height, time=fields.time("time"))


def parse_candles(body: object) -> tuple[Candle, ...]:
    """``GET /v4/candles/perpetualMarkets/{t}`` body -> candles, **oldest first**
    (the indexer sends newest first)."""
    candles = [parse_candle(item) for item in Fields(body, "candles").array("candles")]
    return tuple(sorted(candles, key=lambda candle: candle.started_at))


def parse_candle(payload: object) -> Candle:
    """One ``CandleResponseObject`` (REST or ``v4_candles``) -> :class:`Candle`."""
    fields = Fields(payload, "candle")
    ticker = fields.text("ticker")
    started_at = fields.time("startedAt")
    fields.where = f"candle {ticker} {started_at.isoformat()}"
    with as_malformed(fields.where):
        return Candle(
            ticker=ticker,
            resolution=fields.choice("resolution", CandleResolution, "a candle resolution"),
            started_at=started_at,
            open=_positive(fields, "open"),
            high=_positive(fields, "high"),
            low=_positive(fields, "low"),
            close=_positive(fields, "close"),
            base_volume=_non_negative(fields, "baseTokenVolume"),
            usd_volume=_non_negative(fields, "usdVolume"),
            trades=fields.integer("trades"),
            starting_open_interest=fields.optional_decimal("startingOpenInterest") or Decimal(0),
        )


def _positive(fields: Fields, name: str) -> Decimal:
    value = fields.decimal(name)
    if value <= 0:
        raise fields.bad(name, str(value), "a positive price")
    return value


def parse_candles_channel(
    channel_id: str, contents: object, *, snapshot: bool
) -> CandlesSnapshot | CandleUpdate:
    """A ``v4_candles`` message (id ``TICKER/RES``): the snapshot
    (``{"candles": [...]}``) or one updated candle."""
    ticker, _, resolution_text = channel_id.partition("/")
    try:
        resolution = CandleResolution(resolution_text)
    except ValueError:
        raise MalformedPayload(
            f"v4_candles: channel id {channel_id!r} is not TICKER/RESOLUTION", field="id"
        ) from None
    if snapshot:
        candles = parse_candles(contents)
        return CandlesSnapshot(ticker, resolution, candles)
    candle = parse_candle(contents)
    if candle.ticker != ticker or candle.resolution is not resolution:
        raise MalformedPayload(
            f"v4_candles: {candle.ticker}/{candle.resolution.value} candle on channel "
            f"{channel_id!r}",
            field="ticker",
        )
    return CandleUpdate(candle)
