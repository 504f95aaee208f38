"""The engine's configuration, its event type and the state every part shares.

:class:`EngineState` holds the chain state (markets, books, subaccounts,
orders, fills) and collects what changed during one public call, so that each
call ends with one batch of :class:`DevnetEvent`s in the indexer's shapes.
"""

from __future__ import annotations

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
from dydx_devnet.markets import MarketState
from dydx_devnet.orders import OrderKey, OrderState
from dydx_devnet.replay import OracleReplay
from dydx_devnet.subaccounts import Position, Subaccount

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EngineConfig:
    """How the devnet behaves.

    * ``seed``: every random choice (price paths, random walks) derives from it.
    * ``markets``: tickers to list (``None`` = all bundled markets).
    * ``block_time_s``: wall seconds per block; ``speed``: market seconds per
      wall second, so one block advances chain time by ``block_time_s x speed``.
    * Fees in ppm of the fill's quote amount: the chain's base tier, taker
      500 (5 bps) and maker -110 (a 1.1 bps rebate), mainnet genesis tier 1.
    * Synthetic liquidity: best levels ``spread_ppm / 2`` from the oracle,
      ``levels`` per side ``level_spacing_ppm`` apart, ``depth_per_level_usdc``
      USDC each.
    * ``short_block_window``: how far ahead a short-term good-til-block may be.
    * ``funding``: settle hourly funding at each market's real ``nextFundingRate``.
    * ``indexer_lag_blocks``: how far the indexer views trail the chain.
    * ``genesis_time``: chain time of the first block (``None``: now).
    * ``initial_height``: height of that block; not 1, so that an indexer
      held back by N blocks is N behind from the start.
    * ``warmup_days``: days of bundled data before genesis (candle history);
      the replay runs from there to the end of the data.
    """

    seed: int = 1
    markets: tuple[str, ...] | None = None
    block_time_s: float = 0.5
    speed: float = 1.0
    taker_fee_ppm: int = 500
    maker_fee_ppm: int = -110
    spread_ppm: int = 200
    level_spacing_ppm: int = 100
    depth_per_level_usdc: int = 25_000
    levels: int = 25
    short_block_window: int = 20
    indexer_lag_blocks: int = 0
    chain_id: str = "dydx-devnet-1"
    genesis_time: datetime | None = None
    initial_height: int = 1_000
    warmup_days: int = 60
    random_walk_hourly_vol_ppm: int = 6_000
    max_liquidation_fee_ppm: int = 15_000
    stateful_order_time_window_s: int = 95 * 24 * 3600
    funding: bool = True

    def __post_init__(self) -> None:
        if not self.block_time_s > 0 or not self.speed > 0:
            raise ValueError("block_time_s and speed must be positive")
        if self.levels < 1 or self.depth_per_level_usdc <= 0 or self.spread_ppm < 0:
            raise ValueError("synthetic liquidity needs levels >= 1, depth > 0, spread >= 0")
        if self.short_block_window < 1 or self.indexer_lag_blocks < 0:
            raise ValueError("short_block_window >= 1 and indexer_lag_blocks >= 0 required")


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

    def _book_events(self) -> None:
        for ticker in sorted(self.touched_books):
            if ("v4_orderbook", ticker) not in self.watched:
                continue
            market, book = self.markets[ticker], self.books[ticker]
            old_bids, old_asks = self.sent_books.get(ticker, ({}, {}))
            new_bids = {
                shapes.price(market, p): shapes.size(market, q)
                for p, q in book.aggregated(bids=True)
            }
            new_asks = {
                shapes.price(market, p): shapes.size(market, q)
                for p, q in book.aggregated(bids=False)
            }
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
