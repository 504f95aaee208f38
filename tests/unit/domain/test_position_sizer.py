"""PositionSizer and the pre-trade check: policies, caps, refusals, and their properties."""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from dydx_trader.domain.account import AccountSnapshot, PerpetualPosition
from dydx_trader.domain.errors import (
    BelowMinimumOrderSize,
    ExposureLimitExceeded,
    InsufficientFreeCollateral,
    InvalidInput,
    LeverageLimitExceeded,
    MarketNotTradable,
    NotionalLimitExceeded,
    ReduceOnlyViolation,
    Refusal,
)
from dydx_trader.domain.margin import chain_math, chain_outcome, fill_cash_flow, margin_state
from dydx_trader.domain.market import MarketSpec, MarketStatus
from dydx_trader.domain.pre_trade import RiskLimits, evaluate_order
from dydx_trader.domain.proposal import OrderProposal
from dydx_trader.domain.side import Side
from dydx_trader.domain.sizing import Bound, PositionSizer, Refused, Sized
from dydx_trader.domain.sizing_policy import PolicyKind, SizingPolicy, SizingRequest
from dydx_trader.domain.units import PPM, usdc
from kit.markets import flat_account, make_market, sample_markets

ETH = make_market(oracle_price=Decimal(2500), imf=Decimal("0.05"))  # step 0.001, tick 0.1
MARKETS = {"ETH-USD": ETH}
WIDE = RiskLimits(
    max_leverage=Decimal(100), max_exposure=Decimal(100), free_collateral_buffer_fraction=Decimal(0)
)
RICH = flat_account(Decimal(10_000))


def size(
    sizer: PositionSizer,
    request: SizingRequest,
    account: AccountSnapshot,
    markets: dict[str, MarketSpec],
) -> Sized | Refused:
    """Size on the account valued at the markets' prices (nothing in flight)."""
    state = margin_state(account, markets)
    return sizer.size(request, (state,), markets[request.market].math)


def check_order(
    account: AccountSnapshot,
    markets: dict[str, MarketSpec],
    market: str,
    side: Side,
    amount: Decimal,
    price: Decimal,
    limits: RiskLimits,
    *,
    fee_ppm: int = 0,
    reduce_only: bool = False,
) -> Refusal | None:
    """The pre-trade check of one order on the account valued at the markets' prices."""
    order = OrderProposal(market, side, amount, price, fee_ppm, reduce_only)
    return evaluate_order(margin_state(account, markets), markets[market].math, order, limits)


def size_of(result: Sized | Refused) -> Decimal:
    assert isinstance(result, Sized), result.lines
    return result.size


# -- policies ---------------------------------------------------------------------------


def test_size_when_fixed_notional_and_confidence_then_notional_over_price_times_confidence() -> (
    None
):
    sizer = PositionSizer(SizingPolicy.fixed_notional(Decimal(1000)), WIDE)
    request = SizingRequest("ETH-USD", Side.BUY, Decimal(2500), Decimal("0.8"))
    result = size(sizer, request, RICH, MARKETS)
    assert size_of(result) == Decimal("0.32")
    assert isinstance(result, Sized)
    assert result.bound_by is Bound.POLICY
    assert result.quantums == 320_000_000
    assert result.notional == Decimal(800)
    labels = [label for label, _ in result.lines]
    assert labels[0] == "equity (chain net collateral)"
    assert "target x confidence" in labels


def test_size_when_equity_fraction_then_fraction_of_equity_as_notional() -> None:
    sizer = PositionSizer(SizingPolicy.of_equity(Decimal("0.5"), scale_by_confidence=False), WIDE)
    request = SizingRequest("ETH-USD", Side.SELL, Decimal(2500), Decimal("0.1"))
    assert size_of(size(sizer, request, RICH, MARKETS)) == Decimal(2)


