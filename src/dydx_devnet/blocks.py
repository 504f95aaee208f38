"""What happens at each block: prices, expiry, stateful placement, liquidation.

Order of work in one block (height ``h``, chain time ``t``; the indexer
history first remembers how block ``h - 1`` ended):

1. oracle prices move along the replay; synthetic liquidity re-centres;
2. short-term orders with good-til-block ``< h + 1`` expire (indexer
   ``CANCELED`` / ``ORDER_REMOVAL_REASON_EXPIRED``), and fill amounts and
   cancels that lapsed are pruned; stateful orders with good-til-block-time
   ``<= t`` expire;
3. stateful cancels accepted during the previous block remove their orders;
   conditional orders accepted then enter state untriggered; long-term orders
   accepted then, and conditional orders triggered by the previous block, are
   placed (they match as takers; post-only ones first, as PrepareCheckState
   does; a crossing post-only one is removed, an IOC remainder too);
4. resting user orders that the re-centred synthetic book now crosses fill as makers;
5. funding is paid for every chain hour the block crossed;
   subaccounts below maintenance margin are liquidated, one position each,
   against the book, or deleveraged (:mod:`dydx_devnet.liquidation`);
6. the EndBlocker triggers the conditional orders the block's oracle and trade
   prices reach (:mod:`dydx_devnet.conditionals`);
7. the block hooks (``EngineState.block_hooks``): other participants' orders
   (:mod:`dydx_devnet.background_flow`), the 24-hour market statistics
   (:mod:`dydx_devnet.market_stats`), the hourly ledger (:mod:`dydx_devnet.ledger`);
8. indexer events: block height, oracle prices, market trading data, watched
   order books and candles.
"""

from __future__ import annotations

from typing import Any

from dydx_devnet import orders as o
from dydx_devnet import shapes
from dydx_devnet.cancels import apply_pending_cancels
from dydx_devnet.candle_feed import CandleFeed
from dydx_devnet.candles import RESOLUTION_MS
from dydx_devnet.chain.quantums import quote_to_base_quantums
from dydx_devnet.conditionals import Triggers, accept
from dydx_devnet.funding import MINUTE_MS, FundingSampler
from dydx_devnet.liquidation import Liquidator
from dydx_devnet.markets import MarketState
from dydx_devnet.matching import Matcher
from dydx_devnet.orders import OrderState
from dydx_devnet.replay import HOUR_MS
from dydx_devnet.settlement import Settlement
from dydx_devnet.state import EngineState


