"""What the application needs from the outside world, as ``typing.Protocol``s.

Named for the need, not the vendor: the dYdX adapter and the journal implement
them, tests implement them with small fakes (``tests/kit``). Every method that
does I/O is ``async`` (except the journal's, which are short local writes) and
raises only domain errors (``VenueUnavailable``, ``MalformedPayload``, ...).

Time comes from one :class:`Clock`: ``now()`` stamps records, ``monotonic()``
measures every duration (TTLs, ages, cooldowns, deadlines). Waiting still uses
``asyncio.sleep``; measuring never reads the system clock directly.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Protocol, runtime_checkable

from dydx_trader.domain.account import AccountSnapshot
from dydx_trader.domain.account_terms import FeeTier
from dydx_trader.domain.broadcast import BroadcastOutcome, SignedOrder
from dydx_trader.domain.decision import Decision
from dydx_trader.domain.market import MarketSpec
from dydx_trader.domain.order import ConditionType, Order, OrderIntent, OrderState
from dydx_trader.domain.protection import ProtectionLevels
from dydx_trader.domain.signal import Signal
from dydx_trader.domain.venue import (
    Candle,
    CandleResolution,
    IndexerFill,
    IndexerHeight,
    IndexerOrder,
    MarketEvent,
    SubaccountUpdate,
)

# -- time -----------------------------------------------------------------------------


@runtime_checkable
class MonotonicClock(Protocol):
    """Seconds on a clock that never goes backwards (TTLs, ages, deadlines): the
    part of a :class:`Clock` that a component measuring durations needs."""

    def monotonic(self) -> float: ...


@runtime_checkable
class Clock(MonotonicClock, Protocol):
    """The one clock: ``monotonic()`` seconds for durations and ``now()`` (aware
    UTC) for records. Live it is the system's; in paper mode, market time."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real clocks: ``time.monotonic`` and ``datetime.now(UTC)``. The only
    place in ``app/`` that reads them."""

    def monotonic(self) -> float:
        return time.monotonic()

    def now(self) -> datetime:
        return datetime.now(UTC)


# -- venue reads ------------------------------------------------------------------------


class AccountReader(Protocol):
    """Reads one subaccount as the indexer sees it."""

    async def get_account(self, address: str, subaccount_number: int) -> AccountSnapshot: ...


class ChainHeightReader(Protocol):
    """Reads the chain's latest block height from a node (not the indexer)."""

    async def latest_block_height(self) -> int: ...


class AccountTermsReader(Protocol):
    """Reads what the chain applies to one subaccount beyond the market's parameters:
    its leverage settings (custom IMF ppm by clob pair id) and its fee tier."""

    async def subaccount_leverage(
        self, address: str, subaccount_number: int
    ) -> Mapping[int, int]: ...

    async def user_fee_tier(self, address: str) -> FeeTier: ...


class MarketReader(Protocol):
    """Reads every perpetual market's parameters and oracle price."""

    async def get_markets(self) -> Mapping[str, MarketSpec]: ...


class CandleReader(Protocol):
    """Reads recent candles of one market, oldest first."""

    async def get_candles(
        self, ticker: str, resolution: CandleResolution, *, limit: int | None = None
    ) -> Sequence[Candle]: ...


class MarketFeed(Protocol):
    """A live stream of market events (parameters, oracle prices, candles).

    ``events`` connects, subscribes to every market and to the given candle
    series, and yields events until the connection ends; then it raises
    ``VenueUnavailable``. Reconnecting is the caller's decision.
    """

    def events(
        self, candles: Sequence[tuple[str, CandleResolution]] = ()
    ) -> AsyncIterator[MarketEvent]: ...


class AccountFeed(Protocol):
    """A live stream of one subaccount's fills, order changes and transfers.

    ``account_events`` connects, subscribes and yields updates until the
    connection ends; then it raises ``VenueUnavailable``.
    """

    def account_events(
        self, address: str, subaccount_number: int
    ) -> AsyncIterator[SubaccountUpdate]: ...


class MarketSource(Protocol):
    """Current market parameters, refused when they cannot be trusted.

    ``markets()`` returns every market; ``markets(tickers)`` only those, and
    checks that each is listed (``UnknownMarket``) and that its oracle price is
    recent (``StaleMarketData``). Old data is refused, never returned.
    """

    def markets(self, tickers: Iterable[str] | None = None) -> Mapping[str, MarketSpec]: ...


# -- orders ---------------------------------------------------------------------------


class OrderSender(Protocol):
    """Signs orders and broadcasts them once.

    ``broadcast`` never raises for the venue: every answer is an outcome
    (accepted, rejected with the chain's code, or unknown).
    """

    def sign(self, intent: OrderIntent) -> SignedOrder: ...

    async def broadcast(self, signed: SignedOrder) -> BroadcastOutcome: ...


