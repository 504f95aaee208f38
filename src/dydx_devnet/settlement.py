"""Settling fills as the chain does: the collateral check, USDC, positions, records.

Every proposed fill is collateral-checked before it settles (protocol
reference 2.6): the taker with the taker fee, a user maker with the maker fee,
each at the maker's price. At match time the open-interest change of the match
scales the market's IMF; at placement (a stateful order's check) it does not.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

from dydx_devnet import orders as o
from dydx_devnet import shapes
from dydx_devnet.chain.quantums import fill_amount_to_quote_quantums
from dydx_devnet.fees import fee_quote_quantums
from dydx_devnet.markets import MarketState
from dydx_devnet.orders import OrderState
from dydx_devnet.state import EngineState
from dydx_devnet.subaccounts import CLOSED, Position, Subaccount, collateral_check


def fill_terms(
    market: MarketState, is_buy: bool, quantums: int, subticks: int, fee_ppm: int
) -> tuple[int, int, int, int]:
    """(delta base quantums, delta USDC, quote amount, fee) of one fill, quantums.

    ``quote = floor(subticks x quantums x 10^qce)``; ``fee = ceil(quote x fee_ppm / 1e6)``
    (a negative fee is a rebate).
    """
    quote = fill_amount_to_quote_quantums(
        subticks, quantums, market.spec.quantum_conversion_exponent
    )
    fee = fee_quote_quantums(quote, fee_ppm)
    if is_buy:
        return quantums, -quote - fee, quote, fee
    return -quantums, quote - fee, quote, fee


class Settlement:
    """Checks and applies fills to subaccounts; records fills and trades."""

    def __init__(self, state: EngineState) -> None:
        self._state = state

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
            self._state.markets,
            market.ticker,
            delta_bq,
            delta_usdc,
            apply_open_interest=match,
        )
        return verdict

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
    ) -> None:
        """Apply one order fill to ``account``: USDC, position, fill record and events."""
        delta_bq, delta_usdc, quote, fee = fill_terms(market, is_buy, quantums, subticks, fee_ppm)
        if order is not None and not order.is_stateful:
            self._state.matched_this_block[order.key] = order
        self._state.fees.record_fill(
            account.address, quote, taker=liquidity == "TAKER", at_ms=self._state.block_time_ms
        )
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
            "LIMIT",
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
        state = self._state
        state.register(account)
        account.usdc += delta_usdc
        account.updated_at_height = state.stamp_height
        old_bq = account.position_quantums(market.ticker)
        market.record_position_change(old_bq, old_bq + delta_bq)
        unit = Fraction(Decimal(1).scaleb(market.spec.atomic_resolution))
        remaining = delta_bq
        while remaining != 0:
            position = account.positions.get(market.ticker)
            if position is None:
                position = Position(
                    ticker=market.ticker,
                    position_id=account.new_position_id(market.ticker, state.stamp_height),
                    quantums=0,
                    created_at_height=state.stamp_height,
                    created_at_ms=state.block_time_ms,
                )
                account.positions[market.ticker] = position
            remaining = position.apply_fill(remaining, price, unit)
            if position.quantums == 0:
                position.status = CLOSED
                position.closed_at_height = state.stamp_height
                position.closed_at_ms = state.block_time_ms
                del account.positions[market.ticker]
                account.closed_positions.append(position)
            state.position_changed(account, position)
        state.asset_changed(account)
        state.trading_changed.add(market.ticker)

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
        """Keep one fill for REST and hand it to the account's WebSocket update."""
        state = self._state
        event_id = state.next_event_id()
        record: dict[str, Any] = {
            "id": o.indexer_uuid(f"{event_id}-{liquidity}"),
            "side": "BUY" if is_buy else "SELL",
            "liquidity": liquidity,
            "type": fill_type,
            "price": price,
            "quantums": quantums,
            "quote_qq": quote,
            "fee_qq": fee,
            "ms": state.block_time_ms,
            "height": state.stamp_height,
            "order_id": None if order is None else order.uuid,
            "client_metadata": 0 if order is None else order.client_metadata,
            "subaccount_number": account.number,
            "subaccount_uuid": account.uuid,
            "event_id": event_id,
            "tx_hash": tx_hash,
        }
        rest, ws = shapes.fill_objects(record, market)
        if not state.committing:
            # Its block's time is known only when the block is produced.
            state.undated_fills.append((rest, ws))
        state.fills[(account.address, account.number)].append(rest)
        state.fill_recorded(account, ws)
        market.volume_24h_qq += quote

    def record_trade(
        self,
        market: MarketState,
        is_buy: bool,
        quantums: int,
        subticks: int,
        trade_type: str = "LIMIT",
        price_text: str | None = None,
    ) -> None:
        """A public trade: ``v4_trades``, 24-hour statistics, sampled candle volume."""
        state = self._state
        trade = {
            "id": state.next_event_id(),
            "side": "BUY" if is_buy else "SELL",
            "size": shapes.size(market, quantums),
            "price": price_text or shapes.price(market, subticks),
            "type": trade_type,
            "createdAt": shapes.iso(state.block_time_ms),
            "createdAtHeight": str(state.stamp_height),
        }
        state.trades[market.ticker].appendleft(trade)
        if trade_type != "DELEVERAGED":  # SetTradePricesForPerpetual: matches only
            low, high = state.block_trades.get(market.ticker, (subticks, subticks))
            state.block_trades[market.ticker] = (min(low, subticks), max(high, subticks))
        market.trades_24h += 1
        # The websocket trade message has no height (REST trades do).
        message = {k: v for k, v in trade.items() if k != "createdAtHeight"}
        state.emit("v4_trades", market.ticker, {"trades": [message]})
        sampled = state.sampled.get(market.ticker)
        if sampled is not None:
            base = Decimal(quantums).scaleb(market.spec.atomic_resolution)
            usd = base * market.spec.subticks_to_price(subticks)
            sampled.add_trade(state.block_time_ms, base, usd)