def depth_quantums(state: EngineState, market: MarketState) -> int:
    """Synthetic depth per level in base quantums, a whole number of steps (>= 1),
    by the market's liquidity tier (:mod:`dydx_devnet.liquidity`)."""
    liquidity = state.config.liquidity(market.spec.liquidity_tier.initial_margin_ppm)
    depth_qq = liquidity.depth_per_level_usdc * 1_000_000
    raw = quote_to_base_quantums(
        depth_qq, market.spec.atomic_resolution, market.price_value, market.price_exponent
    )
    step = market.spec.step_base_quantums
    return max(step, raw // step * step)


class BlockProducer:
    """The per-block state transition."""

    def __init__(
        self,
        state: EngineState,
        matcher: Matcher,
        settlement: Settlement,
        candles: CandleFeed,
    ) -> None:
        self._state = state
        self._matcher = matcher
        self._settlement = settlement
        self._candles = candles
        self._liquidator = Liquidator(state, settlement, matcher)
        self._triggers = Triggers(state)
        self._funding = FundingSampler()

    def advance(self, block_time_ms: int) -> None:
        """Produce the next block at chain time ``block_time_ms`` (caller holds the lock)."""
        state = self._state
        prices = {ticker: market.price_value for ticker, market in state.markets.items()}
        state.history.close_block(state.height, state.block_time_ms, prices)
        previous_ms = state.block_time_ms
        state.height += 1
        state.block_time_ms = block_time_ms
        state.matched_this_block.clear()
        state.begin_block()
        try:
            self.sample_premiums(previous_ms)
            self.update_prices()
            self.expire_orders()
            apply_pending_cancels(state)
            self.place_pending_stateful()
            self._matcher.fill_crossed_resting()
            self.pass_hours(previous_ms)
            self._liquidator.run()
            self._triggers.run()
            for hook in state.block_hooks:
                hook(previous_ms)
            self.market_events(previous_ms)
            state.flush()
        finally:
            state.committing = False

    def sample_premiums(self, previous_ms: int) -> None:
        """Funding samples for each minute crossed, from the books as the last block left them."""
        state = self._state
        minutes = state.block_time_ms // MINUTE_MS - previous_ms // MINUTE_MS
        for ticker, market in state.markets.items():
            self._funding.sample(market, state.books[ticker], minutes)

    def update_prices(self) -> None:
        """Oracle prices at the block time (pinned ones win); books re-centre on them."""
        state = self._state
        assert state.replay is not None
        prices = state.replay.prices_at(state.block_time_ms)
        prices.update(state.pinned_prices)
        for ticker, value in prices.items():
            market = state.markets[ticker]
            market.price_value = value
            state.books[ticker].recentre(market.oracle_subticks(), depth_quantums(state, market))
            sampled = state.sampled.get(ticker)
            if sampled is not None:
                sampled.record(state.block_time_ms, value)
        state.touched_books.update(state.markets)

    def expire_orders(self) -> None:
        """Short-term orders past their good-til-block and stateful ones past their time."""
        state = self._state
        for gtb in [g for g in state.short_term_by_gtb if g <= state.height]:
            for order in list(state.short_term_by_gtb.pop(gtb).values()):
                state.finish(order, o.CANCELED, o.EXPIRED)
        for gtb in [g for g in state.prune_at if g <= state.height]:
            for key in state.prune_at.pop(gtb):
                filled = state.fill_amounts.get(key)
                if filled is not None and filled[1] <= state.height:
                    del state.fill_amounts[key]
                cancel = state.cancels.get(key)
                if cancel is not None and cancel <= state.height:
                    del state.cancels[key]
        now_s = state.block_time_ms // 1000
        expired = [
            order
            for order in state.stateful.values()
            if order.good_til_block_time is not None and order.good_til_block_time <= now_s
        ]
        for order in expired:
            state.finish(order, o.CANCELED, o.EXPIRED)

    def place_pending_stateful(self) -> None:
        """Stateful orders accepted during the previous block enter state: long-term ones
        and the conditional orders the previous block triggered are placed on the book;
        new conditional ones wait for their trigger."""
        state = self._state
        pending, state.pending_stateful = state.pending_stateful, []
        triggered, state.triggered_pending = state.triggered_pending, []
        to_place = []
        for order in pending:
            state.record_order(order)
            order.created_at_height = state.height
            order.created_at_ms = state.block_time_ms
            if order.is_conditional:
                accept(state, order)
            else:
                to_place.append(order)
        # A triggered order cancelled or expired since is no longer in state.
        to_place += [order for order in triggered if state.stateful.get(order.key) is order]
        for order in sorted(to_place, key=lambda order: not order.post_only):  # stable
            self._place(order)

    def _place(self, order: OrderState) -> None:
        state = self._state
        market = state.by_clob[order.clob_pair_id]
        tx_hash = str(order.extra.get("tx_hash") or state.tx_hash_for(order.uuid, state.height))
        if order.post_only and self._matcher.crosses(market, order.is_buy, order.subticks):
            state.finish(order, o.CANCELED, o.POST_ONLY_CROSSED)
            return
        stopped = self._matcher.match(order, market, tx_hash)
        if stopped in o.MATCH_FAILURES:
            state.finish(order, o.CANCELED, stopped)
        elif order.remaining == 0:
            state.finish(order, o.FILLED, None)
        elif order.is_ioc:  # a triggered conditional IOC: its remainder is removed
            state.finish(order, o.CANCELED, stopped or o.IOC_WOULD_REST)
        else:
            order.status = o.OPEN
            state.rest(order)
            state.order_changed(order)

    def pass_hours(self, previous_ms: int) -> None:
        """At each chain hour crossed: note prices for 24-hour statistics and pay funding.

        Longs pay shorts at a positive rate: ``payment = ceil(notional x rate x
        hours)`` quote quantums at the oracle, with each market's hourly rate
        (rounded against the payer), from the hour's premium samples
        (:mod:`dydx_devnet.funding`).
        """
        state = self._state
        hours = state.block_time_ms // HOUR_MS - previous_ms // HOUR_MS
        if hours <= 0:
            return
        for market in state.markets.values():
            market.record_hour()
            # The past hour's premium sets its rate: 8-hour ppm, paid an eighth an hour (ppb).
            market.funding_rate_ppb = self._funding.close_hour(market) * 125
        if not state.config.funding:
            return
        for account in state.subaccounts.values():
            for ticker, position in account.positions.items():
                market = state.markets[ticker]
                if market.funding_rate_ppb == 0:
                    continue
                owed = market.notional(position.quantums) * market.funding_rate_ppb * hours
                payment = -((-owed) // 1_000_000_000)
                account.usdc -= payment
                position.net_funding -= payment
                state.ledger.funding_paid(state, account, market, position, payment, hours)
                account.updated_at_height = state.height
                state.position_changed(account, position)
                state.asset_changed(account)

    def market_events(self, previous_ms: int) -> None:
        """The block's indexer events: height, oracle prices, trading data, candles
        (also the final form of any candle that closed since ``previous_ms``)."""
        state = self._state
        at = shapes.iso(state.block_time_ms)
        state.emit("v4_block_height", None, {"blockHeight": str(state.height), "time": at})
        # Only the markets whose oracle price moved (ender's market price updates).
        last = state.history.block(state.height - 1)
        prices = {
            m.ticker: shapes.oracle_price_update(m, state.block_time_ms, state.height)
            for m in state.markets.values()
            if last is None or last.prices.get(m.ticker) != m.price_value
        }
        if prices:
            state.emit("v4_markets", None, {"oraclePrices": prices})
        if state.trading_changed:
            trading: dict[str, Any] = {}
            for ticker in sorted(state.trading_changed):
                market = state.markets[ticker]
                full = shapes.market_object(market)
                trading[ticker] = {
                    "id": str(market.clob_pair_id),
                    "clobPairId": str(market.clob_pair_id),
                    "ticker": ticker,
                    "marketId": market.clob_pair_id,
                    "openInterest": full["openInterest"],
                    "volume24H": full["volume24H"],
                    "trades24H": full["trades24H"],
                    "priceChange24H": full["priceChange24H"],
                }
            state.emit("v4_markets", None, {"trading": trading})
            state.trading_changed.clear()
        for channel, channel_id in sorted(state.feed.watched):
            if channel != "v4_candles":
                continue
            ticker, _, resolution = channel_id.partition("/")
            if ticker not in state.markets or resolution not in RESOLUTION_MS:
                continue
            for candle in self._candles.candle_messages(ticker, resolution, previous_ms):
                state.emit("v4_candles", channel_id, candle)
