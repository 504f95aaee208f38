"""Indexer JSON -> domain values: the one place where the wire format is read.

Every function takes a decoded JSON body (REST) or a websocket ``contents``
object and returns typed domain values (``Decimal`` for USDC, prices and
sizes; ``int`` for heights and ids; aware UTC ``datetime``). Anything that does
not have the documented shape (protocol reference section 1) raises
:class:`MalformedPayload` naming the field: a missing field, a wrong JSON type,
a float where a decimal string belongs, ``"NaN"`` or ``"Infinity"``, an
absurd magnitude. Nothing is coerced silently.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import TypeVar

from dydx_trader.domain.account import AccountSnapshot, PerpetualPosition
from dydx_trader.domain.errors import InvalidInput, MalformedPayload
from dydx_trader.domain.market import MarketSpec, MarketStatus, MarketType, parse_market
from dydx_trader.domain.numbers import ABSURD
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
    MarketPatch,
    MarketsSnapshot,
    OraclePrice,
    OraclePricesUpdate,
    OrderStatusUpdate,
    SubaccountUpdate,
)

T = TypeVar("T")

_INTEGER_TEXT = re.compile(r"^-?[0-9]{1,30}$")  # ASCII digits only; bounded length


class Fields:
    """Typed reads from one JSON object; each failure names ``where`` and the field."""

    def __init__(self, payload: object, where: str) -> None:
        if not isinstance(payload, Mapping):
            raise MalformedPayload(
                f"{where}: expected a JSON object, got {_json_type(payload)}", field=where
            )
        self.payload: Mapping[str, object] = payload
        self.where = where

    def _missing(self, name: str) -> MalformedPayload:
        return MalformedPayload(f"{self.where}: field {name!r} is missing", field=name)

    def bad(self, name: str, value: object, wanted: str) -> MalformedPayload:
        shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
        return MalformedPayload(
            f"{self.where}: field {name!r} is {shown}, expected {wanted}", field=name
        )

    def _required(self, name: str, value: T | None) -> T:
        if value is None:
            raise self._missing(name)
        return value

    def text(self, name: str) -> str:
        return self._required(name, self.optional_text(name))

    def optional_text(self, name: str) -> str | None:
        value = self.payload.get(name)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self.bad(name, value, "a string")
        return value

    def decimal(self, name: str) -> Decimal:
        return self._required(name, self.optional_decimal(name))

    def optional_decimal(self, name: str) -> Decimal | None:
        value = self.payload.get(name)
        if value is None:
            return None
        # Decimals travel as strings; an int is exact too, a float has lost digits.
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise self.bad(name, value, "a decimal string")
        try:
            parsed = Decimal(value)
        except InvalidOperation:
            raise self.bad(name, value, "a decimal string") from None
        if not parsed.is_finite():
            raise self.bad(name, value, "a finite decimal")
        if abs(parsed) >= ABSURD:
            raise self.bad(name, value, "a plausible magnitude")
        return parsed

    def integer(self, name: str) -> int:
        return self._required(name, self.optional_integer(name))

    def optional_integer(self, name: str) -> int | None:
        """An int sent as a JSON number or as a string of digits (heights, ids)."""
        value = self.payload.get(name)
        if value is None:
            return None
        if isinstance(value, bool):
            raise self.bad(name, value, "an integer")
        if isinstance(value, int):
            return value
        if isinstance(value, str) and _INTEGER_TEXT.match(value):
            return int(value)
        raise self.bad(name, value, "an integer")

    def flag(self, name: str, default: bool | None = None) -> bool:
        value = self.payload.get(name)
        if value is None and default is not None:
            return default
        if not isinstance(value, bool):
            raise self.bad(name, value, "true or false")
        return value

    def time(self, name: str) -> datetime:
        return self._required(name, self.optional_time(name))

    def optional_time(self, name: str) -> datetime | None:
        text = self.optional_text(name)
        if text is None:
            return None
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise self.bad(name, text, "an ISO-8601 time") from None
        if parsed.tzinfo is None:
            raise self.bad(name, text, "an ISO-8601 time with a zone")
        return parsed

    def obj(self, name: str) -> Fields:
        value = self.payload.get(name)
        if value is None:
            raise self._missing(name)
        return Fields(value, f"{self.where}.{name}")

    def optional_obj(self, name: str) -> Fields | None:
        value = self.payload.get(name)
        return None if value is None else Fields(value, f"{self.where}.{name}")

    def items(self) -> Iterator[tuple[str, Fields]]:
        """The object's values as :class:`Fields`, keyed by their JSON key."""
        for key, value in self.payload.items():
            yield key, Fields(value, f"{self.where}[{key!r}]")

    def array(self, name: str) -> list[object]:
        value = self.payload.get(name)
        if value is None:
            raise self._missing(name)
        if not isinstance(value, list):
            raise self.bad(name, value, "a JSON array")
        return value

    def choice(self, name: str, parse: Callable[[str], T], wanted: str) -> T:
        text = self.text(name)
        try:
            return parse(text)
        except ValueError:
            raise self.bad(name, text, wanted) from None


@contextmanager
def _as_malformed(where: str) -> Iterator[None]:
    """Domain constructors refuse bad values with InvalidInput; from the venue
    that means the payload is malformed."""
    try:
        yield
    except MalformedPayload:
        raise
    except InvalidInput as error:
        raise MalformedPayload(f"{where}: {error.message}", **error.numbers) from None


