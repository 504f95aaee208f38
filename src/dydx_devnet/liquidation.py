"""Liquidation and deleveraging as ``x/clob/keeper/liquidations.go`` and ``deleveraging.go``.

Every block, each subaccount below maintenance margin (``MMR > 0 and NC <
MMR``) gets one liquidation order for one of its positions (picked
pseudo-randomly, one position per block):

* its size is the whole position when that is small enough, otherwise the
  block limits bind (``GetLiquidatablePositionSizeDelta``): at most
  ``max(min notional, max portion x notional)`` of the position and what is
  left of the subaccount's notional per block, rounded down to a step;
* it is an IOC at the fillable price (``GetFillablePrice``: the position's
  value less up to ``1.5 x its MMR x (1 - TNC/TMMR)``) against the book, paying
  no trading fee; each fill pays the insurance fund ``min(floor 1.5 % x quote,
  quote beyond the bankruptcy price)``, or is paid by it when below
  bankruptcy (``GetLiquidationInsuranceFundDelta``), within the fund's balance
  and the subaccount's block limit of insurance lost;
* if nothing fills and the subaccount's net collateral is negative, the
  position is deleveraged (``OffsetSubaccountPerpetualPosition``): closed at
  its bankruptcy price against subaccounts holding the opposite position,
  profitable ones included; their fills are DELEVERAGED (taker) and
  OFFSETTING (maker), without fees.

Fill types as the indexer writes them: the liquidated taker ``LIQUIDATED``
(its ``fee`` is the insurance fund delta), a user maker ``LIQUIDATION``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from dydx_devnet import shapes
from dydx_devnet.chain.margin import SUCCESS
from dydx_devnet.chain.quantums import fill_amount_to_quote_quantums, quote_to_base_quantums
from dydx_devnet.gating import collateral_pool
from dydx_devnet.genesis import load_genesis_params
from dydx_devnet.markets import MarketState
from dydx_devnet.matching import Matcher
from dydx_devnet.orders import SELF_TRADE
from dydx_devnet.settlement import Settlement
from dydx_devnet.state import EngineState
from dydx_devnet.subaccounts import LIQUIDATED, Subaccount, collateral_check, risk

_PPM = 1_000_000


@dataclass
class _BlockInfo:
    """What one subaccount has had liquidated in the current block."""

    notional: int = 0
    insurance_lost: int = 0
    tickers: set[str] = field(default_factory=set)


class Liquidator:
    """The liquidation and deleveraging step of each block (engine lock held)."""

    def __init__(self, state: EngineState, settlement: Settlement, matcher: Matcher) -> None:
        self._state = state
        self._settlement = settlement
        self._matcher = matcher
        config: dict[str, Any] = load_genesis_params()["liquidations_config"]
        position_limits = config["position_block_limits"]
        self._min_notional = int(position_limits["min_position_notional_liquidated"])
        self._max_portion_ppm = int(position_limits["max_position_portion_liquidated_ppm"])
        self._max_notional = int(config["subaccount_block_limits"]["max_notional_liquidated"])
        self._max_insurance_lost = int(
            config["subaccount_block_limits"]["max_quantums_insurance_lost"]
        )
        self._bankruptcy_adjustment_ppm = int(
            config["fillable_price_config"]["bankruptcy_adjustment_ppm"]
        )
        self._spread_to_mmr_ppm = int(
            config["fillable_price_config"]["spread_to_maintenance_margin_ratio_ppm"]
        )
        self._this_block: dict[tuple[str, int], _BlockInfo] = {}

    def run(self) -> None:
        """Liquidate (or deleverage) one position of every liquidatable subaccount."""
        state = self._state
        self._this_block = {}
        rng = random.Random(f"{state.config.seed}-{state.height}")
        for account in list(state.subaccounts.values()):
            if account.positions and risk(account, state.markets).liquidatable:
                ticker = rng.choice(sorted(account.positions))
                self._liquidate(account, state.markets[ticker], rng)

    # -- one liquidation ------------------------------------------------------------

    def _liquidate(self, account: Subaccount, market: MarketState, rng: random.Random) -> None:
        state = self._state
        info = self._this_block.setdefault((account.address, account.number), _BlockInfo())
        info.tickers.add(market.ticker)
        delta = self._size_delta(account, market, info)
        is_buy = delta > 0
        limit = self._fillable_subticks(account, market, is_buy)
        tx_hash = state.tx_hash_for("liquidation", account.uuid, state.height, market.ticker)
        filled = self._match(account, market, is_buy, abs(delta), limit, info, tx_hash)
        if filled == 0 and risk(account, state.markets).net_collateral < 0:
            # A negative-TNC subaccount gates its pool's withdrawals (gating.py).
            state.negative_tnc_seen[collateral_pool(account, state.markets)] = state.height
            self._deleverage(account, market, rng, tx_hash)

    def _size_delta(self, account: Subaccount, market: MarketState, info: _BlockInfo) -> int:
        """``GetLiquidatablePositionSizeDelta``: signed base quantums to close."""
        position = account.position_quantums(market.ticker)
        notional = abs(market.notional(position))
        smallest = min(self._min_notional, notional)
        largest = max(smallest, notional * self._max_portion_ppm // _PPM)
        allowed = min(largest, self._max_notional - info.notional)
        step = market.spec.step_base_quantums
        if notional <= allowed or abs(position) <= step:
            return -position
        quantums = quote_to_base_quantums(
            allowed, market.spec.atomic_resolution, market.price_value, market.price_exponent
        )
        quantums = min(max(quantums // step * step, step), abs(position))
        return -quantums if position > 0 else quantums

    def _fillable_subticks(self, account: Subaccount, market: MarketState, is_buy: bool) -> int:
        """``GetFillablePrice`` then ``ConvertFillablePriceToSubticks``."""
        position = account.position_quantums(market.ticker)
        _, _, mmr_position = market.requirements(position)
        total = risk(account, self._state.markets)
        ratio = Fraction(total.net_collateral, total.maintenance)
        adjustment = (1 - ratio) * self._bankruptcy_adjustment_ppm / _PPM
        adjustment = min(max(adjustment, Fraction(0)), Fraction(1))
        spread = Fraction(mmr_position) * self._spread_to_mmr_ppm / _PPM
        price = (market.notional(position) - adjustment * spread) / position  # qq per bq
        raw = price * 10 ** -market.spec.quantum_conversion_exponent
        spt = market.spec.subticks_per_tick
        round_up = not is_buy  # a long is liquidated by selling: round its limit up
        if round_up:
            subticks = -((-raw.numerator) // raw.denominator)
            subticks = -((-subticks) // spt) * spt
        else:
            subticks = raw.numerator // raw.denominator // spt * spt
        return int(max(subticks, spt))

    def _match(
        self,
        account: Subaccount,
        market: MarketState,
        is_buy: bool,
        wanted: int,
        limit: int,
        info: _BlockInfo,
        tx_hash: str,
    ) -> int:
        """The liquidation IOC against the book; the base quantums it filled."""
        state = self._state
        book = state.books[market.ticker]
        synthetic = book.synthetic(bids=not is_buy)
        users = book.user_side(bids=not is_buy)
        filled = 0
        while wanted > 0:
            maker = users.best_order()
            level = synthetic.best()
            use_user = maker is not None and (
                level is None
                or (maker.subticks <= level[1] if is_buy else maker.subticks >= level[1])
            )
            price = (
                maker.subticks
                if use_user and maker is not None
                else (level[1] if level is not None else None)
            )
            if price is None or (price > limit if is_buy else price < limit):
                break
            if use_user and maker is not None:
                if (maker.address, maker.subaccount_number) == (account.address, account.number):
                    state.finish(maker, maker.canceled_status, SELF_TRADE)
                    continue
                amount = min(wanted, maker.remaining)
            else:
                assert level is not None
                amount = min(wanted, synthetic.available[level[0]])
            insurance = self._insurance_delta(account, market, is_buy, amount, price, info)
            if insurance is None:
                break  # the fund cannot pay, or the block limits bind
            if use_user and maker is not None:
                if not self._matcher.fill_maker(maker, market, amount, price, tx_hash):
                    continue
            else:
                assert level is not None
                synthetic.available[level[0]] -= amount
                state.touched_books.add(market.ticker)
            self._settle(account, market, is_buy, amount, price, insurance, tx_hash)
            info.notional += abs(market.notional(amount))
            info.insurance_lost += max(0, -insurance)
            filled += amount
            wanted -= amount
        return filled

    def _insurance_delta(
        self,
        account: Subaccount,
        market: MarketState,
        is_buy: bool,
        amount: int,
        subticks: int,
        info: _BlockInfo,
    ) -> int | None:
        """``GetLiquidationInsuranceFundDelta`` of one fill, or ``None`` when refused."""
        quote = fill_amount_to_quote_quantums(
            subticks, amount, market.spec.quantum_conversion_exponent
        )
        delta_quote = -quote if is_buy else quote
        bankruptcy = self._bankruptcy_quote(account, market, amount if is_buy else -amount)
        insurance = delta_quote - bankruptcy
        if insurance > 0:
            insurance = min(quote * self._state.config.max_liquidation_fee_ppm // _PPM, insurance)
        if self._state.insurance_fund + insurance < 0:
            return None
        if info.notional + abs(market.notional(amount)) > self._max_notional:
            return None
        if info.insurance_lost + max(0, -insurance) > self._max_insurance_lost:
            return None
        return insurance

    def _bankruptcy_quote(self, account: Subaccount, market: MarketState, delta: int) -> int:
        """``GetBankruptcyPriceInQuoteQuantums``: the quote delta that leaves NC at zero
        in proportion to the maintenance margin the trade releases."""
        position = account.position_quantums(market.ticker)
        old_nc, (_, _, old_mmr) = market.notional(position), market.requirements(position)
        new_nc, (_, _, new_mmr) = (
            market.notional(position + delta),
            market.requirements(position + delta),
        )
        total = risk(account, self._state.markets)
        before_bankruptcy = total.net_collateral * abs(new_mmr - old_mmr) // total.maintenance
        return -(new_nc - old_nc) - before_bankruptcy

    def _settle(
        self,
        account: Subaccount,
        market: MarketState,
        is_buy: bool,
        amount: int,
        subticks: int,
        insurance: int,
        tx_hash: str,
    ) -> None:
        state = self._state
        quote = fill_amount_to_quote_quantums(
            subticks, amount, market.spec.quantum_conversion_exponent
        )
        delta_usdc = (-quote if is_buy else quote) - insurance
        price = market.spec.subticks_to_price(subticks)
        closing = abs(account.position_quantums(market.ticker)) == amount
        position = account.positions[market.ticker]
        self._settlement.apply_trade(
            account, market, amount if is_buy else -amount, delta_usdc, Fraction(price)
        )
        state.insurance_fund += insurance
        if closing:
            position.status = LIQUIDATED
            state.position_changed(account, position)
        self._settlement.record_fill(
            account, market, is_buy, amount, shapes.dec(price), quote, insurance, "TAKER", None,
            tx_hash, "LIQUIDATED",
        )  # fmt: skip
        self._settlement.record_trade(market, is_buy, amount, subticks, "LIQUIDATED")

    # -- deleveraging -------------------------------------------------------------------

    def _deleverage(
        self, account: Subaccount, market: MarketState, rng: random.Random, tx_hash: str
    ) -> None:
        """``OffsetSubaccountPerpetualPosition`` at the bankruptcy price."""
        state = self._state
        remaining = -account.position_quantums(market.ticker)
        offsetting = [
            other
            for other in state.subaccounts.values()
            if other is not account and other.position_quantums(market.ticker) * remaining > 0
        ]
        rng.shuffle(offsetting)
        for other in offsetting:
            if remaining == 0:
                break
            theirs = other.position_quantums(market.ticker)
            delta = remaining if abs(remaining) <= abs(theirs) else theirs
            quote = self._bankruptcy_quote(account, market, delta)
            verdict = collateral_check(
                other, state.markets, market.ticker, -delta, -quote, apply_open_interest=True
            )
            if verdict != SUCCESS:
                continue  # the offsetting subaccount cannot take it
            self._offset(account, other, market, delta, quote, tx_hash)
            remaining -= delta

    def _offset(
        self,
        account: Subaccount,
        other: Subaccount,
        market: MarketState,
        delta: int,
        quote: int,
        tx_hash: str,
    ) -> None:
        """Move ``delta`` base quantums from ``other`` to ``account`` for ``quote`` USDC."""
        settlement = self._settlement
        size = abs(delta)
        price = Fraction(abs(quote), 1) / size * Fraction(10) ** (
            -6 - market.spec.atomic_resolution
        )  # USDC per base unit
        closing = abs(account.position_quantums(market.ticker)) == size
        position = account.positions[market.ticker]
        settlement.apply_trade(account, market, delta, quote, price)
        settlement.apply_trade(other, market, -delta, -quote, price)
        if closing:
            position.status = LIQUIDATED
            self._state.position_changed(account, position)
        text = shapes.frac(price)
        settlement.record_fill(
            account, market, delta > 0, size, text, abs(quote), 0, "TAKER", None, tx_hash,
            "DELEVERAGED",
        )  # fmt: skip
        settlement.record_fill(
            other, market, delta < 0, size, text, abs(quote), 0, "MAKER", None, tx_hash,
            "OFFSETTING",
        )  # fmt: skip
        subticks = market.oracle_subticks()
        settlement.record_trade(market, delta > 0, size, subticks, "DELEVERAGED", price_text=text)
