"""Matching a taker against the book, and settling fills as the chain does.

Every proposed fill is collateral-checked at match time (protocol reference
2.6): the taker with the taker fee, a user maker with the maker fee, each at
the maker's price and with the open-interest change of the match applied. A
failing taker stops matching (its earlier fills stand) and is removed as
``UNDERCOLLATERALIZED``; a failing maker is removed from the book and matching
goes on. A maker of the taker's own subaccount is removed as a self-trade.
The synthetic liquidity provider is not margined.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from fractions import Fraction
from typing import Any

from dydx_devnet import orders as o
from dydx_devnet import shapes
from dydx_devnet.markets import MarketState
from dydx_devnet.orders import OrderState
from dydx_devnet.state import EngineState
from dydx_devnet.subaccounts import CLOSED, Position, Subaccount, collateral_check
from dydx_trader.domain import chain_math


def fill_terms(
    market: MarketState, is_buy: bool, quantums: int, subticks: int, fee_ppm: int
) -> tuple[int, int, int, int]:
    """(delta base quantums, delta USDC, quote amount, fee) of one fill, quantums.

    ``quote = floor(subticks x quantums x 10^qce)``; ``fee = ceil(quote x fee_ppm / 1e6)``
    (a negative fee is a rebate).
    """
    quote = chain_math.fill_amount_to_quote_quantums(
        subticks, quantums, market.spec.quantum_conversion_exponent
    )
    fee = chain_math.big_mul_ppm(quote, fee_ppm, round_up=True)
    if is_buy:
        return quantums, -quote - fee, quote, fee
    return -quantums, quote - fee, quote, fee


class Matching(EngineState):
    """Matching and settlement on top of the shared engine state."""

    # -- checks ------------------------------------------------------------------------

    def can_fill(
        self,
        account: Subaccount,
        market: MarketState,
        is_buy: bool,
        quantums: int,
        subticks: int,
        fee_ppm: int,
        *,
        match: bool,
    ) -> str:
        """The chain's collateral check of one hypothetical fill; ``"Success"`` passes."""
        delta_bq, delta_usdc, _, _ = fill_terms(market, is_buy, quantums, subticks, fee_ppm)
        verdict: str = collateral_check(
            account,
            self.markets,
            market.ticker,
            delta_bq,
            delta_usdc,
            apply_open_interest=match,
        )
        return verdict

    # -- order bookkeeping -----------------------------------------------------------------

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

    # -- matching ------------------------------------------------------------------------------

    def crosses(self, market: MarketState, is_buy: bool, subticks: int) -> bool:
        """Whether a limit at ``subticks`` would trade against the book now."""
        book = self.books[market.ticker]
        best_user = book.user_side(bids=not is_buy).best_price()
        synthetic = book.synthetic(bids=not is_buy).best()
        for price in (best_user, None if synthetic is None else synthetic[1]):
            if price is not None and (price <= subticks if is_buy else price >= subticks):
                return True
        return False

    def match(self, taker: OrderState, market: MarketState, tx_hash: str) -> str | None:
        """Match ``taker`` against the book; return why it stopped early, if it did.

        The returned removal reason is ``UNDERCOLLATERALIZED``,
        ``VIOLATES_ISOLATED_SUBACCOUNT_CONSTRAINTS`` or
        ``REDUCE_ONLY_RESIZE``; ``None`` means the book ran out of crossing
        liquidity or the order filled.
        """
        book = self.books[market.ticker]
        account = self.account_or_new(taker.address, taker.subaccount_number)
        users = book.user_side(bids=not taker.is_buy)
        synthetic = book.synthetic(bids=not taker.is_buy)
        wanted = taker.remaining
        stopped: str | None = None
        if taker.reduce_only:
            position = account.position_quantums(market.ticker)
            allowed = abs(position) if position != 0 and (position > 0) != taker.is_buy else 0
            if wanted > allowed:
                wanted, stopped = allowed, o.REDUCE_ONLY_RESIZE
        while wanted > 0:
            maker = users.best_order()
            level = synthetic.best()
            use_user = maker is not None and (
                level is None
                or (maker.subticks <= level[1] if taker.is_buy else maker.subticks >= level[1])
            )
            price = (
                maker.subticks
                if use_user and maker is not None
                else (level[1] if level is not None else None)
            )
            limit = taker.subticks
            if price is None or (price > limit if taker.is_buy else price < limit):
                break
            if use_user and maker is not None:
                if (maker.address, maker.subaccount_number) == (account.address, account.number):
                    self.finish(
                        maker,
                        o.BEST_EFFORT_CANCELED if not maker.is_stateful else o.CANCELED,
                        o.SELF_TRADE,
                    )
                    continue
                amount = min(wanted, maker.remaining)
            else:
                assert level is not None
                amount = min(wanted, synthetic.available[level[0]])
            verdict = self.can_fill(
                account, market, taker.is_buy, amount, price, self.taker_fee_ppm, match=True
            )
            if verdict != chain_math.SUCCESS:
                return o.removal_reason_for(verdict)
            if use_user and maker is not None:
                maker_account = self.account_or_new(maker.address, maker.subaccount_number)
                verdict = self.can_fill(
                    maker_account,
                    market,
                    maker.is_buy,
                    amount,
                    price,
                    self.maker_fee_ppm,
                    match=True,
                )
                if verdict != chain_math.SUCCESS:
                    self.finish(
                        maker,
                        o.BEST_EFFORT_CANCELED if not maker.is_stateful else o.CANCELED,
                        o.removal_reason_for(verdict),
                    )
                    continue
                self.settle(
                    maker_account,
                    market,
                    maker.is_buy,
                    amount,
                    price,
                    self.maker_fee_ppm,
                    "MAKER",
                    maker,
                    tx_hash,
                )
                maker.filled += amount
                if maker.remaining == 0:
                    self.finish(maker, o.FILLED, None)
                else:
                    self.order_changed(maker)
                self.remember_fill_amount(maker)
            else:
                assert level is not None
                synthetic.available[level[0]] -= amount
                self.touched_books.add(market.ticker)
            self.settle(
                account,
                market,
                taker.is_buy,
                amount,
                price,
                self.taker_fee_ppm,
                "TAKER",
                taker,
                tx_hash,
            )
            taker.filled += amount
            wanted -= amount
            self.record_trade(market, taker.is_buy, amount, price)
        return stopped if taker.remaining > 0 else None

    # -- settlement --------------------------------------------------------------------------

    def settle(
        self,
        account: Subaccount,
        market: MarketState,
        is_buy: bool,
        quantums: int,
        subticks: int,
        fee_ppm: int,
        liquidity: str,
        order: OrderState | None,
        tx_hash: str,
        *,
        fill_type: str = "LIMIT",
    ) -> None:
        """Apply one fill to ``account``: USDC, position, fill record and events."""
        delta_bq, delta_usdc, quote, fee = fill_terms(market, is_buy, quantums, subticks, fee_ppm)
        price = market.spec.subticks_to_price(subticks)
        self.apply_trade(account, market, delta_bq, delta_usdc, Fraction(price))
        self.record_fill(
            account,
            market,
            is_buy,
            quantums,
            shapes.dec(price),
            quote,
            fee,
            liquidity,
            order,
            tx_hash,
            fill_type,
        )

    def apply_trade(
        self,
        account: Subaccount,
        market: MarketState,
        delta_bq: int,
        delta_usdc: int,
        price: Fraction,
    ) -> None:
        """Move ``account``'s USDC and position in ``market``; keep the bookkeeping."""
        self.register(account)
        account.usdc += delta_usdc
        account.updated_at_height = self.height
        old_bq = account.position_quantums(market.ticker)
        market.record_position_change(old_bq, old_bq + delta_bq)
        unit = Fraction(Decimal(1).scaleb(market.spec.atomic_resolution))
        remaining = delta_bq
        while remaining != 0:
            position = account.positions.get(market.ticker)
            if position is None:
                position = Position(
                    ticker=market.ticker,
                    position_id=account.new_position_id(market.ticker, self.height),
                    quantums=0,
                    created_at_height=self.height,
                    created_at_ms=self.block_time_ms,
                )
                account.positions[market.ticker] = position
            remaining = position.apply_fill(remaining, price, unit)
            if position.quantums == 0:
                position.status = CLOSED
                position.closed_at_height = self.height
                position.closed_at_ms = self.block_time_ms
                del account.positions[market.ticker]
                account.closed_positions.append(position)
            self.position_changed(account, position)
        self.asset_changed(account)
        self.trading_changed.add(market.ticker)

    def record_fill(
        self,
        account: Subaccount,
        market: MarketState,
        is_buy: bool,
        quantums: int,
        price: str,
        quote: int,
        fee: int,
        liquidity: str,
        order: OrderState | None,
        tx_hash: str,
        fill_type: str,
    ) -> None:
        event_id = self.next_event_id()
        record: dict[str, Any] = {
            "id": o.derived_uuid(event_id, liquidity, account.uuid),
            "side": "BUY" if is_buy else "SELL",
            "liquidity": liquidity,
            "type": fill_type,
            "price": price,
            "quantums": quantums,
            "quote_qq": quote,
            "fee_qq": fee,
            "ms": self.block_time_ms,
            "height": self.height,
            "order_id": None if order is None else order.uuid,
            "client_metadata": 0 if order is None else order.client_metadata,
            "subaccount_number": account.number,
            "subaccount_uuid": account.uuid,
            "event_id": event_id,
            "tx_hash": tx_hash,
        }
        rest, ws = shapes.fill_objects(record, market)
        self.fills[(account.address, account.number)].append(rest)
        self.fill_recorded(account, ws)
        market.volume_24h_qq += quote

    def record_trade(
        self,
        market: MarketState,
        is_buy: bool,
        quantums: int,
        subticks: int,
        trade_type: str = "LIMIT",
    ) -> None:
        trade = {
            "id": f"{self.height:08x}{0:08x}{self.event_index:08x}",
            "side": "BUY" if is_buy else "SELL",
            "size": shapes.size(market, quantums),
            "price": shapes.price(market, subticks),
            "type": trade_type,
            "createdAt": shapes.iso(self.block_time_ms),
            "createdAtHeight": str(self.height),
        }
        self.trades[market.ticker].appendleft(trade)
        market.trades_24h += 1
        # The websocket trade message has no height (REST trades do).
        message = {k: v for k, v in trade.items() if k != "createdAtHeight"}
        self.emit("v4_trades", market.ticker, {"trades": [message]})
        sampled = self.sampled.get(market.ticker)
        if sampled is not None:
            base = Decimal(quantums).scaleb(market.spec.atomic_resolution)
            usd = base * market.spec.subticks_to_price(subticks)
            sampled.add_trade(self.block_time_ms, base, usd)

    @staticmethod
    def tx_hash_for(*parts: object) -> str:
        """A deterministic stand-in transaction hash (64 upper-case hex digits)."""
        digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()
        return digest.upper()
