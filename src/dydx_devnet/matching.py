"""Matching takers against the book, and resting orders against moved liquidity.

Every proposed fill is collateral-checked at match time (see
:mod:`dydx_devnet.settlement`). A failing taker stops matching (its earlier
fills stand) and is removed as ``UNDERCOLLATERALIZED``; a failing maker is
removed from the book and matching goes on. A maker of the taker's own
subaccount is removed as a self-trade. The synthetic liquidity provider is not
margined.
"""

from __future__ import annotations

from dydx_devnet import orders as o
from dydx_devnet.chain.margin import SUCCESS
from dydx_devnet.markets import MarketState
from dydx_devnet.orders import OrderState
from dydx_devnet.settlement import Settlement
from dydx_devnet.state import EngineState
from dydx_devnet.subaccounts import Subaccount


class Matcher:
    """Crossing checks and matching; fills settle through :class:`Settlement`."""

    def __init__(self, state: EngineState, settlement: Settlement) -> None:
        self._state = state
        self._settlement = settlement

    def crosses(self, market: MarketState, is_buy: bool, subticks: int) -> bool:
        """Whether a limit at ``subticks`` would trade against the book now."""
        book = self._state.books[market.ticker]
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
        state, settlement = self._state, self._settlement
        book = state.books[market.ticker]
        account = state.account_or_new(taker.address, taker.subaccount_number)
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
                    state.finish(maker, maker.canceled_status, o.SELF_TRADE)
                    continue
                amount = min(wanted, maker.remaining)
            else:
                assert level is not None
                amount = min(wanted, synthetic.available[level[0]])
            fee_ppm = state.fee_ppm(account.address, taker=True)
            verdict = settlement.can_fill(
                account, market, taker.is_buy, amount, price, fee_ppm, match=True
            )
            if verdict != SUCCESS and not use_user:
                # A synthetic level stands for many small makers, each checked on
                # its own: the taker still takes what its collateral allows.
                amount = self._largest_fill(account, market, taker.is_buy, amount, price, fee_ppm)
                stopped = o.removal_reason_for(verdict)
                if amount == 0:
                    return stopped
                wanted = amount
            elif verdict != SUCCESS:
                return o.removal_reason_for(verdict)
            if use_user and maker is not None:
                if not self.fill_maker(maker, market, amount, price, tx_hash):
                    continue
            else:
                assert level is not None
                synthetic.available[level[0]] -= amount
                state.touched_books.add(market.ticker)
            settlement.settle(
                account,
                market,
                taker.is_buy,
                amount,
                price,
                fee_ppm,
                "TAKER",
                taker,
                tx_hash,
            )
            taker.filled += amount
            wanted -= amount
            settlement.record_trade(market, taker.is_buy, amount, price)
        return stopped if taker.remaining > 0 else None

    def _largest_fill(
        self,
        account: Subaccount,
        market: MarketState,
        is_buy: bool,
        amount: int,
        price: int,
        fee_ppm: int,
    ) -> int:
        """The most base quantums (whole steps, below ``amount``) that pass the taker check."""
        step = market.spec.step_base_quantums
        low, high = 0, amount // step - 1  # ``amount`` itself failed
        while low < high:
            middle = (low + high + 1) // 2
            verdict = self._settlement.can_fill(
                account, market, is_buy, middle * step, price, fee_ppm, match=True
            )
            if verdict == SUCCESS:
                low = middle
            else:
                high = middle - 1
        return low * step

    def fill_maker(
        self, maker: OrderState, market: MarketState, amount: int, price: int, tx_hash: str
    ) -> bool:
        """Check and settle a user maker's side of a match; False when it was removed."""
        state, settlement = self._state, self._settlement
        maker_account = state.account_or_new(maker.address, maker.subaccount_number)
        fee_ppm = state.fee_ppm(maker_account.address, taker=False)
        verdict = settlement.can_fill(
            maker_account, market, maker.is_buy, amount, price, fee_ppm, match=True
        )
        if verdict != SUCCESS:
            state.finish(maker, maker.canceled_status, o.removal_reason_for(verdict))
            return False
        settlement.settle(
            maker_account,
            market,
            maker.is_buy,
            amount,
            price,
            fee_ppm,
            "MAKER",
            maker,
            tx_hash,
        )
        maker.filled += amount
        if maker.remaining == 0:
            state.finish(maker, o.FILLED, None)
        else:
            state.order_changed(maker)
        state.remember_fill_amount(maker)
        return True

    def fill_crossed_resting(self) -> None:
        """Resting user orders that the re-centred synthetic book crosses trade as makers."""
        state, settlement = self._state, self._settlement
        for ticker, book in state.books.items():
            if book.bids.empty() and book.asks.empty():
                continue
            market = state.markets[ticker]
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
                    tx_hash = state.tx_hash_for(maker.uuid, state.height, maker.filled)
                    if self.fill_maker(maker, market, amount, maker.subticks, tx_hash):
                        synthetic.available[level[0]] -= amount
                        settlement.record_trade(market, not maker.is_buy, amount, maker.subticks)
