"""The LeverageCalculator: equity, margin, leverage and liquidation of a subaccount.

Figures follow the protocol reference section 2: net collateral (equity),
initial margin with the open-interest-scaled IMF and maintenance margin from the
base IMF are integer-exact as the chain computes them (via
:mod:`~dydx_trader.domain.chain_math`), then shown in USDC.

Which free collateral is used where:

* ``AccountRisk.free_collateral`` is the **chain** view, ``NC - IMR``. It
  decides whether the chain accepts an order (:meth:`LeverageCalculator.collateral_check`).
* ``AccountRisk.indexer_free_collateral`` is the **indexer** formula,
  ``equity - sum(|size| x oracle x base IMF)``, computed exactly in Decimal from
  the snapshot; ``reported_free_collateral`` is what the indexer itself sent.
* ``AccountRisk.sizing_free_collateral`` and :meth:`LeverageCalculator.max_order_size`
  (and the PositionSizer) use the **most conservative** of chain-local,
  indexer-local and indexer-reported: the indexer ignores open-interest
  scaling, the local copy may be older than the indexer's, and sizing must
  survive both.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from dydx_trader.domain import chain_math
from dydx_trader.domain.account import AccountSnapshot
from dydx_trader.domain.margin_state import (
    MarginState,
    TradeOutcome,
    fill_cash_flow,
    margin_state,
    quote_quantums_ceil,
    require_fee_ppm,
    usdc,
)
from dydx_trader.domain.market import MarketSpec
from dydx_trader.domain.market_math import MarketMath, lookup
from dydx_trader.domain.numbers import require_finite, require_non_negative, require_positive
from dydx_trader.domain.side import Side

_ZERO: Final = Decimal(0)
_ONE: Final = Decimal(1)
_HUNDRED: Final = Decimal(100)
_MILLION: Final = Decimal(1_000_000)
_MICRO: Final = Decimal("0.000001")
# The linear free-collateral model misses the chain's integer rounding (notional
# truncation, IMR ceiling, fill floor, fee ceiling: each under one quote
# quantum), so its answer is proved in exact integers and stepped back if need be.
_MAX_STEP_BACK: Final = 8


@dataclass(frozen=True, slots=True)
class PositionRisk:
    """One position's figures, USDC unless named otherwise.

    ``size`` is signed base units; ``notional`` is signed (``size x oracle``,
    truncated to quote quantums as the chain does). ``leverage`` is
    ``|notional| / account equity`` (cross margin), ``None`` when equity <= 0.
    ``liquidation_price`` is the oracle price at which the account would reach
    maintenance margin if every other price stayed put (section 2.7), ``None``
    when undefined (zero denominator or a negative price).
    ``liquidation_distance_pct`` is how far the oracle must move *against* the
    position to get there, in percent of the oracle price (negative: already past).
    """

    market: str
    size: Decimal
    oracle_price: Decimal
    notional: Decimal
    notional_quantums: int
    entry_price: Decimal
    unrealized_pnl: Decimal
    effective_imf: Decimal
    maintenance_margin_fraction: Decimal
    initial_margin: Decimal
    initial_margin_quantums: int
    maintenance_margin: Decimal
    maintenance_margin_quantums: int
    leverage: Decimal | None
    max_leverage: Decimal
    liquidation_price: Decimal | None
    liquidation_distance_pct: Decimal | None


@dataclass(frozen=True, slots=True)
class AccountRisk:
    """A subaccount's margin figures at oracle prices, USDC unless named otherwise.

    ``equity`` is the chain's net collateral (quote-quantum exact, positions
    truncated as the chain does); ``indexer_equity`` the indexer's exact Decimal
    formula. ``margin_usage`` is ``1 - free_collateral / equity`` and
    ``leverage`` is ``gross_notional / equity``; both ``None`` when equity <= 0.
    """

    equity: Decimal
    equity_quantums: int
    initial_margin: Decimal
    initial_margin_quantums: int
    maintenance_margin: Decimal
    maintenance_margin_quantums: int
    free_collateral: Decimal
    free_collateral_quantums: int
    indexer_equity: Decimal
    indexer_free_collateral: Decimal
    reported_free_collateral: Decimal | None
    sizing_free_collateral: Decimal
    gross_notional: Decimal
    margin_usage: Decimal | None
    leverage: Decimal | None
    positions: tuple[PositionRisk, ...]

    @property
    def is_initial_collateralized(self) -> bool:
        """``NC >= IMR``: new risk may be added."""
        return self.equity_quantums >= self.initial_margin_quantums

    @property
    def is_liquidatable(self) -> bool:
        """``MMR > 0 and NC < MMR`` (``lib/margin/risk.go``)."""
        return 0 < self.maintenance_margin_quantums and (
            self.equity_quantums < self.maintenance_margin_quantums
        )

    def position(self, market: str) -> PositionRisk | None:
        """The figures of ``market``'s position, ``None`` when flat."""
        for position in self.positions:
            if position.market == market:
                return position
        return None