def test_size_when_fixed_risk_with_stop_then_risk_over_stop_distance() -> None:
    sizer = PositionSizer(SizingPolicy.fixed_risk(Decimal("0.01")), WIDE)
    buy = SizingRequest("ETH-USD", Side.BUY, Decimal(2500), stop_price=Decimal(2400))
    assert size_of(size(sizer, buy, RICH, MARKETS)) == Decimal(1)  # 100 USDC / 100
    sell = SizingRequest(
        "ETH-USD", Side.SELL, Decimal(2500), Decimal("0.5"), stop_price=Decimal(2540)
    )
    assert size_of(size(sizer, sell, RICH, MARKETS)) == Decimal("1.25")  # 100 / 40 x 0.5


def test_size_when_volatility_target_then_risk_over_atr_times_multiple() -> None:
    sizer = PositionSizer(SizingPolicy.volatility_target(Decimal("0.01"), Decimal(2)), WIDE)
    request = SizingRequest("ETH-USD", Side.BUY, Decimal(2500), atr=Decimal(25))
    assert size_of(size(sizer, request, RICH, MARKETS)) == Decimal(2)


def test_size_when_signal_carries_a_hint_then_hint_replaces_policy_unscaled() -> None:
    sizer = PositionSizer(SizingPolicy.fixed_notional(Decimal(1000)), WIDE)
    notional = SizingRequest(
        "ETH-USD", Side.BUY, Decimal(2500), Decimal("0.5"), notional_hint=Decimal(5000)
    )
    assert size_of(size(sizer, notional, RICH, MARKETS)) == Decimal(2)
    fraction = SizingRequest(
        "ETH-USD", Side.BUY, Decimal(2500), Decimal("0.5"), equity_fraction_hint=Decimal("0.25")
    )
    assert size_of(size(sizer, fraction, RICH, MARKETS)) == Decimal(1)


def test_size_when_fixed_risk_stop_on_the_wrong_side_then_refused_invalid_input() -> None:
    sizer = PositionSizer(SizingPolicy.fixed_risk(Decimal("0.01")), WIDE)
    request = SizingRequest("ETH-USD", Side.BUY, Decimal(2500), stop_price=Decimal(2600))
    result = size(sizer, request, RICH, MARKETS)
    assert isinstance(result, Refused) and isinstance(result.error, InvalidInput)
    assert "losing side" in result.reason
    missing = size(sizer, SizingRequest("ETH-USD", Side.BUY, Decimal(2500)), RICH, MARKETS)
    assert isinstance(missing, Refused) and "stop price" in missing.reason


def test_size_when_volatility_target_without_atr_then_refused_invalid_input() -> None:
    sizer = PositionSizer(SizingPolicy.volatility_target(Decimal("0.01")), WIDE)
    result = size(sizer, SizingRequest("ETH-USD", Side.BUY, Decimal(2500)), RICH, MARKETS)
    assert isinstance(result, Refused) and isinstance(result.error, InvalidInput)


# -- caps ---------------------------------------------------------------------------------


def test_size_when_free_collateral_binds_then_largest_step_inside_the_buffer() -> None:
    limits = RiskLimits(
        max_leverage=Decimal(100), max_exposure=Decimal(100), free_collateral_buffer=Decimal(50)
    )
    sizer = PositionSizer(SizingPolicy.fixed_notional(Decimal(10**6)), limits)
    account = flat_account(Decimal(1000))
    request = SizingRequest("ETH-USD", Side.BUY, Decimal(2500), fee_ppm=500)
    result = size(sizer, request, account, MARKETS)
    assert isinstance(result, Sized) and result.bound_by is Bound.FREE_COLLATERAL
    # buffer = 50 + 5 % of 1,000 = 100; per ETH: 125 margin + 1.25 fee
    assert result.size == Decimal("7.128")
    assert (
        check_order(
            account, MARKETS, "ETH-USD", Side.BUY, result.size, Decimal(2500), limits, fee_ppm=500
        )
        is None
    )
    refusal = check_order(
        account,
        MARKETS,
        "ETH-USD",
        Side.BUY,
        result.size + ETH.step_size,
        Decimal(2500),
        limits,
        fee_ppm=500,
    )
    assert isinstance(refusal, InsufficientFreeCollateral)