@runtime_checkable
class StatefulSender(OrderSender, Protocol):
    """An order sender that can also sign stateful transactions (conditional and
    long-term orders, their cancels) at an explicit account sequence, and read the
    account's committed sequence from a node. The sequence is the caller's to keep
    (:mod:`~dydx_trader.app.sequencer`)."""

    def sign_stateful(self, intent: OrderIntent, sequence: int) -> SignedOrder: ...

    def sign_cancel(self, intent: OrderIntent, sequence: int) -> SignedOrder: ...

    async def committed_sequence(self) -> int: ...


class VenueOrders(Protocol):
    """The indexer's view of our orders and fills, and how far it has got.

    ``get_orders`` sorts by good-til-block, descending, and keeps those with
    ``good_til_block_after`` < good-til-block <= ``good_til_block_before_or_at``;
    ``get_fills`` is newest (highest block) first, at or below
    ``created_before_or_at_height``; ``get_order`` is ``None`` for an id the
    indexer does not have.
    """

    async def get_height(self) -> IndexerHeight: ...

    async def get_orders(
        self,
        address: str,
        subaccount_number: int,
        *,
        ticker: str | None = None,
        status: str | None = None,
        limit: int | None = None,
        good_til_block_before_or_at: int | None = None,
        good_til_block_after: int | None = None,
    ) -> tuple[IndexerOrder, ...]: ...

    async def get_order(self, order_id: str) -> IndexerOrder | None: ...

    async def get_fills(
        self,
        address: str,
        subaccount_number: int,
        *,
        market: str | None = None,
        limit: int | None = None,
        created_before_or_at_height: int | None = None,
    ) -> tuple[IndexerFill, ...]: ...


class DecisionJournal(Protocol):
    """What the account actor writes: signals, validator verdicts, decisions."""

    def claim_signal(self, signal: Signal) -> bool: ...

    def record_validation(
        self,
        signal_id: str,
        *,
        accepted: bool,
        rule: str | None = None,
        reason: str = "",
        numbers: Mapping[str, object] | None = None,
    ) -> None: ...

    def record_decision(self, decision: Decision) -> None: ...


class OrderJournal(Protocol):
    """The durable record of intents, their states and fills."""

    def record_intent(self, intent: OrderIntent, reason: str = ...) -> Order: ...

    def transition(
        self, client_id: int, new_state: OrderState, reason: str, **numbers: object
    ) -> Order: ...

    def record_fill(
        self,
        client_id: int,
        fill_id: str,
        *,
        quantums: int,
        size: Decimal,
        price: Decimal,
        fee: Decimal,
        filled_at: datetime | None = None,
        height: int | None = None,
    ) -> bool: ...

    def order(self, client_id: int) -> Order: ...

    def in_flight_orders(self) -> list[Order]: ...


class ProtectionJournal(Protocol):
    """The protection a trader keeps: levels by market, its protective orders, and
    notes on an order's history that change no state (a cancel requested)."""

    def set_protection(self, market: str, levels: ProtectionLevels, signal_id: str) -> None: ...

    def clear_protection(self, market: str) -> None: ...

    def protection_entries(self) -> dict[str, tuple[ProtectionLevels, str]]: ...

    def order_by_signal(self, signal_id: str) -> Order | None: ...

    def live_protective_orders(self) -> list[Order]: ...

    def protective_order_count(self, market: str, kind: ConditionType) -> int: ...

    def note_order(self, client_id: int, reason: str, **numbers: object) -> None: ...


class ForeignActivityJournal(Protocol):
    """Records orders and fills on our subaccount that this trader did not place.

    ``kind`` is ``"order"`` or ``"fill"``; ``venue_id`` the indexer's id of it
    (idempotent: a second record of the same id changes nothing and returns
    False); ``details`` plain text values (side, size, price, status, ...);
    ``height`` the block it was seen at, when known. True when it was new.
    """

    def record_foreign_activity(
        self,
        kind: str,
        venue_id: str,
        market: str,
        details: Mapping[str, str],
        height: int | None,
    ) -> bool: ...


# -- what the composition root takes --------------------------------------------------


class TraderJournal(DecisionJournal, OrderJournal, Protocol):
    """The journal a trader writes its decisions and orders to, and closes when it
    stops (the trading state it keeps is ``risk_guard.TradingStateStore``)."""

    def last_fill_at_by_market(self) -> dict[str, datetime]: ...

    def close(self) -> None: ...


class VenueReader(AccountReader, MarketReader, CandleReader, VenueOrders, Protocol):
    """The indexer's REST reads a trader makes."""

    async def close(self) -> None: ...


class ChainNode(ChainHeightReader, AccountTermsReader, Protocol):
    """A node: its chain id and height, the account numbers a signer needs, and
    the subaccount's leverage settings and fee tier."""

    async def chain_id(self) -> str: ...

    async def account_numbers(self, address: str) -> tuple[int, int]: ...

    async def close(self) -> None: ...


class VenueFeed(MarketFeed, AccountFeed, Protocol):
    """The indexer's WebSocket: market events and one subaccount's updates."""