class LeverageCalculator:
    """Margin and leverage figures for subaccounts over a set of markets.

    ``markets`` maps tickers to :class:`MarketSpec`; oracle prices come from
    the specs unless a call passes ``oracle_prices`` (ticker -> USDC price).
    Pure: no I/O, nothing but the arguments decides a result.
    """

    def __init__(self, markets: Mapping[str, MarketSpec]) -> None:
        self.markets = markets

    # -- figures ---------------------------------------------------------------

    def state(
        self, account: AccountSnapshot, oracle_prices: Mapping[str, Decimal] | None = None
    ) -> MarginState:
        """The integer margin totals of ``account`` (see :class:`MarginState`)."""
        return margin_state(account, self.markets, oracle_prices)

    def assess(
        self, account: AccountSnapshot, oracle_prices: Mapping[str, Decimal] | None = None
    ) -> AccountRisk:
        """Every figure of ``account`` at oracle prices."""
        state = margin_state(account, self.markets, oracle_prices)
        entries = {p.market: p.entry_price for p in account.open_positions}
        return _report(state, account.usdc_balance, entries)

    def what_if(
        self,
        account: AccountSnapshot,
        market: str,
        size_delta: Decimal,
        fill_price: Decimal,
        fee_ppm: int = 0,
        oracle_prices: Mapping[str, Decimal] | None = None,
    ) -> AccountRisk:
        """The figures after ``size_delta`` (signed base units) of ``market`` fills
        at ``fill_price`` paying ``fee_ppm`` (USDC changes by
        ``-size x price - fee``). Open interest and other prices are unchanged.
        """
        math, state, cash = self._trade(
            account, market, size_delta, fill_price, fee_ppm, oracle_prices
        )
        after = state.after(math, math.base_quantums(size_delta), cash)
        entries = {p.market: p.entry_price for p in account.open_positions}
        old_size = account.position_size(market)
        entries[market] = entry_price_after(
            old_size, entries.get(market, _ZERO), size_delta, fill_price
        )
        return _report(after, account.usdc_balance + usdc(cash), entries)

    def collateral_check(
        self,
        account: AccountSnapshot,
        market: str,
        size_delta: Decimal,
        fill_price: Decimal,
        fee_ppm: int = 0,
        oracle_prices: Mapping[str, Decimal] | None = None,
    ) -> str:
        """The chain's verdict on the fill, as its ``UpdateResult`` name.

        Section 2.6: the hypothetical subaccount is valued at oracle; it passes
        with ``"Success"`` if ``NC_new >= IMR_new``, otherwise only if the move is
        not riskier (:func:`chain_math.is_valid_state_transition`).
        """
        math, state, cash = self._trade(
            account, market, size_delta, fill_price, fee_ppm, oracle_prices
        )
        return chain_outcome(state, state.after_trade(math, math.base_quantums(size_delta), cash))

    def max_order_size(
        self,
        account: AccountSnapshot,
        market: str,
        side: Side,
        fill_price: Decimal,
        fee_ppm: int = 0,
        buffer: Decimal = _ZERO,
        oracle_prices: Mapping[str, Decimal] | None = None,
    ) -> Decimal:
        """The largest order (base units, whole steps, 0 if none) on ``side`` that
        leaves the sizing free collateral at least ``buffer`` USDC.

        Section 2.6 (derived), generalised to an existing position: closing an
        opposite position is always allowed and frees its margin; the opening
        part costs ``oracle x IMF_eff + adverse(fill - oracle) + fee`` per unit. A
        fill price better than oracle is not credited (the match re-checks at the
        then-current oracle); nor is a fee rebate.
        """
        require_non_negative("buffer", buffer)
        require_positive("fill price", fill_price)
        require_fee_ppm(fee_ppm)
        math = lookup(self.markets, market, oracle_prices)
        state = margin_state(account, self.markets, oracle_prices)
        reserve = quote_quantums_ceil(buffer)
        raw = free_collateral_capacity(state, math, side, fill_price, fee_ppm, reserve)
        size = math.spec.quantize_size(raw)
        return largest_fitting(state, math, side, size, fill_price, fee_ppm, reserve)

    # -- helpers -----------------------------------------------------------------

    def _trade(
        self,
        account: AccountSnapshot,
        market: str,
        size_delta: Decimal,
        fill_price: Decimal,
        fee_ppm: int,
        oracle_prices: Mapping[str, Decimal] | None,
    ) -> tuple[MarketMath, MarginState, int]:
        require_finite("size delta", size_delta)
        require_positive("fill price", fill_price)
        require_fee_ppm(fee_ppm)
        math = lookup(self.markets, market, oracle_prices)
        state = margin_state(account, self.markets, oracle_prices)
        return math, state, fill_cash_flow(size_delta, fill_price, fee_ppm)