def test_size_when_user_leverage_binds_then_position_notional_is_at_most_cap_times_equity() -> None:
    limits = RiskLimits(
        max_leverage=Decimal(2),
        max_exposure=Decimal(100),
        free_collateral_buffer_fraction=Decimal(0),
    )
    sizer = PositionSizer(SizingPolicy.fixed_notional(Decimal(10**6)), limits)
    result = size(sizer, SizingRequest("ETH-USD", Side.SELL, Decimal(2500)), RICH, MARKETS)
    assert isinstance(result, Sized) and result.bound_by is Bound.USER_LEVERAGE
    assert result.size == Decimal(8)  # 20,000 / 2,500


def test_size_when_exposure_binds_then_gross_notional_is_at_most_cap_times_equity() -> None:
    btc = make_market(
        "BTC-USD", oracle_price=Decimal(50_000), imf=Decimal("0.02"), atomic_resolution=-10
    )
    markets = {"ETH-USD": ETH, "BTC-USD": btc}
    account = flat_account(Decimal(-10_000), PerpetualPosition("BTC-USD", Decimal("0.4")))
    limits = RiskLimits(
        max_leverage=Decimal(10),
        max_exposure=Decimal(3),
        free_collateral_buffer_fraction=Decimal(0),
    )
    sizer = PositionSizer(SizingPolicy.fixed_notional(Decimal(10**6)), limits)
    result = size(sizer, SizingRequest("ETH-USD", Side.BUY, Decimal(2500)), account, markets)
    assert isinstance(result, Sized) and result.bound_by is Bound.EXPOSURE
    assert result.size == Decimal(4)  # 30,000 - 20,000 BTC = 10,000 of ETH


def test_size_when_market_notional_binds_then_position_notional_is_at_most_the_cap() -> None:
    limits = RiskLimits(
        max_leverage=Decimal(100), max_exposure=Decimal(100), max_market_notional=Decimal(3000)
    )
    account = flat_account(Decimal(10_000), PerpetualPosition("ETH-USD", Decimal("0.4")))
    sizer = PositionSizer(SizingPolicy.fixed_notional(Decimal(10**6)), limits)
    result = size(sizer, SizingRequest("ETH-USD", Side.BUY, Decimal(2500)), account, MARKETS)
    assert isinstance(result, Sized) and result.bound_by is Bound.MARKET_NOTIONAL
    assert result.size == Decimal("0.8")  # 1.2 ETH x 2,500 = 3,000


def test_size_when_selling_against_a_long_then_margin_is_needed_only_for_the_new_short() -> None:
    # 4 ETH long on 1,000 equity: 500 IMR, 500 free; buffer 5 % = 50.
    account = flat_account(
        Decimal(1000) - Decimal(10_000), PerpetualPosition("ETH-USD", Decimal(4))
    )
    limits = RiskLimits(max_leverage=Decimal(100), max_exposure=Decimal(100))
    sizer = PositionSizer(SizingPolicy.fixed_notional(Decimal(10**6)), limits)
    result = size(sizer, SizingRequest("ETH-USD", Side.SELL, Decimal(2500)), account, MARKETS)
    assert isinstance(result, Sized) and result.bound_by is Bound.FREE_COLLATERAL
    # Closing 4 frees their 500: the short may use 950 / 125 = 7.6 ETH.
    assert result.size == Decimal("11.6")
    assert (
        check_order(account, MARKETS, "ETH-USD", Side.SELL, result.size, Decimal(2500), limits)
        is None
    )


# -- refusals name the binding cap ----------------------------------------------------------


def test_size_when_no_free_collateral_left_then_refused_with_needs_and_free_numbers() -> None:
    account = flat_account(Decimal(500) - Decimal(10_000), PerpetualPosition("ETH-USD", Decimal(4)))
    sizer = PositionSizer(SizingPolicy.fixed_notional(Decimal(1000)), WIDE)
    btc = make_market(
        "BTC-USD", oracle_price=Decimal(50_000), imf=Decimal("0.02"), atomic_resolution=-10
    )
    markets = {"ETH-USD": ETH, "BTC-USD": btc}
    result = size(sizer, SizingRequest("BTC-USD", Side.BUY, Decimal(50_000)), account, markets)
    assert isinstance(result, Refused)
    assert isinstance(result.error, InsufficientFreeCollateral)
    assert result.reason == (
        "InsufficientFreeCollateral: a buy of 0.0001 BTC in BTC-USD needs 0.10 USDC "
        "initial margin, 0.00 free after the 0.00 USDC buffer"
    )
    assert result.lines[-1][0] == "refused"


