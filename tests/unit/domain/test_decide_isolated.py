"""An ISOLATED market is refused, naming it, except for a CLOSE of a position already held."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from decimal import Decimal

from dydx_trader.domain.account import PerpetualPosition, Subaccount
from dydx_trader.domain.decide import decide
from dydx_trader.domain.decision import Decision, Outcome
from dydx_trader.domain.market import MarketType
from dydx_trader.domain.order_params import OrderParams
from dydx_trader.domain.pre_trade import RiskLimits
from dydx_trader.domain.signal import Signal, SignalSource
from dydx_trader.domain.sizing_policy import SizingPolicy
from dydx_trader.domain.trading_state import TradingState
from kit.markets import flat_account, make_market, valued
from kit.orders import ADDRESS

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
ONDO = dataclasses.replace(
    make_market("ONDO-USD", oracle_price=Decimal("0.9"), imf=Decimal("0.2"), clob_pair_id=7),
    market_type=MarketType.ISOLATED,
)
MARKETS = {"ONDO-USD": ONDO}


def _decide(action: str, account_usdc: Decimal, position: Decimal = Decimal(0)) -> Decision:
    positions = (PerpetualPosition("ONDO-USD", position),) if position else ()
    account = valued(flat_account(account_usdc, *positions), MARKETS)
    signal = Signal.create(
        market="ONDO-USD",
        action=action,
        created_at=NOW,
        source=SignalSource.CLI,
        strategy="test",
        id=f"{action}-ondo",
    )
    return decide(
        signal,
        account,
        MARKETS,
        owner=Subaccount(ADDRESS, 0),
        policy=SizingPolicy.of_equity(Decimal("0.5"), scale_by_confidence=False),
        limits=RiskLimits(max_leverage=Decimal(2), max_exposure=Decimal(2)),
        order_params=OrderParams(),
        trading_state=TradingState.ACTIVE,
        height=1000,
        now=NOW,
    )


def test_decide_when_buy_names_an_isolated_market_then_refused_naming_it_and_why() -> None:
    decision = _decide("BUY", Decimal(1000))

    assert decision.outcome is Outcome.REFUSED
    assert decision.error_code == "IsolatedMarketNotTraded"
    assert "ONDO-USD is an ISOLATED market" in (decision.reason or "")
    assert "child subaccount" in (decision.reason or "")


def test_decide_when_sell_names_an_isolated_market_then_refused() -> None:
    assert _decide("SELL", Decimal(1000)).error_code == "IsolatedMarketNotTraded"


def test_decide_when_close_of_a_held_isolated_position_then_accepted_reduce_only() -> None:
    decision = _decide("CLOSE", Decimal(500), position=Decimal(100))

    assert decision.outcome is Outcome.ACCEPTED
    assert decision.intent is not None and decision.intent.reduce_only
