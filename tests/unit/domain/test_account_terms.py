"""The account's terms on the chain as values, and the decision under them: a user-set
leverage caps the size as the chain's IMF = max(OI-scaled, custom) does, and each order
is sized with the fee its time in force pays."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from dydx_trader.domain.account import Subaccount
from dydx_trader.domain.account_terms import STANDARD_FEE_TIER, AccountTerms, FeeTier
from dydx_trader.domain.decide import decide
from dydx_trader.domain.decision import Decision, Outcome
from dydx_trader.domain.errors import InvalidInput
from dydx_trader.domain.margin import MarginState
from dydx_trader.domain.order import TimeInForce
from dydx_trader.domain.order_params import OrderParams
from dydx_trader.domain.pre_trade import RiskLimits
from dydx_trader.domain.signal import Signal, SignalSource
from dydx_trader.domain.sizing_policy import SizingPolicy
from dydx_trader.domain.trading_state import TradingState
from dydx_trader.domain.units import PPM
from kit.markets import flat_account, make_market, valued
from kit.orders import ADDRESS

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
ETH = make_market(oracle_price=Decimal(2000), imf=Decimal("0.05"))  # 20x by the market
MARKETS = {"ETH-USD": ETH}
WIDE = RiskLimits(
    max_leverage=Decimal(20), max_exposure=Decimal(20), free_collateral_buffer_fraction=Decimal(0)
)
ALL_IN = SizingPolicy.of_equity(Decimal(50), scale_by_confidence=False)
TIER_3 = FeeTier("3", 400, -50)
IOC = OrderParams()


def _decide(account: MarginState, params: OrderParams = IOC) -> Decision:
    signal = Signal.create(
        market="ETH-USD",
        action="BUY",
        created_at=NOW,
        source=SignalSource.CLI,
        strategy="test",
        id="buy-eth",
        reference_price=Decimal(2000),
    )
    return decide(
        signal,
        account,
        MARKETS,
        owner=Subaccount(ADDRESS, 0),
        policy=ALL_IN,
        limits=WIDE,
        order_params=params,
        trading_state=TradingState.ACTIVE,
        height=1000,
        now=NOW,
    )


# -- values ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("time_in_force", "expected"),
    [(TimeInForce.IOC, 400), (TimeInForce.GTT, 400), (TimeInForce.POST_ONLY, 0)],
)
def test_fee_ppm_when_maker_rate_is_a_rebate_then_takers_pay_taker_and_makers_count_nothing(
    time_in_force: TimeInForce, expected: int
) -> None:
    assert TIER_3.fee_ppm(time_in_force) == expected


def test_fee_ppm_when_maker_rate_is_a_charge_then_post_only_pays_the_maker_rate() -> None:
    assert STANDARD_FEE_TIER.fee_ppm(TimeInForce.POST_ONLY) == 100
    assert STANDARD_FEE_TIER.fee_ppm(TimeInForce.IOC) == 500


@pytest.mark.parametrize(
    ("taker", "maker"), [(-1, 100), (500, 100_001), (100_001, 0), (True, 0)]
)
def test_fee_tier_when_rates_impossible_then_invalid_input(taker: int, maker: int) -> None:
    with pytest.raises(InvalidInput, match="fee"):
        FeeTier("x", taker, maker)


@pytest.mark.parametrize("ppm", [0, -1, 1_000_001, True])
def test_account_terms_when_leverage_setting_not_an_imf_then_invalid_input(ppm: int) -> None:
    with pytest.raises(InvalidInput, match="leverage setting of ETH-USD"):
        AccountTerms({"ETH-USD": ppm})


def test_account_terms_when_setting_given_then_leverage_is_its_inverse() -> None:
    terms = AccountTerms({"ETH-USD": 200_000})

    assert terms.leverage("ETH-USD") == Decimal(5)
    assert terms.leverage("BTC-USD") is None


# -- the decision ---------------------------------------------------------------------------


def test_decide_when_leverage_set_below_the_market_then_sized_to_the_setting() -> None:
    account = valued(flat_account(Decimal(10_000)), MARKETS, {"ETH-USD": 500_000})  # 2x

    decision = _decide(account)

    assert decision.outcome is Outcome.ACCEPTED, decision.reason
    assert decision.bound_by in {"free collateral", "market max leverage"}
    assert decision.size is not None
    notional = decision.size * 2000
    # Each unit fills up to 20 USDC through the oracle and pays 500 ppm of 2020 USDC.
    equity = Decimal(10_000) - decision.size * (20 + Decimal("1.01"))
    assert Decimal(19_000) < notional <= 2 * equity  # 2x, not the market's 20x
    assert ("your leverage setting (chain)", "2x (IMF 500000 ppm)") in decision.arithmetic


def test_decide_when_no_leverage_set_then_the_market_maximum_applies() -> None:
    decision = _decide(valued(flat_account(Decimal(10_000)), MARKETS))

    assert decision.size is not None and decision.size * 2000 > Decimal(150_000)
    assert not any(label.startswith("your leverage") for label, _ in decision.arithmetic)


def test_decide_when_post_only_then_reserves_the_maker_rate_and_says_which_tier() -> None:
    params = OrderParams(time_in_force=TimeInForce.POST_ONLY, fees=FeeTier("2", 450, 50))

    decision = _decide(valued(flat_account(Decimal(10_000)), MARKETS), params)

    assert decision.reservation is not None and decision.reservation.fee_ppm == 50
    assert (
        "fee rate",
        "50 ppm (tier 2 (chain): taker 450 ppm, maker 50 ppm)",
    ) in decision.arithmetic


def test_decide_when_ioc_then_reserves_the_taker_rate_of_the_tier() -> None:
    params = OrderParams(fees=FeeTier("2", 450, 50))

    decision = _decide(valued(flat_account(Decimal(10_000)), MARKETS), params)

    assert decision.reservation is not None and decision.reservation.fee_ppm == 450
    assert decision.size is not None
    # Every unit pays its slippage bound (20 USDC) and 450 ppm of 2020: 20x of what is left.
    equity = 10_000 - decision.size * (20 + Decimal("0.909"))
    assert decision.size * 2000 * ETH.initial_margin_ppm <= equity * PPM
