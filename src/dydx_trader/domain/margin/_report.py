"""The account report: equity, margin, leverage and liquidation of a subaccount.

Figures follow the protocol reference section 2: net collateral (equity),
initial margin with the open-interest-scaled IMF (or the subaccount's own,
higher, leverage setting) and maintenance margin from the base IMF are
integer-exact as the chain computes them, then shown in USDC.

Which free collateral is used where:

* ``AccountRisk.free_collateral`` is the **chain** view, ``NC - IMR``: it
  decides whether the chain accepts an order;
* ``AccountRisk.indexer_free_collateral`` is the **indexer** formula,
  ``equity - sum(|size| x oracle x base IMF)``, computed exactly in Decimal from
  the snapshot; ``reported_free_collateral`` is what the indexer itself sent;
* ``AccountRisk.sizing_free_collateral`` (and the PositionSizer) use the
  **most conservative** of chain-local, indexer-local and indexer-reported: the
  indexer ignores open-interest scaling, the local copy may be older than the
  indexer's, and sizing must survive both.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Final

from dydx_trader.domain.account import AccountSnapshot
from dydx_trader.domain.margin._state import MarginState, margin_state
from dydx_trader.domain.units import PPM, ratio_of_ppm, usdc

if TYPE_CHECKING:
    from dydx_trader.domain.market import MarketSpec

_ZERO: Final = Decimal(0)
_ONE: Final = Decimal(1)
_HUNDRED: Final = Decimal(100)


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


def assess(
    account: AccountSnapshot,
    markets: Mapping[str, MarketSpec],
    *,
    custom_imf_ppm: Mapping[str, int] | None = None,
) -> AccountRisk:
    """Every figure of ``account`` at its markets' oracle prices.

    ``custom_imf_ppm`` is the subaccount's own IMF per market (ticker -> ppm).
    Raises ``UnknownMarket`` / ``MarketNotTradable`` for a position in a market
    that is not listed or not priced.
    """
    return report(margin_state(account, markets, custom_imf_ppm=custom_imf_ppm), account)


def report(state: MarginState, account: AccountSnapshot) -> AccountRisk:
    """The figures of an already valued account (``state`` of ``account``)."""
    entries = {p.market: p.entry_price for p in account.open_positions}
    return _report(state, account.usdc_balance, entries)


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
    maintenance = state.maintenance  # summed once: each position's risk needs it
    positions = tuple(
        _position_risk(state, line_key, equity, entries.get(line_key, _ZERO), maintenance)
        for line_key in state.lines
    )
    reported = state.reported_free_collateral
    return AccountRisk(
        equity=equity,
        equity_quantums=state.net_collateral,
        initial_margin=usdc(state.initial),
        initial_margin_quantums=state.initial,
        maintenance_margin=usdc(maintenance),
        maintenance_margin_quantums=maintenance,
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
    state: MarginState, ticker: str, equity: Decimal, entry_price: Decimal, maintenance: int
) -> PositionRisk:
    line = state.lines[ticker]
    math = line.math
    oracle = math.oracle_price
    size = line.size
    notional = usdc(line.notional)
    mmf = math.spec.maintenance_margin_fraction
    other_maintenance = usdc(maintenance - line.maintenance)
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
        effective_imf=ratio_of_ppm(line.imf_ppm),
        maintenance_margin_fraction=mmf,
        initial_margin=usdc(line.initial),
        initial_margin_quantums=line.initial,
        maintenance_margin=usdc(line.maintenance),
        maintenance_margin_quantums=line.maintenance,
        leverage=abs(notional) / equity if equity > 0 else None,
        max_leverage=Decimal(PPM) / line.imf_ppm,
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