def test_size_when_exposure_is_used_up_then_refused_with_exposure_error() -> None:
    account = flat_account(
        Decimal(5_000) - Decimal(25_000), PerpetualPosition("ETH-USD", Decimal(10))
    )
    limits = RiskLimits(max_leverage=Decimal(10), max_exposure=Decimal(5))
    sizer = PositionSizer(SizingPolicy.fixed_notional(Decimal(1000)), limits)
    result = size(sizer, SizingRequest("ETH-USD", Side.BUY, Decimal(2500)), account, MARKETS)
    assert isinstance(result, Refused) and isinstance(result.error, ExposureLimitExceeded)
    assert "above your cap of 5x" in result.reason


def test_size_when_policy_asks_less_than_one_step_then_below_minimum_order_size() -> None:
    sizer = PositionSizer(SizingPolicy.fixed_notional(Decimal(1)), WIDE)
    result = size(sizer, SizingRequest("ETH-USD", Side.BUY, Decimal(2500)), RICH, MARKETS)
    assert isinstance(result, Refused) and isinstance(result.error, BelowMinimumOrderSize)


def test_size_when_market_not_active_then_refused() -> None:
    paused = {"ETH-USD": make_market(oracle_price=Decimal(2500), status=MarketStatus.CANCEL_ONLY)}
    sizer = PositionSizer(SizingPolicy.fixed_notional(Decimal(1000)), WIDE)
    request = SizingRequest("ETH-USD", Side.BUY, Decimal(2500))
    result = size(sizer, request, RICH, paused)
    assert isinstance(result, Refused) and isinstance(result.error, MarketNotTradable)


def test_size_when_equity_is_negative_then_insufficient_free_collateral() -> None:
    account = flat_account(Decimal(-100))
    sizer = PositionSizer(SizingPolicy.fixed_notional(Decimal(1000)), WIDE)
    result = size(sizer, SizingRequest("ETH-USD", Side.BUY, Decimal(2500)), account, MARKETS)
    assert isinstance(result, Refused) and isinstance(result.error, InsufficientFreeCollateral)


# -- the pre-trade check -----------------------------------------------------------------------

LONG_2 = flat_account(Decimal(5000), PerpetualPosition("ETH-USD", Decimal(2)))


@pytest.mark.parametrize(
    ("side", "size", "reduce_only", "error"),
    [
        (Side.SELL, Decimal(1), True, None),
        (Side.SELL, Decimal(2), True, None),
        (Side.SELL, Decimal("2.001"), True, ReduceOnlyViolation),
        (Side.BUY, Decimal(1), True, ReduceOnlyViolation),
        (Side.SELL, Decimal("0.0005"), False, BelowMinimumOrderSize),
        (Side.SELL, Decimal("1.0005"), False, InvalidInput),
        (Side.SELL, Decimal(-1), False, InvalidInput),
        (Side.BUY, Decimal(100), False, LeverageLimitExceeded),
    ],
)
def test_check_order_when_given_order_then_expected_verdict(
    side: Side, size: Decimal, reduce_only: bool, error: type[Exception] | None
) -> None:
    limits = RiskLimits(max_leverage=Decimal(100), max_exposure=Decimal(100))
    verdict = check_order(
        LONG_2, MARKETS, "ETH-USD", side, size, Decimal(2500), limits, reduce_only=reduce_only
    )
    if error is None:
        assert verdict is None
    else:
        assert isinstance(verdict, error), verdict


def test_check_order_when_reduce_only_and_flat_then_nothing_to_reduce() -> None:
    verdict = check_order(
        RICH, MARKETS, "ETH-USD", Side.SELL, Decimal(1), Decimal(2500), WIDE, reduce_only=True
    )
    assert isinstance(verdict, ReduceOnlyViolation)
    assert "no position" in verdict.message