def _json_type(value: object) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    return names.get(type(value), type(value).__name__)


def _side(text: str) -> Side:
    return Side(text)


# -- markets ----------------------------------------------------------------------


def parse_markets(body: object) -> dict[str, MarketSpec]:
    """``GET /v4/perpetualMarkets`` body (``{"markets": {ticker: market}}``) ->
    specs by ticker. Markets keyed under a different ticker are malformed."""
    markets = Fields(body, "perpetualMarkets").obj("markets")
    result: dict[str, MarketSpec] = {}
    for key, fields in markets.items():
        spec = parse_market(fields.payload)
        if spec.ticker != key:
            raise MalformedPayload(
                f"perpetualMarkets: market {spec.ticker!r} listed under {key!r}", field="ticker"
            )
        result[key] = spec
    return result


_PATCH_DECIMALS = {
    "oraclePrice": "oracle_price",
    "initialMarginFraction": "initial_margin_fraction",
    "maintenanceMarginFraction": "maintenance_margin_fraction",
    "openInterest": "open_interest",
    "tickSize": "tick_size",
    "stepSize": "step_size",
    "openInterestLowerCap": "open_interest_lower_cap",
    "openInterestUpperCap": "open_interest_upper_cap",
    "priceChange24H": "price_change_24h",
    "volume24H": "volume_24h",
    "nextFundingRate": "next_funding_rate",
    "baseOpenInterest": "base_open_interest",
    "defaultFundingRate1H": "default_funding_rate_1h",
}
_PATCH_INTEGERS = {
    "clobPairId": "clob_pair_id",
    "atomicResolution": "atomic_resolution",
    "quantumConversionExponent": "quantum_conversion_exponent",
    "stepBaseQuantums": "step_base_quantums",
    "subticksPerTick": "subticks_per_tick",
    "trades24H": "trades_24h",
}
_POSITIVE_PATCH_FIELDS = {"step_base_quantums", "subticks_per_tick", "tick_size", "step_size"}


def parse_market_patch(ticker: str, payload: object) -> MarketPatch:
    """One entry of a ``v4_markets`` ``trading`` update -> :class:`MarketPatch`.

    Only the fields present are changed; unknown keys (``id``, ``marketId``)
    are ignored.
    """
    fields = Fields(payload, f"v4_markets trading[{ticker!r}]")
    changes: dict[str, object] = {}
    for wire, name in _PATCH_DECIMALS.items():
        value = fields.optional_decimal(wire)
        if value is not None:
            changes[name] = value
    for wire, name in _PATCH_INTEGERS.items():
        integer = fields.optional_integer(wire)
        if integer is not None:
            changes[name] = integer
    if fields.payload.get("status") is not None:
        changes["status"] = fields.choice("status", MarketStatus, "a market status")
    if fields.payload.get("marketType") is not None:
        changes["market_type"] = fields.choice("marketType", MarketType, "CROSS or ISOLATED")
    for name in _POSITIVE_PATCH_FIELDS & changes.keys():
        changed = changes[name]
        if isinstance(changed, Decimal | int) and changed <= 0:
            raise fields.bad(name, changed, "a positive number")
    imf = changes.get("initial_margin_fraction")
    if isinstance(imf, Decimal) and not Decimal(0) < imf <= 1:
        raise fields.bad("initialMarginFraction", imf, "a fraction in (0, 1]")
    return MarketPatch(ticker, changes)


def parse_markets_channel(
    contents: object,
) -> list[MarketsSnapshot | MarketPatch | OraclePricesUpdate]:
    """A ``v4_markets`` message's ``contents`` -> feed events.

    The subscription snapshot carries ``markets``; updates carry ``trading``
    and/or ``oraclePrices``.
    """
    fields = Fields(contents, "v4_markets")
    events: list[MarketsSnapshot | MarketPatch | OraclePricesUpdate] = []
    if fields.payload.get("markets") is not None:
        events.append(MarketsSnapshot(parse_markets(fields.payload)))
    if (trading := fields.optional_obj("trading")) is not None:
        events.extend(parse_market_patch(ticker, item.payload) for ticker, item in trading.items())
    if (oracle := fields.optional_obj("oraclePrices")) is not None:
        events.append(OraclePricesUpdate(tuple(_oracle_price(t, f) for t, f in oracle.items())))
    return events


def _oracle_price(ticker: str, fields: Fields) -> OraclePrice:
    price = fields.decimal("oraclePrice")
    if price <= 0:
        raise fields.bad("oraclePrice", str(price), "a positive price")
    return OraclePrice(
        ticker=ticker,
        price=price,
        effective_at=fields.optional_time("effectiveAt"),
        effective_at_height=fields.optional_integer("effectiveAtHeight"),
    )


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
    with _as_malformed(where):
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
    with _as_malformed(fields.where):
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
        raise MalformedPayload(f"orders: expected a JSON array, got {_json_type(body)}")
    return tuple(parse_order(item) for item in body)


def parse_order(payload: object) -> IndexerOrder:
    """One ``OrderResponseObject`` -> :class:`IndexerOrder`."""
    fields = Fields(payload, "order")
    order_id = fields.text("id")
    fields.where = f"order {order_id}"
    with _as_malformed(fields.where):
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
    with _as_malformed(fields.where):
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
