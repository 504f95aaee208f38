"""What happens at each block: prices, expiry, stateful placement, liquidation.

Order of work in one block (height ``h``, chain time ``t``):

1. oracle prices move along the replay; synthetic liquidity re-centres;
2. short-term orders with good-til-block ``< h + 1`` expire (indexer
   ``CANCELED`` / ``ORDER_REMOVAL_REASON_EXPIRED``), and fill amounts and
   cancels that lapsed are pruned; stateful orders with good-til-block-time
   ``<= t`` expire;
3. long-term orders accepted during the previous block are placed (they match
   as takers; a crossing post-only one is removed);
4. resting user orders that the re-centred synthetic book now crosses fill as makers;
5. funding is paid for every chain hour the block crossed;
   subaccounts below maintenance margin are liquidated at the oracle price
   with a penalty of up to ``max_liquidation_fee_ppm`` of the notional;
6. indexer events: block height, oracle prices, market trading data, watched
   order books and candles.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from dydx_devnet import orders as o
from dydx_devnet import shapes
from dydx_devnet.candle_feed import CandleFeed
from dydx_devnet.candles import RESOLUTION_MS
from dydx_devnet.markets import MarketState
from dydx_devnet.replay import HOUR_MS
from dydx_devnet.subaccounts import LIQUIDATED, Subaccount, risk
from dydx_trader.domain import chain_math


class Blocks(CandleFeed):
    """The per-block state transition."""

    def depth_quantums(self, market: MarketState) -> int:
        """Synthetic depth per level in base quantums, a whole number of steps (>= 1)."""
        depth_qq = self.config.depth_per_level_usdc * 1_000_000
        raw = chain_math.quote_to_base_quantums(
            depth_qq, market.spec.atomic_resolution, market.price_value, market.price_exponent
        )
        step = market.spec.step_base_quantums
        return max(step, raw // step * step)

    def update_prices(self) -> None:
        assert self.replay is not None
        prices = self.replay.prices_at(self.block_time_ms)
        prices.update(self.pinned_prices)
        for ticker, value in prices.items():
            market = self.markets[ticker]
            market.price_value = value
            self.books[ticker].recentre(market.oracle_subticks(), self.depth_quantums(market))
            sampled = self.sampled.get(ticker)
            if sampled is not None:
                sampled.record(self.block_time_ms, value)
        self.touched_books.update(self.markets)

    def expire_orders(self) -> None:
        for gtb in [g for g in self.short_term_by_gtb if g <= self.height]:
            for order in list(self.short_term_by_gtb.pop(gtb).values()):
                self.finish(order, o.CANCELED, o.EXPIRED)
        for gtb in [g for g in self.prune_at if g <= self.height]:
            for key in self.prune_at.pop(gtb):
                filled = self.fill_amounts.get(key)
                if filled is not None and filled[1] <= self.height:
                    del self.fill_amounts[key]
                cancel = self.cancels.get(key)
                if cancel is not None and cancel <= self.height:
                    del self.cancels[key]
        now_s = self.block_time_ms // 1000
        expired = [
            order
            for order in self.stateful.values()
            if order.good_til_block_time is not None and order.good_til_block_time <= now_s
        ]
        for order in expired:
            self.finish(order, o.CANCELED, o.EXPIRED)

    def place_pending_stateful(self) -> None:
        pending, self.pending_stateful = self.pending_stateful, []
        for order in pending:
            self.record_order(order)
            market = self.by_clob[order.clob_pair_id]
            order.created_at_height = self.height
            order.created_at_ms = self.block_time_ms
            tx_hash = str(order.extra.get("tx_hash") or self.tx_hash_for(order.uuid, self.height))
            if order.post_only and self.crosses(market, order.is_buy, order.subticks):
                self.finish(order, o.CANCELED, o.POST_ONLY_CROSSED)
                continue
            stopped = self.match(order, market, tx_hash)
            if stopped in o.MATCH_FAILURES:
                self.finish(order, o.CANCELED, stopped)
            elif order.remaining == 0:
                self.finish(order, o.FILLED, None)
            else:
                order.status = o.OPEN
                self.rest(order)
                self.order_changed(order)

    def fill_crossed_resting(self) -> None:
        """Resting user orders that the re-centred synthetic book crosses trade as makers."""
        for ticker, book in self.books.items():
            if book.bids.empty() and book.asks.empty():
                continue
            market = self.markets[ticker]
            for is_bid in (True, False):
                side = book.user_side(bids=is_bid)
                best_user = side.best_price()
                best_synthetic = book.best_synthetic_price(bids=not is_bid)
                if (
                    best_user is None
                    or best_synthetic is None
                    or (best_synthetic > best_user if is_bid else best_synthetic < best_user)
                ):
                    continue
                synthetic = book.synthetic(bids=not is_bid)
                while True:
                    maker = side.best_order()
                    level = synthetic.best()
                    if maker is None or level is None:
                        break
                    if (level[1] > maker.subticks) if is_bid else (level[1] < maker.subticks):
                        break
                    amount = min(maker.remaining, synthetic.available[level[0]])
                    account = self.account_or_new(maker.address, maker.subaccount_number)
                    verdict = self.can_fill(
                        account,
                        market,
                        maker.is_buy,
                        amount,
                        maker.subticks,
                        self.maker_fee_ppm,
                        match=True,
                    )
                    if verdict != chain_math.SUCCESS:
                        self.finish(
                            maker,
                            o.CANCELED if maker.is_stateful else o.BEST_EFFORT_CANCELED,
                            o.removal_reason_for(verdict),
                        )
                        continue
                    synthetic.available[level[0]] -= amount
                    self.settle(
                        account,
                        market,
                        maker.is_buy,
                        amount,
                        maker.subticks,
                        self.maker_fee_ppm,
                        "MAKER",
                        maker,
                        self.tx_hash_for(maker.uuid, self.height, maker.filled),
                    )
                    maker.filled += amount
                    self.record_trade(market, not maker.is_buy, amount, maker.subticks)
                    if maker.remaining == 0:
                        self.finish(maker, o.FILLED, None)
                    else:
                        self.order_changed(maker)
                    self.remember_fill_amount(maker)

    def pass_hours(self, previous_ms: int) -> None:
        """At each chain hour crossed: note prices for 24-hour statistics and pay funding.

        Longs pay shorts at a positive rate: ``payment = ceil(notional x rate x
        hours)`` quote quantums at the oracle, with each market's hourly rate
        (rounded against the payer).
        """
        hours = self.block_time_ms // HOUR_MS - previous_ms // HOUR_MS
        if hours <= 0:
            return
        for market in self.markets.values():
            market.record_hour()
        if not self.config.funding:
            return
        for account in self.subaccounts.values():
            for ticker, position in account.positions.items():
                market = self.markets[ticker]
                if market.funding_rate_ppb == 0:
                    continue
                owed = market.notional(position.quantums) * market.funding_rate_ppb * hours
                payment = -((-owed) // 1_000_000_000)
                account.usdc -= payment
                position.net_funding -= payment
                account.updated_at_height = self.height
                self.position_changed(account, position)
                self.asset_changed(account)

    def liquidate(self) -> None:
        for account in list(self.subaccounts.values()):
            if not account.positions:
                continue
            if risk(account, self.markets).liquidatable:
                self.liquidate_account(account)

    def liquidate_account(self, account: Subaccount) -> None:
        """Close every position at the oracle and charge the liquidation penalty.

        The penalty is ``max_liquidation_fee_ppm`` of each closed notional,
        limited to what the account has left; a loss beyond zero is absorbed
        (the chain's insurance fund), leaving USDC at zero.
        """
        tx_hash = self.tx_hash_for("liquidation", account.uuid, self.height)
        for ticker in list(account.positions):
            market = self.markets[ticker]
            position = account.positions[ticker]
            quantums = position.quantums
            notional = market.notional(quantums)
            penalty = chain_math.big_mul_ppm(
                abs(notional), self.config.max_liquidation_fee_ppm, round_up=True
            )
            equity_after = risk(account, self.markets).net_collateral
            fee = max(0, min(penalty, equity_after))
            self.apply_trade(
                account, market, -quantums, notional - fee, Fraction(market.oracle_price)
            )
            position.status = LIQUIDATED
            self.position_changed(account, position)
            self.record_fill(
                account,
                market,
                quantums < 0,
                abs(quantums),
                shapes.dec(market.oracle_price),
                abs(notional),
                fee,
                "TAKER",
                None,
                tx_hash,
                "LIQUIDATED",
            )
            self.record_trade(
                market, quantums < 0, abs(quantums), market.oracle_subticks(), "LIQUIDATED"
            )
        if account.usdc < 0:
            account.usdc = 0
            self.asset_changed(account)

    def market_events(self) -> None:
        at = shapes.iso(self.block_time_ms)
        self.emit("v4_block_height", None, {"blockHeight": str(self.height), "time": at})
        prices = {
            m.ticker: shapes.oracle_price_update(m, self.block_time_ms, self.height)
            for m in self.markets.values()
        }
        self.emit("v4_markets", None, {"oraclePrices": prices})
        if self.trading_changed:
            trading: dict[str, Any] = {}
            for ticker in sorted(self.trading_changed):
                market = self.markets[ticker]
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
            self.emit("v4_markets", None, {"trading": trading})
            self.trading_changed.clear()
        for channel, channel_id in sorted(self.watched):
            if channel != "v4_candles":
                continue
            ticker, _, resolution = channel_id.partition("/")
            if ticker not in self.markets or resolution not in RESOLUTION_MS:
                continue
            candle = self.latest_candle(ticker, resolution)
            if candle is not None:
                self.emit("v4_candles", channel_id, candle)
