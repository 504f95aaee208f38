"""The state every part of the engine shares, and its bookkeeping.

:class:`EngineState` holds the chain state (markets, books, subaccounts,
orders, fills, the clock) and keeps its indexes straight: an order rests, is
removed or replaced only through its methods. It also collects what changed
during one public call, so that each call ends with one batch of
:class:`DevnetEvent`s in the indexer's shapes.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from dydx_devnet import shapes
from dydx_devnet.book import Book
from dydx_devnet.candles import SampledCandles
from dydx_devnet.config import EngineConfig
from dydx_devnet.markets import MarketState
from dydx_devnet.orders import OrderKey, OrderState
from dydx_devnet.replay import OracleReplay
from dydx_devnet.subaccounts import Position, Subaccount

log = logging.getLogger(__name__)

__all__ = ["DevnetEvent", "EngineConfig", "EngineState", "SubaccountKey"]


@dataclass(frozen=True)
class DevnetEvent:
    """One indexer WebSocket update: ``contents`` is the ``channel_data`` body.

    ``id`` is the subscription id (``"address/n"``, a ticker,
    ``"TICKER/RESOLUTION"``) or ``None`` for ``v4_markets`` and ``v4_block_height``.
    """

    channel: str
    id: str | None
    contents: dict[str, Any]


SubaccountKey = tuple[str, int]


@dataclass
class _Changes:
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    fills: list[dict[str, Any]] = field(default_factory=list)
    positions: dict[str, dict[str, Any]] = field(default_factory=dict)
    assets: bool = False
    transfers: dict[str, Any] | None = None


class EngineState:
    """Everything the engine knows; read it only while holding :attr:`lock`."""

    def __init__(self, config: EngineConfig, markets: dict[str, MarketState]) -> None:
        self.config = config
        # One re-entrant lock makes every public call atomic: the transport
        # calls in from the asyncio loop and from gRPC worker threads.
        self.lock = threading.RLock()
        self.markets = markets
        self.by_clob: dict[int, MarketState] = {m.clob_pair_id: m for m in markets.values()}
        self.books: dict[str, Book] = {}
        self.subaccounts: dict[SubaccountKey, Subaccount] = {}
        self.orders: dict[OrderKey, OrderState] = {}
        self.orders_by_uuid: dict[str, OrderState] = {}
        self.subaccount_orders: dict[SubaccountKey, list[OrderState]] = defaultdict(list)
        self.fills: dict[SubaccountKey, list[dict[str, Any]]] = defaultdict(list)
        self.trades: dict[str, deque[dict[str, Any]]] = defaultdict(lambda: deque(maxlen=100))
        self.sampled: dict[str, SampledCandles] = {}
        self.replay: OracleReplay | None = None
        genesis = config.genesis_time or datetime.now(UTC).replace(microsecond=0)
        self.genesis_ms = int(genesis.timestamp() * 1000)
        self.interval_ms = max(1, round(config.block_time_s * config.speed * 1000))
        self.height = config.initial_height
        self.block_time_ms = self.genesis_ms
        self.indexer_lag = config.indexer_lag_blocks
        self.taker_fee_ppm = config.taker_fee_ppm
        self.maker_fee_ppm = config.maker_fee_ppm
        # Short-term bookkeeping, indexed by the block at which it lapses.
        self.short_term_by_gtb: dict[int, dict[OrderKey, OrderState]] = defaultdict(dict)
        self.fill_amounts: dict[OrderKey, tuple[int, int]] = {}
        self.cancels: dict[OrderKey, int] = {}
        self.prune_at: dict[int, list[OrderKey]] = defaultdict(list)
        self.stateful: dict[OrderKey, OrderState] = {}
        self.pending_stateful: list[OrderState] = []
        self.stateful_this_block: dict[str, int] = defaultdict(int)
        self.pinned_prices: dict[str, int] = {}
        self.sequence = 0
        self.event_index = 0
        self.equity_tiers: list[tuple[int, int]] = []
        self.listeners: list[Callable[[DevnetEvent], None]] = []
        self.watched: set[tuple[str, str]] = set()
        self.sent_books: dict[str, tuple[dict[str, str], dict[str, str]]] = {}
        self.touched_books: set[str] = set()
        self.trading_changed: set[str] = set()
        self._changes: dict[SubaccountKey, _Changes] = {}
        self._events: list[DevnetEvent] = []

    # -- small helpers ------------------------------------------------------------

    def next_sequence(self) -> int:
        self.sequence += 1
        return self.sequence

    def next_event_id(self) -> str:
        """A 24-hex-digit event id like the indexer's: height, tx index, event index."""
        self.event_index += 1
        return f"{self.height:08x}{0:08x}{self.event_index:08x}"

    def account_or_new(self, address: str, number: int) -> Subaccount:
        """The subaccount, or a fresh empty one that is not yet registered."""
        return self.subaccounts.get((address, number)) or Subaccount(address, number)

    def register(self, account: Subaccount) -> None:
        self.subaccounts.setdefault((account.address, account.number), account)

    @staticmethod
    def tx_hash_for(*parts: object) -> str:
        """A deterministic stand-in transaction hash (64 upper-case hex digits)."""
        digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()
        return digest.upper()

    # -- order bookkeeping -----------------------------------------------------------

    def rest(self, order: OrderState) -> None:
        """Put ``order`` on its market's book."""
        market = self.by_clob[order.clob_pair_id]
        self.books[market.ticker].user_side(bids=order.is_buy).add(order)
        order.resting = True
        if order.is_stateful:
            self.stateful[order.key] = order
        elif order.good_til_block is not None:
            self.short_term_by_gtb[order.good_til_block][order.key] = order
        self.touched_books.add(market.ticker)

    def unrest(self, order: OrderState) -> None:
        """Take ``order`` off the book and out of the expiry indexes."""
        if order.resting:
            market = self.by_clob[order.clob_pair_id]
            self.books[market.ticker].user_side(bids=order.is_buy).remove(order)
            self.touched_books.add(market.ticker)
            order.resting = False
        if order.is_stateful:
            self.stateful.pop(order.key, None)
        elif order.good_til_block is not None:
            self.short_term_by_gtb.get(order.good_til_block, {}).pop(order.key, None)

    def finish(self, order: OrderState, status: str, reason: str | None) -> None:
        """Remove ``order`` with an indexer status and removal reason."""
        self.unrest(order)
        order.status = status
        order.removal_reason = reason
        self.order_changed(order)

    def record_order(self, state: OrderState) -> None:
        """Make ``state`` the order of its id, replacing an earlier one in the views."""
        previous = self.orders.get(state.key)
        account_orders = self.subaccount_orders[(state.address, state.subaccount_number)]
        if previous is not None and previous in account_orders:
            account_orders.remove(previous)
        self.orders[state.key] = state
        self.orders_by_uuid[state.uuid] = state
        account_orders.append(state)

    def remember_fill_amount(self, order: OrderState) -> None:
        """Keep a short-term order's filled amount until its good-til-block lapses."""
        if order.is_stateful or order.good_til_block is None or order.filled == 0:
            return
        self.fill_amounts[order.key] = (order.filled, order.good_til_block)
        self.prune_at[order.good_til_block].append(order.key)

    # -- change collection ------------------------------------------------------------

    def _changes_of(self, account_key: SubaccountKey) -> _Changes:
        changes = self._changes.get(account_key)
        if changes is None:
            changes = self._changes[account_key] = _Changes()
        return changes

    def order_changed(self, order: OrderState) -> None:
        order.updated_at_height = self.height
        order.updated_at_ms = self.block_time_ms
        market = self.by_clob[order.clob_pair_id]
        body = shapes.order_object(order, market, ws=True)
        self._changes_of((order.address, order.subaccount_number)).orders[order.uuid] = body
        self.touched_books.add(market.ticker)

    def position_changed(self, account: Subaccount, position: Position) -> None:
        market = self.markets[position.ticker]
        body = shapes.position_object(position, market, account, ws=True)
        self._changes_of((account.address, account.number)).positions[position.position_id] = body

    def asset_changed(self, account: Subaccount) -> None:
        self._changes_of((account.address, account.number)).assets = True

    def fill_recorded(self, account: Subaccount, ws_fill: dict[str, Any]) -> None:
        self._changes_of((account.address, account.number)).fills.append(ws_fill)

    def transfer_recorded(self, account: Subaccount, transfer: dict[str, Any]) -> None:
        self._changes_of((account.address, account.number)).transfers = transfer

    def emit(self, channel: str, channel_id: str | None, contents: dict[str, Any]) -> None:
        self._events.append(DevnetEvent(channel, channel_id, contents))

    def flush(self) -> None:
        """Turn collected changes into events and hand them to the listeners."""
        for (address, number), changes in self._changes.items():
            account = self.subaccounts.get((address, number))
            contents: dict[str, Any] = {}
            if changes.positions:
                contents["perpetualPositions"] = list(changes.positions.values())
            if changes.assets and account is not None:
                contents["assetPositions"] = [shapes.asset_object(account, ws=True)]
            if changes.orders:
                contents["orders"] = list(changes.orders.values())
            if changes.fills:
                contents["fills"] = changes.fills
            if changes.transfers is not None:
                contents["transfers"] = changes.transfers
            if contents:
                contents["blockHeight"] = str(self.height)
                self.emit("v4_subaccounts", f"{address}/{number}", contents)
        self._changes.clear()
        self._book_events()
        events, self._events = self._events, []
        for event in events:
            for listener in list(self.listeners):
                try:
                    listener(event)
                except Exception:  # a broken subscriber must not fail the transaction
                    log.exception("devnet event listener failed on %s", event.channel)

    def watch(self, channel: str, channel_id: str) -> None:
        """Produce events for a ``v4_orderbook`` ticker or a ``v4_candles`` id."""
        self.watched.add((channel, channel_id))
        if channel == "v4_orderbook" and channel_id in self.books:
            self.sent_books[channel_id] = (
                self._levels(channel_id, True),
                self._levels(channel_id, False),
            )

    def _levels(self, ticker: str, bids: bool) -> dict[str, str]:
        """One side of ``ticker``'s aggregated book: price -> size, as the indexer prints them."""
        market, book = self.markets[ticker], self.books[ticker]
        return {
            shapes.price(market, p): shapes.size(market, q) for p, q in book.aggregated(bids=bids)
        }

    def _book_events(self) -> None:
        for ticker in sorted(self.touched_books):
            if ("v4_orderbook", ticker) not in self.watched:
                continue
            old_bids, old_asks = self.sent_books.get(ticker, ({}, {}))
            new_bids, new_asks = self._levels(ticker, True), self._levels(ticker, False)
            contents: dict[str, Any] = {}
            for name, old, new in (("bids", old_bids, new_bids), ("asks", old_asks, new_asks)):
                delta = [[p, s] for p, s in new.items() if old.get(p) != s]
                delta += [[p, "0"] for p in old if p not in new]
                if delta:
                    contents[name] = delta
            self.sent_books[ticker] = (new_bids, new_asks)
            if contents:
                self.emit("v4_orderbook", ticker, contents)
        self.touched_books.clear()
