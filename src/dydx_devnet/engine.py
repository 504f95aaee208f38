"""The devnet engine: a dYdX v4 chain and indexer in one process, without consensus.

Public calls (``place_order``, ``cancel_order``, ``batch_cancel``, ``deposit``,
``advance_block``, ...) are atomic: each takes :attr:`Engine.lock`, one
``threading.RLock``, so the transport may call in from the asyncio loop and from
gRPC worker threads alike. Listeners are called synchronously, in order, while
the lock is held, at the end of the call that caused the events (or, for a
lagging indexer, of the call that lets the indexer reach them); a listener
must not block (hand events to a queue or ``loop.call_soon_threadsafe``).

Semantics follow the chain (protocol reference sections 2-3): short-term orders
are validated and matched at once (CheckTx into the memclob; their fills are
stamped with the current height); long-term orders are validated and
collateral-checked at once and placed on the book at the next block;
conditional orders enter state untriggered at the next block, trigger in a
block's EndBlocker and reach the book in the block after
(:mod:`dydx_devnet.conditionals`). TWAP orders are not implemented (clob code 9002).

The engine *has* its parts, each given only what it uses (see
:meth:`Engine.__init__`): the shared :class:`~dydx_devnet.state.EngineState`
(chain state, bookkeeping, events, indexer history), and
:class:`~dydx_devnet.settlement.Settlement`, :class:`~dydx_devnet.matching.Matcher`,
:class:`~dydx_devnet.candle_feed.CandleFeed`, :class:`~dydx_devnet.blocks.BlockProducer`,
:class:`~dydx_devnet.validation.CheckTx`, :class:`~dydx_devnet.placement.Placement`
and :class:`~dydx_devnet.cancels.Cancels`. This module is the public API.

Determinism: given the same config (``seed`` *and* ``genesis_time``, or a
manual clock, whose genesis is the replay's start) and the same calls, the
engine produces the same prices, fills and events. A manual clock
(:attr:`Engine.clock`, :mod:`dydx_devnet.clock`) produces blocks only on request.

``v4_orderbook`` and ``v4_candles`` events are produced only for ids somebody
watches: :func:`dydx_devnet.views.subscribed_contents` (the WebSocket's
initial snapshot) marks the id watched, as does :meth:`Engine.watch`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from google.protobuf.message import Message
from v4_proto.dydxprotocol.clob import tx_pb2
from v4_proto.dydxprotocol.clob.order_pb2 import Order

from dydx_devnet import codes
from dydx_devnet import orders as o
from dydx_devnet.background_flow import BackgroundFlow
from dydx_devnet.bank import FEE_COLLECTOR, NATIVE_DENOM, BankError
from dydx_devnet.blocks import BlockProducer, depth_quantums
from dydx_devnet.cancels import Cancels
from dydx_devnet.candle_feed import CandleFeed
from dydx_devnet.chain_setup import open_chain
from dydx_devnet.clock import ManualClock
from dydx_devnet.codes import TxResult
from dydx_devnet.fees import FeeTier
from dydx_devnet.indexer_view import IndexerView
from dydx_devnet.leverage import Leverage
from dydx_devnet.market_stats import MarketStats
from dydx_devnet.markets import MarketState, to_price_value
from dydx_devnet.matching import Matcher
from dydx_devnet.orders import OrderState
from dydx_devnet.placement import Placement
from dydx_devnet.replay import OracleReplay, from_ms
from dydx_devnet.sending import Sending
from dydx_devnet.settlement import Settlement
from dydx_devnet.state import DevnetEvent, EngineConfig, EngineState, SubaccountKey
from dydx_devnet.validation import CheckTx

__all__ = ["DevnetEvent", "Engine", "EngineConfig", "TxResult"]


class Engine:
    """Markets, subaccounts, order books and blocks. Build it with :meth:`create`."""

    def __init__(self, state: EngineState) -> None:
        self.state = state
        self.settlement = Settlement(state)
        self.matcher = Matcher(state, self.settlement)
        self.candles = CandleFeed(state)
        self.blocks = BlockProducer(state, self.matcher, self.settlement, self.candles)
        self.checktx = CheckTx(state, self.matcher, self.settlement)
        self.cancels = Cancels(state, self.checktx)
        self.placement = Placement(state, self.checktx, self.matcher)
        self.clock = ManualClock(state, self.blocks)
        self.leverage = Leverage(state)
        self.sending = Sending(state)
        self.flow = BackgroundFlow(state, self.matcher, self.settlement)
        self.stats = MarketStats(state)
        state.block_hooks += [
            lambda _: state.transfers.date_pending(state.block_time_ms),
            self.flow.run_block,
            self.stats.block_done,
            lambda previous_ms: state.ledger.block_done(state, previous_ms),
        ]

    @classmethod
    def create(cls, config: EngineConfig | None = None) -> Engine:
        """A devnet at its genesis block, prices set from the replay.

        Raises ``ValueError`` for a replay window the bundled data cannot give.
        """
        engine = cls(open_chain(config or EngineConfig()))
        engine.blocks.update_prices()
        for market in engine.state.markets.values():
            market.record_hour()
        if engine.config.background_flow > 0:
            engine.flow.replace_captured_statistics()
        engine.stats.mark_sent()
        engine.state.touched_books.clear()
        return engine

    # -- the state, read under :attr:`lock` --------------------------------------------

    @property
    def lock(self) -> threading.RLock:
        """The engine's re-entrant lock: hold it to read several things consistently."""
        return self.state.lock

    @property
    def config(self) -> EngineConfig:
        return self.state.config

    @property
    def markets(self) -> dict[str, MarketState]:
        return self.state.markets

    @property
    def subaccount_orders(self) -> dict[SubaccountKey, list[OrderState]]:
        return self.state.subaccount_orders

    @property
    def replay(self) -> OracleReplay | None:
        return self.state.replay

    @property
    def height(self) -> int:
        """The latest block's height."""
        return self.state.height

    @property
    def block_time_ms(self) -> int:
        """Chain milliseconds of the latest block."""
        return self.state.block_time_ms

    # -- clock -----------------------------------------------------------------------

    @property
    def block_time(self) -> datetime:
        """Chain time of the latest block (UTC)."""
        return from_ms(self.state.block_time_ms)

    @property
    def chain_id(self) -> str:
        return self.state.config.chain_id

    @property
    def replay_finished(self) -> bool:
        """Whether the bundled price data has run out (a paper run ends then)."""
        with self.lock:
            replay = self.state.replay
            return replay is not None and replay.finished(self.state.block_time_ms)

    # -- the indexer ------------------------------------------------------------------

    @property
    def indexer_height(self) -> int:
        """The indexer's latest processed height: the chain height minus the lag."""
        return self.state.indexer_height

    def indexer_view(self) -> IndexerView:
        """What the indexer shows now (call and use it while holding :attr:`lock`)."""
        return IndexerView(self.state)

    def set_indexer_lag(self, blocks: int) -> None:
        """Make the indexer serve the state as of ``blocks`` blocks ago.

        Its REST views show that block's balances, positions, orders and fills;
        newer account and block-height messages wait on the WebSocket and are
        released in order as the lag shrinks. Raises ``ValueError`` for a lag
        below 0 or beyond the indexer history (``indexer_history_blocks``).
        """
        capacity = self.state.config.indexer_history_blocks
        if not 0 <= blocks <= capacity:
            raise ValueError(
                f"indexer lag must be 0..{capacity} blocks (the indexer history), got {blocks}"
            )
        with self.lock:
            self.state.indexer_lag = blocks
            self.state.flush()  # a shorter lag releases held messages at once

    def set_fill_delay(self, blocks: int) -> None:
        """Show fills on the indexer (REST and WebSocket) ``blocks`` blocks late."""
        capacity = self.state.config.indexer_history_blocks
        if not 0 <= blocks <= capacity:
            raise ValueError(f"fill delay must be 0..{capacity} blocks, got {blocks}")
        with self.lock:
            self.state.fill_delay = blocks
            self.state.flush()

    def add_listener(self, callback: Callable[[DevnetEvent], None]) -> None:
        """Call ``callback`` with every event from now on (under the engine lock)."""
        with self.lock:
            self.state.feed.listeners.append(callback)

    def watch(self, channel: str, channel_id: str) -> None:
        """Produce events for a ``v4_orderbook`` ticker or a ``v4_candles`` id."""
        with self.lock:
            self.state.feed.watch(channel, channel_id)

    # -- blocks --------------------------------------------------------------------

    def advance_block(self) -> None:
        """Produce one block (see :mod:`dydx_devnet.blocks` for the order of work).

        On a manual clock prefer :attr:`clock` (market times of your choosing).
        """
        with self.lock:
            # One block interval on (on a manual clock: its grid step).
            self.blocks.advance(self.state.block_time_ms + self.state.interval_ms)

    def set_oracle_price(self, ticker: str, price: Decimal | None) -> None:
        """Pin ``ticker``'s oracle price (USDC) until unpinned with ``None``.

        For tests and fault drills: the book re-centres at once; liquidations
        and resting-order fills happen at the next block. Raises ``KeyError``
        for an unknown ticker and ``ValueError`` for a non-positive price.
        """
        with self.lock:
            state = self.state
            market = state.markets[ticker]
            if price is None:
                state.pinned_prices.pop(ticker, None)
                return
            if not price.is_finite() or price <= 0:
                raise ValueError(f"oracle price of {ticker} must be positive, got {price}")
            value = to_price_value(price, market.price_exponent)
            state.pinned_prices[ticker] = value
            market.price_value = value
            state.books[ticker].recentre(market.oracle_subticks(), depth_quantums(state, market))
            state.touched_books.add(ticker)
            state.flush()

    # -- faucet ----------------------------------------------------------------------

    def deposit(self, address: str, subaccount_number: int, quote_quantums: int) -> None:
        """Credit ``quote_quantums`` USDC (x 10^6) to a subaccount, creating it: what the
        testnet faucet does, a deposit from its own wallet (indexed as a ``DEPOSIT``).

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
            state = self.state
            # A faucet credit is shown at once (the stand-in for a bank send already in
            # a block): it is not a trading path the devnet needs to delay.
            state.committing = True
            try:
                self.sending.faucet_deposit(address, subaccount_number, quote_quantums)
                state.flush()
            finally:
                state.committing = False

    def fill_native(self, address: str, amount: int) -> None:
        """Credit ``amount`` of the native token (``adv4tnt``, 10^-18) to a bank address."""
        self.mint(address, NATIVE_DENOM, amount)

    def mint(self, address: str, denom: str, amount: int) -> None:
        """Credit new coins to a bank address (the faucet; test set-ups)."""
        with self.lock:
            self.sending.bank.mint(address, denom, amount)

    # -- money movement ----------------------------------------------------------------

    def execute_sending(self, message: Message, tx_hash: str, *, apply: bool) -> TxResult:
        """``x/sending`` / ``x/bank`` messages (see :mod:`dydx_devnet.sending`)."""
        with self.lock:
            result = self.sending.execute(message, tx_hash, apply=apply)
            if apply:
                self.state.flush()
            return result

    def pay_fee(self, payer: str, coins: list[tuple[str, int]]) -> TxResult | None:
        """Take a transaction's fee from ``payer``'s bank to the fee collector (the
        chain's ``DeductFees``); the refusal, or ``None`` once paid."""
        with self.lock:
            try:
                self.sending.bank.spend(payer, coins)
            except BankError as refused:
                return TxResult(refused.code, refused.codespace, refused.log)
            for denom, amount in coins:
                self.sending.bank.mint(FEE_COLLECTOR, denom, amount)
            return None

    def refund_fee(self, payer: str, coins: list[tuple[str, int]]) -> None:
        """Give a fee back when the devnet refuses the transaction after taking it."""
        with self.lock:
            self.sending.bank.spend(FEE_COLLECTOR, coins)
            for denom, amount in coins:
                self.sending.bank.mint(payer, denom, amount)

    # -- orders ----------------------------------------------------------------------

    def check_order(self, order: Order) -> TxResult:
        """Validate ``order`` as CheckTx would, without placing it (for ``Simulate``)."""
        with self.lock:
            return self.checktx.validate(order) or codes.OK

    def place_order(self, order: Order, tx_hash: str | None = None) -> TxResult:
        """``MsgPlaceOrder``: validate, then match (short-term) or queue (long-term).

        Returns the chain's CheckTx result (see :class:`~dydx_devnet.placement.Placement`).
        """
        with self.lock:
            result = self.placement.place(order, tx_hash)
            self.state.flush()
            return result

    def cancel_order(self, msg: tx_pb2.MsgCancelOrder) -> TxResult:
        """``MsgCancelOrder`` for a short-term (good-til-block) or stateful order."""
        with self.lock:
            result = self.cancels.cancel_order(msg)
            self.state.flush()
            return result

    def update_leverage(self, msg: tx_pb2.MsgUpdateLeverage) -> TxResult:
        """``MsgUpdateLeverage``: set a subaccount's IMF per market (see :mod:`.leverage`)."""
        with self.lock:
            return self.leverage.update(msg)

    def leverage_settings(self, owner: str, number: int) -> Any:
        """The ``Leverage`` query's answer (``QueryLeverageResponse``)."""
        with self.lock:
            return self.leverage.query(owner, number)

    def block_rate_limits(self) -> dict[str, tuple[tuple[int, int], ...]]:
        """The ``BlockRateLimitConfiguration`` fields: ((num_blocks, limit), ...) each."""
        config = self.config
        return {
            "max_stateful_orders_per_n_blocks": config.max_stateful_orders_per_n_blocks,
            "max_short_term_orders_and_cancels_per_n_blocks": (
                config.max_short_term_orders_and_cancels_per_n_blocks
            ),
            "max_leverage_updates_per_n_blocks": config.max_leverage_updates_per_n_blocks,
        }

    # -- fees ------------------------------------------------------------------------

    def fee_tiers(self) -> list[FeeTier]:
        """The perpetual fee tiers (``PerpetualFeeParams``)."""
        return list(self.state.fees.tiers)

    def user_fee_tier(self, address: str) -> tuple[int, FeeTier]:
        """``UserFeeTier``: ``address``'s tier index and tier now (an override shows as a
        tier named ``"override"``)."""
        with self.lock:
            return self.state.fees.answered_tier(address, self.state.block_time_ms)

    def set_fee_override(
        self, address: str, taker_fee_ppm: int | None, maker_fee_ppm: int | None
    ) -> None:
        """Fix ``address``'s fees for tests (``None``, ``None``: back to its tier).
        Raises ``ValueError`` for a fee outside (-100 %, 100 %) or only one given."""
        with self.lock:
            self.state.fees.override(address, taker_fee_ppm, maker_fee_ppm)

    def fee_overrides(self) -> dict[str, dict[str, int]]:
        with self.lock:
            return self.state.fees.overrides()

    def batch_cancel(self, msg: tx_pb2.MsgBatchCancel) -> TxResult:
        """``MsgBatchCancel``: cancel up to 100 short-term orders of one subaccount."""
        with self.lock:
            result = self.cancels.batch_cancel(msg)
            self.state.flush()
            return result
