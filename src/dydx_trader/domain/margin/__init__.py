"""Margin: a subaccount valued in the chain's integers, and the report built on it.

Layers, bottom up: :mod:`~dydx_trader.domain.margin.chain_math` (the chain's Go
functions, the reference), :class:`MarketMath` (one market's integers at one
oracle price, owned by its ``MarketSpec``), :class:`MarginState` (an account's
totals, before and after a trade) and :class:`AccountRisk` (every figure, in
USDC, for people). Everything public is listed in ``__all__``.
"""

from dydx_trader.domain.margin import chain_math
from dydx_trader.domain.margin._lines import PositionLine
from dydx_trader.domain.margin._market import MarketMath, derive_market_math, lookup
from dydx_trader.domain.margin._report import (
    AccountRisk,
    PositionRisk,
    assess,
    liquidation_price,
    report,
)
from dydx_trader.domain.margin._state import (
    MarginState,
    TradeOutcome,
    chain_outcome,
    fill_cash_flow,
    margin_state,
    require_fee_ppm,
)

__all__ = (
    "AccountRisk",
    "MarginState",
    "MarketMath",
    "PositionLine",
    "PositionRisk",
    "TradeOutcome",
    "assess",
    "chain_math",
    "chain_outcome",
    "derive_market_math",
    "fill_cash_flow",
    "liquidation_price",
    "lookup",
    "margin_state",
    "report",
    "require_fee_ppm",
)
