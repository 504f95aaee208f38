"""Devnet state rendered as the indexer's JSON objects (protocol reference 1, 4.4).

Decimals are strings in positional notation without trailing zeros, as big.js
``toFixed()`` prints them; quotients carry at most 20 decimals (big.js's
default ``DP``), rounded half up. Heights and ids are strings; the few numbers
the indexer sends as JSON numbers (``subaccountNumber``, ``atomicResolution``,
...) stay ints.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from typing import Any

from dydx_devnet import orders as o
from dydx_devnet.markets import MarketState
from dydx_devnet.orders import OrderState
from dydx_devnet.replay import from_ms
from dydx_devnet.subaccounts import Position, Subaccount

_TIF = {o.TIF_UNSPECIFIED: "GTT", o.TIF_IOC: "IOC", o.TIF_POST_ONLY: "GTT", o.TIF_FOK: "FOK"}


def dec(value: Decimal | int) -> str:
    """A decimal as the indexer prints it: ``"0.003"``, ``"-12"``, ``"0"``."""
    number = Decimal(value)
    if number == 0:
        return "0"
    text = format(number.normalize(), "f")
    return text


def frac(value: Fraction) -> str:
    """An exact fraction with at most 20 decimals, half up (big.js division)."""
    if value.denominator == 1:
        return dec(value.numerator)
    scaled = abs(value) * 10**20
    rounded = (scaled.numerator * 2 + scaled.denominator) // (2 * scaled.denominator)
    sign = -1 if value < 0 else 1
    return dec(Decimal(sign * rounded).scaleb(-20))


def usdc(quote_quantums: int) -> str:
    """Quote quantums as a USDC string."""
    return dec(Decimal(quote_quantums).scaleb(-6))


@lru_cache(maxsize=4096)
def iso(ms: int) -> str:
    """``2024-08-01T07:09:25.767Z`` for chain milliseconds."""
    moment = from_ms(ms)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def size(market: MarketState, base_quantums: int) -> str:
    return dec(Decimal(base_quantums).scaleb(market.spec.atomic_resolution))


def price(market: MarketState, subticks: int) -> str:
    return dec(market.spec.subticks_to_price(subticks))


def oracle(market: MarketState, value: int | None = None) -> str:
    """An oracle integer (default: the current price) as a USDC price string."""
    v = market.price_value if value is None else value
    return dec(Decimal(v).scaleb(market.price_exponent))


# -- markets -------------------------------------------------------------------


def market_object(market: MarketState) -> dict[str, Any]:
    """``PerpetualMarketResponseObject`` of ``market`` with its live fields."""
    payload = dict(market.payload)
    spec = market.spec
    payload["oraclePrice"] = oracle(market)
    payload["openInterest"] = size(market, market.open_interest_bq)
    change = market.price_value - market.open_price_value
    payload["priceChange24H"] = dec(Decimal(change).scaleb(market.price_exponent))
    base_volume = Decimal(str(market.payload.get("volume24H", "0")))
    payload["volume24H"] = dec(base_volume + Decimal(market.volume_24h_qq).scaleb(-6))
    payload["trades24H"] = int(market.payload.get("trades24H", 0)) + market.trades_24h
    payload["status"] = spec.status
    payload.setdefault("baseOpenInterest", size(market, market.base_open_interest_bq))
    payload.setdefault("defaultFundingRate1H", "0")
    payload["nextFundingRate"] = dec(Decimal(market.funding_rate_ppb).scaleb(-9))
    return payload


def oracle_price_update(market: MarketState, at_ms: int, height: int) -> dict[str, Any]:
    return {
        "oraclePrice": oracle(market),
        "effectiveAt": iso(at_ms),
        "effectiveAtHeight": str(height),
        "marketId": market.clob_pair_id,
    }


# -- orders and fills -------------------------------------------------------------


def order_object(order: OrderState, market: MarketState, *, ws: bool = False) -> dict[str, Any]:
    """``OrderResponseObject`` (REST) or the ``v4_subaccounts`` order message (``ws``)."""
    body: dict[str, Any] = {
        "id": order.uuid,
        "subaccountId": order.subaccount_uuid,
        "clientId": str(order.client_id),
        "clobPairId": str(order.clob_pair_id),
        "side": "BUY" if order.is_buy else "SELL",
        "size": size(market, order.quantums),
        "totalFilled": size(market, order.filled),
        "price": price(market, order.subticks),
        "type": order_type(order),
        "status": order.status,
        "timeInForce": _TIF.get(order.time_in_force, "GTT"),
        "reduceOnly": order.reduce_only,
        "orderFlags": str(order.order_flags),
    }
    if order.good_til_block is not None:
        body["goodTilBlock"] = str(order.good_til_block)
    if order.good_til_block_time is not None:
        body["goodTilBlockTime"] = iso(order.good_til_block_time * 1000)
    body["createdAtHeight"] = str(order.created_at_height)
    body["clientMetadata"] = str(order.client_metadata)
    body["updatedAt"] = iso(order.updated_at_ms or order.created_at_ms)
    body["updatedAtHeight"] = str(order.updated_at_height or order.created_at_height)
    body["postOnly"] = order.post_only
    body["ticker"] = market.ticker
    trigger = price(market, order.trigger_subticks) if order.is_conditional else None
    if trigger is not None:
        body["triggerPrice"] = trigger  # REST leaves it out for other orders
    if ws:
        body["triggerPrice"] = trigger
        if order.good_til_block is not None:
            body["goodTilBlockTime"] = None
        if order.removal_reason is not None:
            body["removalReason"] = order.removal_reason
    else:
        body["subaccountNumber"] = order.subaccount_number
    return body


def order_type(order: OrderState) -> str:
    """The indexer's order ``type``: ender's ``dydx_protocol_convert_to_order_type``
    names a conditional order by its condition only (STOP_LIMIT, TAKE_PROFIT),
    whatever its time in force; every other devnet order is LIMIT."""
    if not order.is_conditional:
        return "LIMIT"
    return "TAKE_PROFIT" if order.condition_type == o.CONDITION_TAKE_PROFIT else "STOP_LIMIT"


def fill_objects(
    fill: dict[str, Any], market: MarketState
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(REST ``FillResponseObject``, ``v4_subaccounts`` fill message) of one fill record."""
    rest = {
        "id": fill["id"],
        "side": fill["side"],
        "liquidity": fill["liquidity"],
        "type": fill["type"],
        "market": market.ticker,
        "marketType": "PERPETUAL",
        "price": fill["price"],
        "size": size(market, fill["quantums"]),
        "fee": usdc(fill["fee_qq"]),
        "affiliateRevShare": "0",
        "createdAt": iso(fill["ms"]),
        "createdAtHeight": str(fill["height"]),
        "orderId": fill["order_id"],
        "clientMetadata": str(fill["client_metadata"]),
        "subaccountNumber": fill["subaccount_number"],
    }
    if fill["order_id"] is None:
        del rest["orderId"]
        del rest["clientMetadata"]
    ws = {
        "id": fill["id"],
        "subaccountId": fill["subaccount_uuid"],
        "side": fill["side"],
        "liquidity": fill["liquidity"],
        "type": fill["type"],
        "clobPairId": str(market.clob_pair_id),
        "size": rest["size"],
        "price": rest["price"],
        "quoteAmount": usdc(fill["quote_qq"]),
        "eventId": fill["event_id"],
        "transactionHash": fill["tx_hash"],
        "createdAt": rest["createdAt"],
        "createdAtHeight": rest["createdAtHeight"],
        "orderId": fill["order_id"],
        "ticker": market.ticker,
        "fee": rest["fee"],
        "clientMetadata": str(fill["client_metadata"]),
        "affiliateRevShare": "0",
    }
    return rest, ws