def test_check_order_when_market_max_leverage_exceeded_then_leverage_error_names_the_market() -> (
    None
):
    verdict = check_order(RICH, MARKETS, "ETH-USD", Side.BUY, Decimal(81), Decimal(2500), WIDE)
    assert isinstance(verdict, LeverageLimitExceeded)
    assert "market's maximum of 20.00x" in verdict.message


def test_check_order_when_per_market_notional_exceeded_then_notional_limit() -> None:
    limits = RiskLimits(max_market_notional=Decimal(4000))
    verdict = check_order(RICH, MARKETS, "ETH-USD", Side.BUY, Decimal(2), Decimal(2500), limits)
    assert isinstance(verdict, NotionalLimitExceeded)
    assert verdict.numbers["cap"] == Decimal(4000)


def test_check_order_when_over_leveraged_account_reduces_then_allowed() -> None:
    over = flat_account(Decimal(1000) - Decimal(37_500), PerpetualPosition("ETH-USD", Decimal(15)))
    limits = RiskLimits(max_leverage=Decimal(3), max_exposure=Decimal(3))
    assert (
        check_order(over, MARKETS, "ETH-USD", Side.SELL, Decimal(1), Decimal(2500), limits) is None
    )
    adding = check_order(over, MARKETS, "ETH-USD", Side.BUY, Decimal(1), Decimal(2500), limits)
    assert isinstance(adding, LeverageLimitExceeded)


def test_check_order_when_market_cancel_only_then_not_tradable() -> None:
    paused = {"ETH-USD": make_market(oracle_price=Decimal(2500), status=MarketStatus.CANCEL_ONLY)}
    verdict = check_order(LONG_2, paused, "ETH-USD", Side.SELL, Decimal(1), Decimal(2500), WIDE)
    assert isinstance(verdict, MarketNotTradable)


# -- construction refuses bad numbers ------------------------------------------------------------

BAD = [
    Decimal("NaN"),
    Decimal("sNaN"),
    Decimal("Infinity"),
    Decimal("-Infinity"),
    Decimal("-1"),
    Decimal("1e20"),
]


@pytest.mark.parametrize("bad", BAD, ids=str)
def test_limits_policy_request_when_non_finite_or_negative_then_invalid_input(bad: Decimal) -> None:
    for build in (
        lambda: RiskLimits(max_leverage=bad),
        lambda: RiskLimits(max_exposure=bad),
        lambda: RiskLimits(max_market_notional=bad),
        lambda: RiskLimits(free_collateral_buffer=bad),
        lambda: RiskLimits(free_collateral_buffer_fraction=bad),
        lambda: SizingPolicy.fixed_notional(bad),
        lambda: SizingPolicy.of_equity(bad),
        lambda: SizingPolicy.fixed_risk(bad),
        lambda: SizingPolicy.volatility_target(Decimal("0.01"), bad),
        lambda: SizingRequest("ETH-USD", Side.BUY, bad),
        lambda: SizingRequest("ETH-USD", Side.BUY, Decimal(1), bad),
        lambda: SizingRequest("ETH-USD", Side.BUY, Decimal(1), stop_price=bad),
        lambda: SizingRequest("ETH-USD", Side.BUY, Decimal(1), atr=bad),
        lambda: SizingRequest("ETH-USD", Side.BUY, Decimal(1), notional_hint=bad),
    ):
        with pytest.raises(InvalidInput):
            build()


def test_policy_when_kind_given_by_name_then_accepted_and_unknown_name_refused() -> None:
    policy = SizingPolicy("fixed_risk", risk_fraction=Decimal("0.01"))  # type: ignore[arg-type]
    assert policy.kind is PolicyKind.FIXED_RISK
    with pytest.raises(InvalidInput, match="unknown sizing kind"):
        SizingPolicy("martingale", notional=Decimal(1))  # type: ignore[arg-type]


