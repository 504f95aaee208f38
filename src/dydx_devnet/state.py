"""The state every part of the engine shares, and its bookkeeping.

:class:`EngineState` holds the chain state (markets, books, subaccounts,
orders, fills, the clock) and keeps its indexes straight: an order rests, is
removed or replaced only through its methods. It also collects what changed
during one public call, so that each call ends (:meth:`EngineState.flush`)
with one batch of :class:`~dydx_devnet.feed.DevnetEvent`s in the indexer's
shapes and a version of every changed subaccount and order in the
:class:`~dydx_devnet.history.IndexerHistory`.
"""

from __future__ import annotations

import hashlib
import threading
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from dydx_devnet import indexer_orders, shapes
from dydx_devnet.block_rate_limits import BlockRateLimits
from dydx_devnet.book import Book
from dydx_devnet.candles import SampledCandles
from dydx_devnet.config import EngineConfig
from dydx_devnet.feed import DevnetEvent, EventFeed
from dydx_devnet.fees import FeeSchedule, FeeTier
from dydx_devnet.genesis import load_genesis_params
from dydx_devnet.history import IndexerHistory
from dydx_devnet.ledger import Ledger
from dydx_devnet.markets import MarketState
from dydx_devnet.orders import FILLED, OrderKey, OrderState
from dydx_devnet.replay import OracleReplay
from dydx_devnet.subaccounts import Position, Subaccount
from dydx_devnet.transfers import TransferLog

SubaccountKey = tuple[str, int]


@dataclass
class _Changes:
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    changed_orders: set[str] = field(default_factory=set)
    fills: list[dict[str, Any]] = field(default_factory=list)
    positions: dict[str, dict[str, Any]] = field(default_factory=dict)
    assets: bool = False
    transfers: dict[str, Any] | None = None


