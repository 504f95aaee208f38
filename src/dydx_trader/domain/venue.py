"""Values the venue reports about orders, fills, heights, prices and candles.

These are what the indexer says, already checked and typed: prices and sizes
are ``Decimal`` (USDC, base units), heights ``int``, times timezone-aware UTC
``datetime``. They are built by the dYdX adapter's mapping module; nothing
past the adapter sees the JSON they came from.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from dydx_trader.domain.errors import InvalidInput
from dydx_trader.domain.market import MarketSpec
from dydx_trader.domain.side import Side


class CandleResolution(StrEnum):
    """The indexer's candle resolutions (``candle-types.ts``)."""

    ONE_MINUTE = "1MIN"
    FIVE_MINUTES = "5MINS"
    FIFTEEN_MINUTES = "15MINS"
    THIRTY_MINUTES = "30MINS"
    ONE_HOUR = "1HOUR"
    FOUR_HOURS = "4HOURS"
    ONE_DAY = "1DAY"

    @property
    def seconds(self) -> int:
        """Length of one candle in seconds."""
        return _RESOLUTION_SECONDS[self]


class IndexerOrderStatus(StrEnum):
    """An order's status as the indexer reports it (``APIOrderStatus``).

    ``BEST_EFFORT_OPENED`` and ``BEST_EFFORT_CANCELED`` are the indexer's view of
    short-term orders before a block confirms them, so either may still change
    until the order's good-til-block has passed.
    """

    OPEN = "OPEN"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    BEST_EFFORT_CANCELED = "BEST_EFFORT_CANCELED"
    BEST_EFFORT_OPENED = "BEST_EFFORT_OPENED"
    UNTRIGGERED = "UNTRIGGERED"
    ERROR = "ERROR"


_RESOLUTION_SECONDS: Final = MappingProxyType(
    {
        CandleResolution.ONE_MINUTE: 60,
        CandleResolution.FIVE_MINUTES: 300,
        CandleResolution.FIFTEEN_MINUTES: 900,
        CandleResolution.THIRTY_MINUTES: 1800,
        CandleResolution.ONE_HOUR: 3600,
        CandleResolution.FOUR_HOURS: 14_400,
        CandleResolution.ONE_DAY: 86_400,
    }
)


@dataclass(frozen=True, slots=True)
class IndexerOrder:
    """One order as the indexer reports it.

    ``size``, ``total_filled`` in base units; ``price`` (the limit) in USDC.
    ``client_id`` is the chain's ``fixed32`` client id; ``order_flags`` 0 =
    short-term, 32 = conditional, 64 = long-term. ``good_til_block`` is set for
    short-term orders, ``good_til_block_time`` for stateful ones.
    """

    order_id: str
    client_id: int
    ticker: str
    clob_pair_id: int
    side: Side
    size: Decimal
    total_filled: Decimal
    price: Decimal
    order_type: str
    status: IndexerOrderStatus
    time_in_force: str
    reduce_only: bool
    post_only: bool
    order_flags: int
    subaccount_number: int | None = None
    good_til_block: int | None = None
    good_til_block_time: datetime | None = None
    trigger_price: Decimal | None = None
    created_at_height: int | None = None
    updated_at_height: int | None = None
    removal_reason: str | None = None

    @property
    def remaining(self) -> Decimal:
        """Unfilled size in base units (never negative)."""
        return max(self.size - self.total_filled, Decimal(0))


# The indexer's UUIDv5 namespace (indexer/packages/postgres/src/helpers/uuid.ts).
_INDEXER_NAMESPACE: Final = uuid.UUID("0f9da948-a6fb-4c45-9edc-4685c3f3317d")


def indexer_order_id(
    address: str, subaccount_number: int, client_id: int, clob_pair_id: int, order_flags: int
) -> str:
    """The indexer's id of an on-chain order (``OrderTable.orderIdToUuid``): a UUIDv5
    of ``"<subaccount uuid>-<client id>-<clob pair>-<flags>"``, the subaccount's
    own a UUIDv5 of ``"<address>-<number>"``. ``GET /v4/orders/{id}`` finds it."""
    subaccount = uuid.uuid5(_INDEXER_NAMESPACE, f"{address}-{subaccount_number}")
    name = f"{subaccount}-{client_id}-{clob_pair_id}-{order_flags}"
    return str(uuid.uuid5(_INDEXER_NAMESPACE, name))