def test_policy_when_kind_lacks_its_parameter_then_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="needs a notional"):
        SizingPolicy(PolicyKind.FIXED_NOTIONAL)
    with pytest.raises(InvalidInput):
        SizingRequest(
            "ETH-USD",
            Side.BUY,
            Decimal(1),
            notional_hint=Decimal(1),
            equity_fraction_hint=Decimal("0.1"),
        )
    with pytest.raises(InvalidInput):
        SizingRequest("ETH-USD", Side.BUY, Decimal(1), Decimal("1.5"))  # confidence > 1


# -- properties ------------------------------------------------------------

SAMPLE = sample_markets()
finite_or_not = st.one_of(
    st.decimals(allow_nan=True, allow_infinity=True).filter(lambda d: not d.is_finite()),
    st.decimals(max_value=Decimal("-1e-9"), allow_nan=False, allow_infinity=False),
)


@settings(max_examples=60)
@given(bad=finite_or_not)
def test_inputs_when_non_finite_or_negative_then_always_invalid_input(bad: Decimal) -> None:
    with pytest.raises(InvalidInput):
        RiskLimits(max_leverage=bad)
    with pytest.raises(InvalidInput):
        SizingPolicy.fixed_notional(bad)
    with pytest.raises(InvalidInput):
        SizingRequest("ETH-USD", Side.BUY, bad)
    with pytest.raises(InvalidInput):
        check_order(RICH, SAMPLE, "ETH-USD", Side.BUY, Decimal(1), bad, WIDE)
    with pytest.raises(InvalidInput):
        SAMPLE["ETH-USD"].size_to_quantums(bad)


policies = st.one_of(
    st.builds(SizingPolicy.fixed_notional, st.decimals(min_value=1, max_value=10**6, places=2)),
    st.builds(SizingPolicy.of_equity, st.decimals(min_value="0.01", max_value=20, places=2)),
    st.builds(SizingPolicy.fixed_risk, st.decimals(min_value="0.001", max_value="0.2", places=3)),
    st.builds(
        SizingPolicy.volatility_target, st.decimals(min_value="0.001", max_value="0.2", places=3)
    ),
)
limits_strategy = st.builds(
    RiskLimits,
    max_leverage=st.decimals(min_value="0.5", max_value=50, places=1),
    max_exposure=st.decimals(min_value="0.5", max_value=50, places=1),
    max_market_notional=st.one_of(st.none(), st.decimals(min_value=10, max_value=10**6, places=0)),
    free_collateral_buffer=st.decimals(min_value=0, max_value=500, places=2),
    free_collateral_buffer_fraction=st.decimals(min_value=0, max_value="0.5", places=2),
)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[AccountSnapshot, SizingRequest]:
    positions = []
    for spec in draw(
        st.lists(st.sampled_from(list(SAMPLE.values())), unique_by=lambda s: s.ticker)
    ):
        assert spec.oracle_price is not None
        notional = draw(st.integers(min_value=-50_000, max_value=50_000).filter(bool))
        steps = int(Decimal(notional) / spec.oracle_price / spec.step_size) or 1
        positions.append(PerpetualPosition(spec.ticker, spec.step_size * steps))
    usdc = draw(st.decimals(min_value=-50_000, max_value=100_000, places=6))
    spec = draw(st.sampled_from(list(SAMPLE.values())))
    side = draw(st.sampled_from(Side))
    assert spec.oracle_price is not None
    slip = draw(st.integers(min_value=-200, max_value=200))  # basis points from oracle
    price = spec.subticks_to_price(
        spec.price_to_subticks(spec.oracle_price * (1 + Decimal(slip) / 10_000), side)
    )
    stop_distance = price * Decimal(draw(st.integers(min_value=10, max_value=2000))) / 10_000
    request = SizingRequest(
        spec.ticker,
        side,
        price,
        Decimal(draw(st.integers(min_value=0, max_value=100))) / 100,
        stop_price=price - stop_distance * side.sign,
        atr=stop_distance,
        fee_ppm=draw(st.sampled_from([0, 100, 500, -110])),
    )
    return flat_account(usdc, *positions), request