def collateral_check(
    account: AccountSnapshot,
    markets: Mapping[str, MarketSpec],
    market: str,
    size_delta: Decimal,
    fill_price: Decimal,
    fee_ppm: int = 0,
    oracle_prices: Mapping[str, Decimal] | None = None,
) -> str:
    """:meth:`LeverageCalculator.collateral_check` as a function."""
    return LeverageCalculator(markets).collateral_check(
        account, market, size_delta, fill_price, fee_ppm, oracle_prices
    )


def chain_outcome(before: MarginState, after: MarginState | TradeOutcome) -> str:
    """The chain's ``UpdateResult`` for moving from ``before`` to ``after``."""
    if after.net_collateral >= after.initial:
        return chain_math.SUCCESS
    return chain_math.is_valid_state_transition(
        before.net_collateral,
        before.initial,
        before.maintenance,
        after.net_collateral,
        after.maintenance,
    )


def entry_price_after(
    size: Decimal, entry_price: Decimal, size_delta: Decimal, fill_price: Decimal
) -> Decimal:
    """Average entry price (USDC) once ``size_delta`` fills at ``fill_price``.

    Adding averages; reducing keeps the entry; flipping starts at the fill.
    """
    new_size = size + size_delta
    if new_size == 0:
        return _ZERO
    if size == 0 or (size > 0) == (size_delta > 0):
        return (abs(size) * entry_price + abs(size_delta) * fill_price) / abs(new_size)
    if (new_size > 0) == (size > 0):
        return entry_price
    return fill_price


def free_collateral_capacity(
    state: MarginState,
    math: MarketMath,
    side: Side,
    fill_price: Decimal,
    fee_ppm: int,
    reserve_quantums: int,
) -> Decimal:
    """The largest trade (base units, not quantized) on ``side`` in ``math``'s
    market after which every free-collateral view stays >= ``reserve_quantums``.

    The reducing part of a trade against a position is always within capacity.
    """
    oracle = math.oracle_price
    line = state.lines.get(math.spec.ticker)
    buying = side is Side.BUY
    if line is None:
        toward = closing = _ZERO
    else:
        toward = line.size if buying else -line.size
        closing = -toward if toward < 0 else _ZERO
    adverse = fill_price - oracle if buying else oracle - fill_price
    cost = adverse if adverse > 0 else _ZERO
    if fee_ppm > 0:
        cost += fill_price * fee_ppm / _MILLION
    # The local indexer view (base IMF) never binds: its free collateral and its
    # per-unit margin are both no tighter than the chain view's.
    capacity = _view_capacity(
        state.net_collateral - state.initial - reserve_quantums,
        math.initial_margin_per_unit,
        closing,
        cost,
    )
    reported = state.reported_free_collateral
    if reported is not None:
        capacity = min(
            capacity,
            _view_capacity(reported - reserve_quantums, math.base_margin_per_unit, closing, cost),
        )
    return capacity


def _view_capacity(free_quantums: int, margin: Decimal, closing: Decimal, cost: Decimal) -> Decimal:
    """Closing part plus what the free collateral left after closing can open
    at ``margin + cost`` USDC per unit."""
    free = Decimal(free_quantums) * _MICRO
    if closing:
        free += closing * (margin - cost)
    return closing + free / (margin + cost) if free > 0 else closing


