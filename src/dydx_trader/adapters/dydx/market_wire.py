"""The indexer's markets on the wire: ``PerpetualMarketResponseObject`` and the
``v4_markets`` channel, read into :class:`MarketSpec` values and feed events.

Every field goes through :class:`~dydx_trader.adapters.dydx.fields.Fields`;
the human increments are checked against the integer ones (sizes are quantized
with one and sent with the other), and anything else is
:class:`MalformedPayload` naming the market and the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from types import MappingProxyType

from dydx_trader.adapters.dydx.fields import Fields, as_malformed
from dydx_trader.domain.errors import MalformedPayload
from dydx_trader.domain.market import MarketSpec, MarketStatus, MarketType
from dydx_trader.domain.venue import (
    MarketPatch,
    MarketsSnapshot,
    OraclePrice,
    OraclePricesUpdate,
)


def parse_market(payload: object) -> MarketSpec:
    """Build a :class:`MarketSpec` from one indexer ``PerpetualMarketResponseObject``.

    Decimals arrive as strings and are read with ``Decimal(str)``; integers as
    JSON numbers, ``clobPairId`` as a string. ``oraclePrice`` may be null.
    Raises :class:`MalformedPayload` naming the field on any other shape.
    """
    reader = Fields(payload, "market payload")
    ticker = reader.text("ticker")
    if not ticker:
        raise MalformedPayload("market payload has an empty ticker", field="ticker")
    reader.where = f"market {ticker}"
    status = reader.choice("status", MarketStatus, "a market status")
    market_type = MarketType.CROSS
    if reader.payload.get("marketType") is not None:
        market_type = reader.choice("marketType", MarketType, "CROSS or ISOLATED")
    with as_malformed(reader.where):
        spec = MarketSpec(
            ticker=ticker,
            clob_pair_id=reader.integer("clobPairId"),
            status=status,
            oracle_price=reader.optional_decimal("oraclePrice"),
            initial_margin_fraction=reader.decimal("initialMarginFraction"),
            maintenance_margin_fraction=reader.decimal("maintenanceMarginFraction"),
            open_interest=reader.decimal("openInterest"),
            atomic_resolution=reader.integer("atomicResolution"),
            quantum_conversion_exponent=reader.integer("quantumConversionExponent"),
            tick_size=reader.decimal("tickSize"),
            step_size=reader.decimal("stepSize"),
            step_base_quantums=reader.integer("stepBaseQuantums"),
            subticks_per_tick=reader.integer("subticksPerTick"),
            market_type=market_type,
            open_interest_lower_cap=reader.optional_decimal("openInterestLowerCap") or Decimal(0),
            open_interest_upper_cap=reader.optional_decimal("openInterestUpperCap") or Decimal(0),
            price_change_24h=reader.optional_decimal("priceChange24H") or Decimal(0),
            volume_24h=reader.optional_decimal("volume24H") or Decimal(0),
            trades_24h=reader.optional_integer("trades24H") or 0,
            next_funding_rate=reader.optional_decimal("nextFundingRate") or Decimal(0),
            base_open_interest=reader.optional_decimal("baseOpenInterest"),
            default_funding_rate_1h=reader.optional_decimal("defaultFundingRate1H"),
        )
    _check_consistent(spec)
    return spec


def _check_consistent(spec: MarketSpec) -> None:
    if spec.step_base_quantums <= 0 or spec.subticks_per_tick <= 0:
        raise MalformedPayload(
            f"market {spec.ticker}: stepBaseQuantums and subticksPerTick must be positive",
            market=spec.ticker,
        )
    if not Decimal(0) < spec.initial_margin_fraction <= 1:
        raise MalformedPayload(
            f"market {spec.ticker}: initialMarginFraction {spec.initial_margin_fraction} "
            "is outside (0, 1]",
            market=spec.ticker,
        )
    # The human increments must agree with the integer ones: sizes are quantized
    # with one and sent with the other.
    if spec.quantums_to_size(spec.step_base_quantums) != spec.step_size:
        raise MalformedPayload(
            f"market {spec.ticker}: stepSize {spec.step_size} disagrees with "
            f"stepBaseQuantums {spec.step_base_quantums} at atomicResolution "
            f"{spec.atomic_resolution}",
            market=spec.ticker,
        )
    if spec.subticks_to_price(spec.subticks_per_tick) != spec.tick_size:
        raise MalformedPayload(
            f"market {spec.ticker}: tickSize {spec.tick_size} disagrees with "
            f"subticksPerTick {spec.subticks_per_tick}",
            market=spec.ticker,
        )
    if spec.oracle_price is not None and spec.oracle_price <= 0:
        raise MalformedPayload(
            f"market {spec.ticker}: oraclePrice {spec.oracle_price} is not positive",
            market=spec.ticker,
        )


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


_PATCH_DECIMALS: Mapping[str, str] = MappingProxyType(
    {
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
)
_PATCH_INTEGERS: Mapping[str, str] = MappingProxyType(
    {
        "clobPairId": "clob_pair_id",
        "atomicResolution": "atomic_resolution",
        "quantumConversionExponent": "quantum_conversion_exponent",
        "stepBaseQuantums": "step_base_quantums",
        "subticksPerTick": "subticks_per_tick",
        "trades24H": "trades_24h",
    }
)
_POSITIVE_PATCH_FIELDS = frozenset(
    {"step_base_quantums", "subticks_per_tick", "tick_size", "step_size"}
)


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