def _assert_within_caps(
    account: AccountSnapshot, request: SizingRequest, amount: Decimal, limits: RiskLimits
) -> None:
    """Re-derive every cap from the account's integer figures after the fill."""
    before = margin_state(account, SAMPLE)
    math = SAMPLE[request.market].math
    delta = amount * request.side.sign
    after = before.after_trade(
        math, math.base_quantums(delta), fill_cash_flow(delta, request.price, request.fee_ppm)
    )
    held = account.position_size(request.market)
    opens = held == 0 or (held > 0) == (delta > 0) or abs(delta) > abs(held)
    if not opens:
        assert chain_outcome(before, after) == chain_math.SUCCESS
        return
    assert after.line is not None
    notional = usdc(abs(after.line.notional))
    equity = usdc(after.net_collateral)
    assert equity > 0
    assert notional <= limits.max_leverage * equity
    # The IMF at the open interest the trade brings (never below today's).
    assert after.line.imf_ppm >= before.imf_ppm(math)
    assert notional * after.line.imf_ppm <= equity * PPM
    assert usdc(after.gross_notional) <= limits.max_exposure * equity
    if limits.max_market_notional is not None:
        assert notional <= limits.max_market_notional
    buffer = limits.buffer_quantums(before.net_collateral)
    assert after.sizing_free_collateral >= buffer
    assert after.chain_free_collateral >= buffer


@settings(max_examples=120, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=scenarios(), policy=policies, limits=limits_strategy)
def test_size_when_any_scenario_then_whole_steps_within_every_cap_and_passes_the_check(
    scenario: tuple[AccountSnapshot, SizingRequest], policy: SizingPolicy, limits: RiskLimits
) -> None:
    account, request = scenario
    result = size(PositionSizer(policy, limits), request, account, SAMPLE)
    if isinstance(result, Refused):
        assert result.reason  # a refusal always says why
        return
    spec = SAMPLE[request.market]
    assert result.size > 0
    assert spec.quantize_size(result.size) == result.size
    assert result.quantums == spec.size_to_quantums(result.size)
    assert result.quantums % spec.step_base_quantums == 0
    _assert_within_caps(account, request, result.size, limits)
    assert (
        check_order(
            account,
            SAMPLE,
            request.market,
            request.side,
            result.size,
            request.price,
            limits,
            fee_ppm=request.fee_ppm,
        )
        is None
    )


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(
    scenario=scenarios(),
    policy=policies,
    limits=limits_strategy,
    extra=st.decimals(min_value=0, max_value=100_000, places=6),
)
def test_size_when_equity_grows_then_size_never_shrinks(
    scenario: tuple[AccountSnapshot, SizingRequest],
    policy: SizingPolicy,
    limits: RiskLimits,
    extra: Decimal,
) -> None:
    account, request = scenario
    richer = flat_account(account.usdc_balance + extra, *account.positions)
    sizer = PositionSizer(policy, limits)
    poorer_result = size(sizer, request, account, SAMPLE)
    richer_result = size(sizer, request, richer, SAMPLE)
    poorer_size = poorer_result.size if isinstance(poorer_result, Sized) else Decimal(0)
    richer_size = richer_result.size if isinstance(richer_result, Sized) else Decimal(0)
    assume(
        not isinstance(richer_result, Refused) or not isinstance(richer_result.error, InvalidInput)
    )
    assert richer_size >= poorer_size, (poorer_result.lines, richer_result.lines)


@settings(max_examples=60)
@given(scenario=scenarios(), limits=limits_strategy)
def test_check_order_when_any_order_then_never_raises_only_answers(
    scenario: tuple[AccountSnapshot, SizingRequest], limits: RiskLimits
) -> None:
    account, request = scenario
    spec = SAMPLE[request.market]
    for steps in (1, 7, 10_000):
        verdict = check_order(
            account,
            SAMPLE,
            request.market,
            request.side,
            spec.step_size * steps,
            request.price,
            limits,
            fee_ppm=request.fee_ppm,
        )
        if verdict is None:
            _assert_within_caps(account, request, spec.step_size * steps, limits)


def test_check_order_when_size_quantums_disagree_then_uses_market_grid() -> None:
    assert isinstance(
        check_order(
            RICH,
            {"X-USD": make_market("X-USD", oracle_price=Decimal(3))},
            "X-USD",
            Side.BUY,
            Decimal("0.0001"),
            Decimal(3),
            WIDE,
        ),
        BelowMinimumOrderSize,
    )