@dataclass(frozen=True, slots=True)
class IndexerFill:
    """One fill of one of our orders.

    ``price`` USDC per base unit, ``size`` base units (unsigned; ``side`` gives
    the direction), ``fee`` USDC (negative = rebate; ``None`` when an old
    websocket message did not report it). ``order_id`` is the indexer's order
    UUID (absent for liquidations).
    """

    fill_id: str
    ticker: str
    side: Side
    liquidity: str
    fill_type: str
    price: Decimal
    size: Decimal
    fee: Decimal | None
    created_at: datetime
    created_at_height: int
    order_id: str | None = None
    subaccount_number: int | None = None

    @property
    def quote_amount(self) -> Decimal:
        """``price x size`` in USDC."""
        return self.price * self.size


@dataclass(frozen=True, slots=True)
class IndexerHeight:
    """The indexer's latest processed block (``GET /v4/height``)."""

    height: int
    time: datetime


@dataclass(frozen=True, slots=True)
class Candle:
    """One OHLCV candle; prices USDC, ``base_volume`` base units, ``usd_volume`` USDC.

    ``started_at`` is the candle's open time (UTC). The newest candle of a
    series is partial until its period ends.
    """

    ticker: str
    resolution: CandleResolution
    started_at: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    base_volume: Decimal
    usd_volume: Decimal
    trades: int
    starting_open_interest: Decimal = Decimal(0)

    def __post_init__(self) -> None:
        if not self.low <= min(self.open, self.close) <= max(self.open, self.close) <= self.high:
            raise InvalidInput(
                f"{self.ticker} candle at {self.started_at.isoformat()}: "
                f"low {self.low} / open {self.open} / close {self.close} / high {self.high} "
                "are not ordered",
                market=self.ticker,
            )


@dataclass(frozen=True, slots=True)
class OraclePrice:
    """An oracle price update (``v4_markets`` ``oraclePrices``), USDC per base unit."""

    ticker: str
    price: Decimal
    effective_at: datetime | None = None
    effective_at_height: int | None = None


# -- market feed events (what the indexer websocket tells the app) ---------------


@dataclass(frozen=True, slots=True)
class MarketsSnapshot:
    """Every market at subscription time (``v4_markets`` ``subscribed``)."""

    markets: Mapping[str, MarketSpec]


@dataclass(frozen=True, slots=True)
class MarketPatch:
    """Changed parameters of one market (``v4_markets`` ``trading``).

    ``changes`` maps :class:`MarketSpec` field names to already-typed values.
    """

    ticker: str
    changes: Mapping[str, object]

    def __post_init__(self) -> None:
        unknown = set(self.changes) - _MARKET_FIELDS
        if unknown:
            raise InvalidInput(
                f"{self.ticker}: unknown market fields {sorted(unknown)}", market=self.ticker
            )
        object.__setattr__(self, "changes", MappingProxyType(dict(self.changes)))

    def apply_to(self, spec: MarketSpec) -> MarketSpec:
        """``spec`` with these changes applied (the ticker must match)."""
        if spec.ticker != self.ticker:
            raise InvalidInput(
                f"patch for {self.ticker} applied to {spec.ticker}", market=self.ticker
            )
        return dataclasses.replace(spec, **self.changes)  # type: ignore[arg-type]


_MARKET_FIELDS = frozenset(f.name for f in dataclasses.fields(MarketSpec) if f.init) - {"ticker"}


@dataclass(frozen=True, slots=True)
class OraclePricesUpdate:
    """New oracle prices for some markets (``v4_markets`` ``oraclePrices``)."""

    prices: tuple[OraclePrice, ...]


@dataclass(frozen=True, slots=True)
class CandlesSnapshot:
    """Recent candles at subscription time (``v4_candles`` ``subscribed``), oldest first."""

    ticker: str
    resolution: CandleResolution
    candles: tuple[Candle, ...]


@dataclass(frozen=True, slots=True)
class CandleUpdate:
    """One new or changed candle (``v4_candles`` ``channel_data``)."""

    candle: Candle


@dataclass(frozen=True, slots=True)
class OrderStatusUpdate:
    """An order's new state from ``v4_subaccounts``; such messages may be partial
    (an expiry carries only ids, status and removal reason), hence the optionals."""

    order_id: str
    ticker: str
    status: IndexerOrderStatus
    client_id: int | None = None
    clob_pair_id: int | None = None
    order_flags: int | None = None
    total_filled: Decimal | None = None
    removal_reason: str | None = None
    updated_at_height: int | None = None


@dataclass(frozen=True, slots=True)
class SubaccountUpdate:
    """What changed in our subaccount (``v4_subaccounts``): fills, orders, transfers.

    ``block_height`` is the height the indexer had processed, when given;
    ``has_transfer`` says a deposit, withdrawal or transfer touched the balance.
    """

    fills: tuple[IndexerFill, ...] = ()
    orders: tuple[OrderStatusUpdate, ...] = ()
    has_transfer: bool = False
    block_height: int | None = None


MarketEvent = MarketsSnapshot | MarketPatch | OraclePricesUpdate | CandlesSnapshot | CandleUpdate