class EngineState:
    """Everything the engine knows; read it only while holding :attr:`lock`."""

    def __init__(
        self, config: EngineConfig, markets: dict[str, MarketState], genesis_ms: int
    ) -> None:
        self.config = config
        # One re-entrant lock makes every public call atomic: the transport
        # calls in from the asyncio loop and from gRPC worker threads.
        self.lock = threading.RLock()
        self.markets = markets
        self.by_clob: dict[int, MarketState] = {m.clob_pair_id: m for m in markets.values()}
        self.books: dict[str, Book] = {}
        self.subaccounts: dict[SubaccountKey, Subaccount] = {}
        # MsgUpdateLeverage settings: custom IMF ppm by ticker, per subaccount (the
        # subaccount's own ``custom_imf_ppm`` is this very dict).
        self.leverage: dict[SubaccountKey, dict[str, int]] = {}
        self.orders: dict[OrderKey, OrderState] = {}
        self.orders_by_uuid: dict[str, OrderState] = {}
        self.subaccount_orders: dict[SubaccountKey, list[OrderState]] = defaultdict(list)
        self.fills: dict[SubaccountKey, list[dict[str, Any]]] = defaultdict(list)
        self.trades: dict[str, deque[dict[str, Any]]] = defaultdict(lambda: deque(maxlen=100))
        self.sampled: dict[str, SampledCandles] = {}
        self.replay: OracleReplay | None = None
        self.genesis_ms = genesis_ms
        # Chain time per block: the timer's step, or the manual clock's grid.
        seconds = config.manual_block_s if config.manual else config.block_time_s * config.speed
        self.interval_ms = max(1, round(seconds * 1000))
        self.height = config.initial_height
        self.block_time_ms = self.genesis_ms
        # True while a block is produced (and for faucet credits): what changes now is
        # in block ``height``; otherwise CheckTx changes belong to the next block.
        self.committing = False
        # (REST, WebSocket) fills of CheckTx, dated by the block that includes them.
        self.undated_fills: list[tuple[dict[str, Any], dict[str, Any]]] = []
        self._event_height = 0
        self.indexer_lag = config.indexer_lag_blocks
        self.fill_delay = 0
        self.fees = fee_schedule(config, markets)
        # The insurance fund (quote quantums): liquidations pay into it, and it
        # covers fills below a subaccount's bankruptcy price.
        self.insurance_fund = config.insurance_fund_usdc * 1_000_000
        # Short-term bookkeeping, indexed by the block at which it lapses.
        self.short_term_by_gtb: dict[int, dict[OrderKey, OrderState]] = defaultdict(dict)
        self.fill_amounts: dict[OrderKey, tuple[int, int]] = {}
        self.cancels: dict[OrderKey, int] = {}
        self.prune_at: dict[int, list[OrderKey]] = defaultdict(list)
        # Stateful orders in state: resting long-term or triggered conditional orders,
        # untriggered conditional ones (off the book) and triggered ones waiting for
        # the next block (``triggered_pending``).
        self.stateful: dict[OrderKey, OrderState] = {}
        self.pending_stateful: list[OrderState] = []
        self.triggered_pending: list[OrderState] = []
        # The lowest and highest maker price (subticks) traded per ticker in the
        # block being built: conditional orders trigger on them too.
        self.block_trades: dict[str, tuple[int, int]] = {}
        # Stateful cancels accepted by CheckTx, applied by the next block (good-til-block-time).
        self.pending_cancels: dict[OrderKey, int] = {}
        self.rate_limits = BlockRateLimits.of(
            config.max_stateful_orders_per_n_blocks,
            config.max_short_term_orders_and_cancels_per_n_blocks,
            config.max_leverage_updates_per_n_blocks,
        )
        # Short-term orders that matched during the current block (the memclob's
        # MatchedOrderIdToOrder): a replacement must outrank them too.
        self.matched_this_block: dict[OrderKey, OrderState] = {}
        self.pinned_prices: dict[str, int] = {}
        self.sequence = 0
        self.event_index = 0
        self.recorded = 0
        self.equity_tiers: list[tuple[int, int]] = []
        # Collateral pool (0 = cross, else an isolated perpetual) -> height a subaccount
        # with negative net collateral was last seen there (withdrawal gating).
        self.negative_tnc_seen: dict[int, int] = {}
        # The indexer's transfers and hourly records (funding, PnL ticks).
        self.transfers = TransferLog()
        self.ledger = Ledger(self.transfers)
        # Run at the end of each block, before its indexer events (the previous block's
        # time in ms): background flow, market statistics, the ledger.
        self.block_hooks: list[Callable[[int], None]] = []
        self.feed = EventFeed(markets, self.books)
        self.history = IndexerHistory(config.indexer_history_blocks)
        self.touched_books: set[str] = set()
        self.trading_changed: set[str] = set()
        self._changes: dict[SubaccountKey, _Changes] = {}
        self._events: list[DevnetEvent] = []

    # -- small helpers ------------------------------------------------------------

    def fee_ppm(self, address: str, *, taker: bool) -> int:
        """The fee rate ``address`` pays now (ppm of the fill's quote amount)."""
        return self.fees.fee_ppm(address, taker=taker, now_ms=self.block_time_ms)

    def next_sequence(self) -> int:
        self.sequence += 1
        return self.sequence

    @property
    def stamp_height(self) -> int:
        """The height of the block that holds what changes now: the block being
        produced, or else the next one (CheckTx results are indexed only once a
        block includes them)."""
        return self.height if self.committing else self.height + 1

    def begin_block(self) -> None:
        """A block is being produced (``height`` already its own): date CheckTx's fills."""
        self.committing = True
        stamp = shapes.iso(self.block_time_ms)
        for rest, ws in self.undated_fills:
            rest["createdAt"] = ws["createdAt"] = stamp
        self.undated_fills.clear()

    def next_event_id(self) -> str:
        """A 24-hex-digit event id like the indexer's: block height, tx index, event index."""
        if self._event_height != self.stamp_height:
            self._event_height, self.event_index = self.stamp_height, 0
        self.event_index += 1
        return f"{self._event_height:08x}{0:08x}{self.event_index:08x}"

    @property
    def indexer_height(self) -> int:
        """The indexer's latest processed height: the chain height minus the lag."""
        return max(1, self.height - self.indexer_lag)

    def block_time_at(self, height: int) -> int:
        """Chain milliseconds of block ``height`` (the current one, one in the
        history ring, or by the block interval before that)."""
        if height == self.height:
            return self.block_time_ms
        record = self.history.block(height)
        if record is not None:
            return record.block_time_ms
        return self.genesis_ms + (height - self.config.initial_height) * self.interval_ms

    def account_or_new(self, address: str, number: int) -> Subaccount:
        """The subaccount, or a fresh empty one that is not yet registered."""
        found = self.subaccounts.get((address, number))
        if found is not None:
            return found
        return Subaccount(address, number, custom_imf_ppm=self.leverage_of(address, number))

    def leverage_of(self, address: str, number: int) -> dict[str, int]:
        """The subaccount's leverage settings (custom IMF ppm by ticker), live."""
        return self.leverage.setdefault((address, number), {})

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
        if not order.is_stateful and status != FILLED:
            self._vulcan(order, placed=False)

    def short_term_placed(self, order: OrderState) -> None:
        """Vulcan's ``BEST_EFFORT_OPENED`` message for a short-term order just placed."""
        self._vulcan(order, placed=True)

    def _vulcan(self, order: OrderState, *, placed: bool) -> None:
        market = self.by_clob[order.clob_pair_id]
        if placed:
            body = indexer_orders.vulcan_placed(order, market)
        else:
            row = self.history.order_at(order.uuid, self.indexer_height)
            stored = row if row is not None and indexer_orders.is_stored(row) else None
            body = indexer_orders.vulcan_removed(order, market, stored)
        # Vulcan does not wait for blocks: stamped with the indexer's latest height.
        contents = {"orders": [body], "blockHeight": str(self.indexer_height)}
        self.emit("v4_subaccounts", f"{order.address}/{order.subaccount_number}", contents)

    def record_order(self, state: OrderState) -> None:
        """Make ``state`` the order of its id, replacing an earlier one in the views."""
        previous = self.orders.get(state.key)
        account_orders = self.subaccount_orders[(state.address, state.subaccount_number)]
        if previous is not None and previous in account_orders:
            account_orders.remove(previous)
        self.recorded += 1
        state.recorded_index = self.recorded
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
        order.updated_at_height = self.stamp_height
        order.updated_at_ms = self.block_time_ms
        market = self.by_clob[order.clob_pair_id]
        changes = self._changes_of((order.address, order.subaccount_number))
        changes.changed_orders.add(order.uuid)
        if indexer_orders.is_stored(order):  # ender writes only stored orders
            changes.orders[order.uuid] = indexer_orders.ender_message(order, market)
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
        """Turn collected changes into events and history versions; publish the events."""
        for (address, number), changes in self._changes.items():
            account = self.subaccounts.get((address, number))
            for uuid in changes.changed_orders:
                self.history.record_order(self.stamp_height, self.orders_by_uuid[uuid])
            if account is not None and (changes.assets or changes.positions):
                self.history.record_account(self.stamp_height, account)
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
            if contents:  # ender's update, released once its block is indexed
                contents["blockHeight"] = str(self.stamp_height)
                self.emit("v4_subaccounts", f"{address}/{number}", contents)
        self._changes.clear()
        events, self._events = self._events, []
        events += self.feed.book_events(self.touched_books)
        self.touched_books.clear()
        self.feed.publish(events, self.indexer_height, self.fill_delay)


def fee_schedule(config: EngineConfig, markets: dict[str, MarketState]) -> FeeSchedule:
    """The genesis fee tiers, against the bundled markets' 30-day volume (quote quantums)."""
    tiers = [FeeTier.from_genesis(row) for row in load_genesis_params()["feetiers"]]
    daily_usdc = sum(
        (Decimal(str(m.payload.get("volume24H", "0"))) for m in markets.values()), Decimal(0)
    )
    return FeeSchedule(tiers, int(daily_usdc * 30 * 1_000_000), config.fee_override)


__all__ = ["DevnetEvent", "EngineConfig", "EngineState", "SubaccountKey"]