def test_size_when_indexer_reports_less_free_collateral_then_the_sizer_uses_it() -> None:
    account = AccountSnapshot("dydx1test", 0, Decimal(1000), indexer_free_collateral=Decimal(200))
    limits = RiskLimits(max_leverage=Decimal(100), max_exposure=Decimal(100))
    sizer = PositionSizer(SizingPolicy.fixed_notional(Decimal(10**6)), limits)
    result = size(sizer, SizingRequest("ETH-USD", Side.BUY, Decimal(2500)), account, MARKETS)
    assert isinstance(result, Sized) and result.bound_by is Bound.FREE_COLLATERAL
    # (200 reported - 50 buffer) / (2,500 x 0.05) = 1.2 ETH, not the chain's 7.6
    assert result.size == Decimal("1.2")
    assert ("free collateral (most conservative view)", "200.00 USDC") in result.lines


# -- the free-collateral cap (protocol reference 2.6, derived) ---------------------------------

ETH_2PCT = make_market(oracle_price=Decimal("3103.01"), imf=Decimal("0.02"))
ONLY_COLLATERAL = RiskLimits(
    max_leverage=Decimal(100), max_exposure=Decimal(100), free_collateral_buffer_fraction=Decimal(0)
)
ALL_IN = PositionSizer(SizingPolicy.fixed_notional(Decimal(10**7)), ONLY_COLLATERAL)


def largest(account: AccountSnapshot, side: Side, price: Decimal, fee_ppm: int = 0) -> Decimal:
    request = SizingRequest("ETH-USD", side, price, fee_ppm=fee_ppm)
    result = size(ALL_IN, request, account, {"ETH-USD": ETH_2PCT})
    assert isinstance(result, Sized) and result.bound_by is Bound.FREE_COLLATERAL, result.lines
    return result.size


def test_size_when_ioc_buy_at_oracle_taker_5bps_then_15_720() -> None:
    assert largest(flat_account(Decimal(1000)), Side.BUY, Decimal("3103.01"), 500) == Decimal(
        "15.720"
    )


def test_size_when_resting_buy_one_percent_above_oracle_then_10_706() -> None:
    assert largest(flat_account(Decimal(1000)), Side.BUY, Decimal("3134.0401"), 100) == Decimal(
        "10.706"
    )


def test_size_when_buy_below_oracle_then_the_discount_is_not_credited() -> None:
    limit = Decimal("3071.9799")
    # Chain placement would accept 31.910 (the discount counts at oracle), but the
    # match re-checks at the then-current oracle: size as if filled at oracle.
    expected = (Decimal(1000) / (Decimal("3103.01") * Decimal("0.02") + limit / 10_000)).quantize(
        Decimal("0.001"), ROUND_FLOOR
    )
    assert largest(flat_account(Decimal(1000)), Side.BUY, limit, 100) == expected


def test_size_when_short_held_then_buy_closes_it_and_opens_with_freed_margin() -> None:
    account = flat_account(
        Decimal(1000) + Decimal("3103.01") * 5, PerpetualPosition("ETH-USD", Decimal(-5))
    )
    # Closing 5 frees their margin: the long side then has the whole $1,000 to use.
    assert largest(account, Side.BUY, Decimal("3103.01")) == Decimal(5) + Decimal("16.113")


def test_size_when_buffer_exceeds_free_collateral_then_refused_insufficient() -> None:
    limits = RiskLimits(max_leverage=Decimal(100), free_collateral_buffer=Decimal(1000))
    sizer = PositionSizer(SizingPolicy.fixed_notional(Decimal(10**6)), limits)
    request = SizingRequest("ETH-USD", Side.SELL, Decimal("3103.01"))
    result = size(sizer, request, flat_account(Decimal(1000)), {"ETH-USD": ETH_2PCT})
    assert isinstance(result, Refused) and isinstance(result.error, InsufficientFreeCollateral)
    assert result.bound_by is Bound.FREE_COLLATERAL