# -- positions and subaccounts -------------------------------------------------------


def position_object(
    position: Position,
    market: MarketState,
    account: Subaccount,
    *,
    ws: bool = False,
    price_value: int | None = None,
) -> dict[str, Any]:
    """``PerpetualPositionResponseObject`` (REST) or the ``perpetualPositions`` message.

    Unrealized PnL is at the oracle integer ``price_value`` (default: the current price).
    """
    unit = Fraction(Decimal(1).scaleb(market.spec.atomic_resolution))
    size_units = position.quantums * unit
    value = market.price_value if price_value is None else price_value
    oracle_price = Fraction(Decimal(value).scaleb(market.price_exponent))
    unrealized = size_units * (oracle_price - position.entry_price) if position.quantums else 0
    body: dict[str, Any] = {
        "market": position.ticker,
        "status": position.status,
        "side": "LONG" if position.quantums > 0 or position.max_quantums > 0 else "SHORT",
        "size": size(market, position.quantums),
        "maxSize": size(market, position.max_quantums),
        "entryPrice": frac(position.entry_price),
        "exitPrice": None if position.exit_price is None else frac(position.exit_price),
        "realizedPnl": frac(position.realized_pnl),
        "unrealizedPnl": frac(Fraction(unrealized)),
        "createdAt": iso(position.created_at_ms),
        "createdAtHeight": str(position.created_at_height),
        "closedAt": None if position.closed_at_ms is None else iso(position.closed_at_ms),
        "sumOpen": size(market, position.sum_open),
        "sumClose": size(market, position.sum_close),
        "netFunding": usdc(position.net_funding),
        "subaccountNumber": account.number,
    }
    if ws:
        body = {
            "address": account.address,
            "subaccountNumber": account.number,
            "positionId": position.position_id,
            **{k: v for k, v in body.items() if k not in _REST_ONLY_POSITION_KEYS},
        }
    return body


# The v4_subaccounts position message carries no timestamps (socks message contents).
_REST_ONLY_POSITION_KEYS = frozenset(
    {"subaccountNumber", "createdAt", "createdAtHeight", "closedAt"}
)


def asset_object(account: Subaccount, *, ws: bool = False) -> dict[str, Any]:
    """The USDC ``AssetPositionResponseObject``: unsigned size, side by sign."""
    body: dict[str, Any] = {
        "size": usdc(abs(account.usdc)),
        "symbol": "USDC",
        "side": "LONG" if account.usdc >= 0 else "SHORT",
        "assetId": "0",
        "subaccountNumber": account.number,
    }
    if ws:
        position_id = o.derived_uuid(account.uuid, "USDC")
        body = {"address": account.address, "positionId": position_id, **body}
    return body