def largest_fitting(
    state: MarginState,
    math: MarketMath,
    side: Side,
    size: Decimal,
    fill_price: Decimal,
    fee_ppm: int,
    reserve_quantums: int,
) -> Decimal:
    """``size`` or fewer whole steps, the first whose opening part leaves every
    free-collateral view >= ``reserve_quantums`` in exact integers (0 if none)."""
    spec = math.spec
    line = state.line(math.ticker)
    held = line.size if line is not None else _ZERO
    for _ in range(_MAX_STEP_BACK):
        if size <= 0:
            return _ZERO
        delta = size * side.sign
        if not opens(held, delta):
            return size
        after = state.after_trade(
            math, math.base_quantums(delta), fill_cash_flow(delta, fill_price, fee_ppm)
        )
        if after.sizing_free_collateral >= reserve_quantums:
            return size
        size -= spec.step_size
    return _ZERO


def opens(size: Decimal, size_delta: Decimal) -> bool:
    """Whether a trade of ``size_delta`` on a position of ``size`` adds risk:
    it grows the position or flips it (a pure reduction does not)."""
    if size == 0 or (size > 0) == (size_delta > 0):
        return size_delta != 0
    return abs(size_delta) > abs(size)


def _report(
    state: MarginState, usdc_balance: Decimal, entries: Mapping[str, Decimal]
) -> AccountRisk:
    equity = usdc(state.net_collateral)
    free = state.chain_free_collateral
    indexer_equity = usdc_balance
    indexer_margin = _ZERO
    for line in state.lines.values():
        notional = line.size * line.math.oracle_price
        indexer_equity += notional
        indexer_margin += abs(notional) * line.math.spec.initial_margin_fraction
    positive = equity > 0
    positions = tuple(
        _position_risk(state, line_key, equity, entries.get(line_key, _ZERO))
        for line_key in state.lines
    )
    reported = state.reported_free_collateral
    return AccountRisk(
        equity=equity,
        equity_quantums=state.net_collateral,
        initial_margin=usdc(state.initial),
        initial_margin_quantums=state.initial,
        maintenance_margin=usdc(state.maintenance),
        maintenance_margin_quantums=state.maintenance,
        free_collateral=usdc(free),
        free_collateral_quantums=free,
        indexer_equity=indexer_equity,
        indexer_free_collateral=indexer_equity - indexer_margin,
        reported_free_collateral=None if reported is None else usdc(reported),
        sizing_free_collateral=usdc(state.sizing_free_collateral),
        gross_notional=usdc(state.gross_notional),
        margin_usage=_ONE - usdc(free) / equity if positive else None,
        leverage=usdc(state.gross_notional) / equity if positive else None,
        positions=positions,
    )


def _position_risk(
    state: MarginState, ticker: str, equity: Decimal, entry_price: Decimal
) -> PositionRisk:
    line = state.lines[ticker]
    math = line.math
    oracle = math.oracle_price
    size = line.size
    notional = usdc(line.notional)
    mmf = math.spec.maintenance_margin_fraction
    other_maintenance = usdc(state.maintenance - line.maintenance)
    liquidation = liquidation_price(equity, size, oracle, mmf, other_maintenance)
    distance = None
    if liquidation is not None:
        distance = (oracle - liquidation) / oracle * _HUNDRED * (1 if size > 0 else -1)
    return PositionRisk(
        market=ticker,
        size=size,
        oracle_price=oracle,
        notional=notional,
        notional_quantums=line.notional,
        entry_price=entry_price,
        unrealized_pnl=size * (oracle - entry_price),
        effective_imf=math.effective_imf,
        maintenance_margin_fraction=mmf,
        initial_margin=usdc(line.initial),
        initial_margin_quantums=line.initial,
        maintenance_margin=usdc(line.maintenance),
        maintenance_margin_quantums=line.maintenance,
        leverage=abs(notional) / equity if equity > 0 else None,
        max_leverage=math.max_leverage,
        liquidation_price=liquidation,
        liquidation_distance_pct=distance,
    )


def liquidation_price(
    equity: Decimal,
    size: Decimal,
    oracle_price: Decimal,
    maintenance_margin_fraction: Decimal,
    other_maintenance: Decimal = _ZERO,
) -> Decimal | None:
    """Cross-margin liquidation price (USDC) of a position, section 2.7.

    ``p = (e - s x p0 - MMR_other) / (|s| x MMF - s)`` with account equity
    ``e``, signed size ``s``, oracle ``p0`` and the maintenance requirement of
    the other positions; ``None`` when the denominator is 0 or ``p < 0``.
    """
    denominator = abs(size) * maintenance_margin_fraction - size
    if denominator == 0:
        return None
    price = (equity - size * oracle_price - other_maintenance) / denominator
    return None if price < 0 else price
