"""The devnet engine: a dYdX v4 chain and indexer in one process, without consensus.

Public calls (``place_order``, ``cancel_order``, ``batch_cancel``, ``deposit``,
``advance_block``, ...) are atomic: each takes :attr:`Engine.lock`, one
``threading.RLock``, so the transport may call in from the asyncio loop and from
gRPC worker threads alike. Listeners are called synchronously, in order, while
the lock is held, at the end of the call that caused the events; a listener
must not block (hand events to a queue or ``loop.call_soon_threadsafe``).

Semantics follow the chain (protocol reference sections 2-3): short-term orders
are validated and matched at once (CheckTx into the memclob; their fills are
stamped with the current height); long-term orders are validated and
collateral-checked at once and placed on the book at the next block.
Conditional and TWAP orders are not implemented (clob code 9002).

The engine is built in layers, one module each: :mod:`~dydx_devnet.state`
(configuration, shared state, event collection) -> :mod:`~dydx_devnet.matching`
(matching and settlement) -> :mod:`~dydx_devnet.candle_feed` (candle reads) ->
:mod:`~dydx_devnet.blocks` (the per-block transition) ->
:mod:`~dydx_devnet.validation` (CheckTx for orders) -> :mod:`~dydx_devnet.cancels`
-> this module (the public API: create, clock, blocks, faucet, orders).
Markets, subaccounts, books, prices and candles live in
:mod:`~dydx_devnet.markets`, :mod:`~dydx_devnet.subaccounts`, :mod:`~dydx_devnet.book`,
:mod:`~dydx_devnet.replay`, :mod:`~dydx_devnet.candles`.

Determinism: given the same config (``seed`` *and* ``genesis_time``) and the
same calls, the engine produces the same prices, fills and events.

``v4_orderbook`` and ``v4_candles`` events are produced only for ids somebody
watches: :func:`dydx_devnet.views.subscribed_contents` (the WebSocket's
initial snapshot) marks the id watched, as does :meth:`Engine.watch`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

from v4_proto.dydxprotocol.clob.order_pb2 import Order

from dydx_devnet import codes, shapes
from dydx_devnet import orders as o
from dydx_devnet.book import Book
from dydx_devnet.cancels import Cancels
from dydx_devnet.candles import RESOLUTION_MS, SampledCandles
from dydx_devnet.codes import TxResult
from dydx_devnet.markets import (
    REPLAYED_TICKERS,
    build_markets,
    load_genesis_params,
    to_price_value,
)
from dydx_devnet.orders import OrderState
from dydx_devnet.replay import OracleReplay, from_ms
from dydx_devnet.state import DevnetEvent, EngineConfig

__all__ = ["DevnetEvent", "Engine", "EngineConfig", "TxResult"]


class Engine(Cancels):
    """Markets, subaccounts, order books and blocks. Build it with :meth:`create`."""

    @classmethod
    def create(cls, config: EngineConfig | None = None) -> Engine:
        """A devnet at its genesis block, prices set from the replay."""
        config = config or EngineConfig()
        engine = cls(config, build_markets(config.markets))
        engine._setup()
        return engine

    def _setup(self) -> None:
        replayed = {t: m.price_exponent for t, m in self.markets.items() if t in REPLAYED_TICKERS}
        walked = {t: m.price_value for t, m in self.markets.items() if t not in REPLAYED_TICKERS}
        self.replay = OracleReplay(
            replayed,
            walked,
            seed=self.config.seed,
            genesis_ms=self.genesis_ms,
            warmup_days=self.config.warmup_days,
            hourly_vol_ppm=self.config.random_walk_hourly_vol_ppm,
        )
        bucket = max((r for r in RESOLUTION_MS.values() if r <= self.interval_ms), default=60_000)
        for ticker, market in self.markets.items():
            self.books[ticker] = Book(
                market.spec.subticks_per_tick,
                self.config.spread_ppm,
                self.config.level_spacing_ppm,
                self.config.levels,
            )
            if ticker not in replayed:
                self.sampled[ticker] = SampledCandles(bucket)
        tiers = load_genesis_params()["equity_tier_limit_config"]["stateful_order_equity_tiers"]
        self.equity_tiers = sorted((int(t["usd_tnc_required"]), int(t["limit"])) for t in tiers)
        self.update_prices()
        for market in self.markets.values():
            market.record_hour()
        self.touched_books.clear()

    # -- clock -----------------------------------------------------------------------

    @property
    def block_time(self) -> datetime:
        """Chain time of the latest block (UTC)."""
        return from_ms(self.block_time_ms)

    @property
    def chain_id(self) -> str:
        return self.config.chain_id

    @property
    def replay_finished(self) -> bool:
        """Whether the bundled price data has run out (a paper run ends then)."""
        with self.lock:
            return self.replay is not None and self.replay.finished(self.block_time_ms)

    def block_time_at(self, height: int) -> int:
        """Chain milliseconds of block ``height``."""
        return self.genesis_ms + (height - self.config.initial_height) * self.interval_ms

    @property
    def indexer_height(self) -> int:
        """The indexer's latest processed height: the chain height minus the lag."""
        return max(1, self.height - self.indexer_lag)

    def set_indexer_lag(self, blocks: int) -> None:
        """Make the indexer views trail the chain by ``blocks`` (>= 0)."""
        if blocks < 0:
            raise ValueError(f"indexer lag must be >= 0 blocks, got {blocks}")
        with self.lock:
            self.indexer_lag = blocks

    def add_listener(self, callback: Callable[[DevnetEvent], None]) -> None:
        """Call ``callback`` with every event from now on (under the engine lock)."""
        with self.lock:
            self.listeners.append(callback)

    def watch(self, channel: str, channel_id: str) -> None:
        """Produce events for a ``v4_orderbook`` ticker or a ``v4_candles`` id."""
        with self.lock:
            self.watched.add((channel, channel_id))
            if channel == "v4_orderbook" and channel_id in self.books:
                market, book = self.markets[channel_id], self.books[channel_id]
                self.sent_books[channel_id] = (
                    {
                        shapes.price(market, p): shapes.size(market, q)
                        for p, q in book.aggregated(bids=True)
                    },
                    {
                        shapes.price(market, p): shapes.size(market, q)
                        for p, q in book.aggregated(bids=False)
                    },
                )

    # -- blocks --------------------------------------------------------------------

    def advance_block(self) -> None:
        """Produce one block (see :mod:`dydx_devnet.blocks` for the order of work)."""
        with self.lock:
            previous_ms = self.block_time_ms
            self.height += 1
            self.block_time_ms = self.block_time_at(self.height)
            self.event_index = 0
            self.stateful_this_block.clear()
            self.update_prices()
            self.expire_orders()
            self.place_pending_stateful()
            self.fill_crossed_resting()
            self.pass_hours(previous_ms)
            self.liquidate()
            self.market_events()
            self.flush()

    def set_oracle_price(self, ticker: str, price: Decimal | None) -> None:
        """Pin ``ticker``'s oracle price (USDC) until unpinned with ``None``.

        For tests and fault drills: the book re-centres at once; liquidations
        and resting-order fills happen at the next block. Raises ``KeyError``
        for an unknown ticker and ``ValueError`` for a non-positive price.
        """
        with self.lock:
            market = self.markets[ticker]
            if price is None:
                self.pinned_prices.pop(ticker, None)
                return
            if not price.is_finite() or price <= 0:
                raise ValueError(f"oracle price of {ticker} must be positive, got {price}")
            value = to_price_value(price, market.price_exponent)
            self.pinned_prices[ticker] = value
            market.price_value = value
            self.books[ticker].recentre(market.oracle_subticks(), self.depth_quantums(market))
            self.touched_books.add(ticker)
            self.flush()

    # -- faucet ----------------------------------------------------------------------

    def deposit(self, address: str, subaccount_number: int, quote_quantums: int) -> None:
        """Credit ``quote_quantums`` USDC (x 10^6) to a subaccount, creating it.

        Raises ``ValueError`` for a non-positive amount or a subaccount number
        outside 0..128000.
        """
        if quote_quantums <= 0:
            raise ValueError(f"deposit amount must be positive, got {quote_quantums}")
        if not 0 <= subaccount_number <= o.MAX_SUBACCOUNT_NUMBER:
            raise ValueError(f"subaccount number {subaccount_number} is outside 0..128000")
        if not address:
            raise ValueError("deposit needs an address")
        with self.lock:
            account = self.account_or_new(address, subaccount_number)
            self.register(account)
            account.usdc += quote_quantums
            account.updated_at_height = self.height
            self.asset_changed(account)
            self.transfer_recorded(
                account,
                {
                    "sender": {"address": "dydx1devnetfaucet"},
                    "recipient": {"address": address, "subaccountNumber": subaccount_number},
                    "symbol": "USDC",
                    "size": shapes.usdc(quote_quantums),
                    "type": "DEPOSIT",
                    "createdAt": shapes.iso(self.block_time_ms),
                    "createdAtHeight": str(self.height),
                    "transactionHash": self.tx_hash_for("faucet", address, self.next_sequence()),
                },
            )
            self.flush()

    # -- orders ----------------------------------------------------------------------

    def check_order(self, order: Order) -> TxResult:
        """Validate ``order`` as CheckTx would, without placing it (for ``Simulate``)."""
        with self.lock:
            return self._validate(order) or codes.OK

    def place_order(self, order: Order, tx_hash: str | None = None) -> TxResult:
        """``MsgPlaceOrder``: validate, then match (short-term) or queue (long-term).

        Returns the chain's CheckTx result. A short-term order that fails its
        collateral check at match time is removed as UNDERCOLLATERALIZED but
        still returns code 0, as on the chain.
        """
        with self.lock:
            rejected = self._validate(order)
            if rejected is not None:
                return rejected
            key = o.order_key(order)
            market = self.by_clob[key[4]]
            good_til = order.WhichOneof("good_til_oneof")
            state = OrderState(
                key=key,
                uuid=o.order_uuid(key),
                subaccount_uuid=o.subaccount_uuid(key[0], key[1]),
                ticker=market.ticker,
                is_buy=order.side == o.SIDE_BUY,
                quantums=order.quantums,
                subticks=order.subticks,
                time_in_force=order.time_in_force,
                reduce_only=order.reduce_only,
                client_metadata=order.client_metadata,
                good_til_block=order.good_til_block if good_til == "good_til_block" else None,
                good_til_block_time=(
                    order.good_til_block_time if good_til == "good_til_block_time" else None
                ),
                created_at_height=self.height,
                created_at_ms=self.block_time_ms,
                sequence=self.next_sequence(),
            )
            if state.is_stateful:
                # In state (and in the indexer) from the next block on.
                if tx_hash is not None:
                    state.extra["tx_hash"] = tx_hash
                self.pending_stateful.append(state)
                self.stateful_this_block[state.address] += 1
            else:
                previous = self.orders.get(key)
                if previous is not None and previous.resting:
                    self.finish(previous, o.BEST_EFFORT_CANCELED, o.REPLACED)
                self.record_order(state)
                tx_hash = tx_hash or self.tx_hash_for(state.uuid, state.sequence)
                self._place_short_term(state, tx_hash)
            self.flush()
            return codes.OK

    def _place_short_term(self, state: OrderState, tx_hash: str) -> None:
        market = self.by_clob[state.clob_pair_id]
        carried = self.fill_amounts.get(state.key)
        if carried is not None:
            state.filled = carried[0]
        stopped = self.match(state, market, tx_hash)
        self.remember_fill_amount(state)
        if stopped in o.MATCH_FAILURES:
            self.finish(state, o.BEST_EFFORT_CANCELED, stopped)
        elif state.remaining == 0:
            self.finish(state, o.FILLED, None)
        elif state.is_ioc:
            self.finish(state, o.BEST_EFFORT_CANCELED, stopped or o.IOC_WOULD_REST)
        else:
            self.rest(state)
            self.order_changed(state)
