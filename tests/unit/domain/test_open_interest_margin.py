"""An order's own effect on open interest: in a market between its open-interest caps,
the chain values a match at the IMF of the open interest *after* it, so the pre-trade
check and the sizer do too (fidelity review section 0, #7)."""

from __future__ import annotations

from decimal import Decimal

from dydx_trader.domain.account import PerpetualPosition
from dydx_trader.domain.errors import LeverageLimitExceeded
from dydx_trader.domain.margin import chain_math, fill_cash_flow, margin_state
from dydx_trader.domain.pre_trade import RiskLimits, evaluate_order
from dydx_trader.domain.proposal import OrderProposal
from dydx_trader.domain.side import Side
from dydx_trader.domain.sizing import Bound, PositionSizer, Sized
from dydx_trader.domain.sizing_policy import SizingPolicy, SizingRequest
from kit.markets import flat_account, make_market

# The devnet's OITEST-USD: IMF 0.2, caps 5M / 10M USDC, 3000 units at 2500 = 7.5M of
# open interest, so its IMF is 0.2 + 0.8 x 2.5M / 5M = 0.6, and each unit opened adds
# 2500 USDC of open interest: 0.0004 of IMF.
OITEST = make_market(
    "OITEST-USD",
    oracle_price=Decimal(2500),
    imf=Decimal("0.2"),
    mmf=Decimal("0.1"),
    open_interest=Decimal(3000),
    lower_cap=Decimal(5_000_000),
    upper_cap=Decimal(10_000_000),
    subticks_per_tick=1_000_000,
    clob_pair_id=1000,
)
UNCAPPED = make_market(oracle_price=Decimal(2500), imf=Decimal("0.2"))
MARKETS = {"OITEST-USD": OITEST, "ETH-USD": UNCAPPED}
NO_BUFFER = RiskLimits(
    max_leverage=Decimal(100), max_exposure=Decimal(100), free_collateral_buffer_fraction=Decimal(0)
)
RICH = flat_account(Decimal(10_000))


def _chain_initial(position_size: Decimal, opened: Decimal) -> int:
    """The chain's initial margin of the position with the open interest raised by ``opened``."""
    spec = OITEST
    initial, _ = chain_math.margin_requirements(
        spec.math.base_quantums(position_size),
        spec.atomic_resolution,
        2500,
        0,
        spec.initial_margin_ppm,
        spec.maintenance_fraction_ppm,
        spec.open_interest_base_quantums + spec.math.base_quantums(opened),
        spec.open_interest_lower_cap_quantums,
        spec.open_interest_upper_cap_quantums,
    )
    return initial


def test_after_trade_when_opening_between_caps_then_imf_at_the_open_interest_after() -> None:
    state = margin_state(RICH, MARKETS)
    math = OITEST.math

    after = state.after_trade(math, math.base_quantums(Decimal(4)), -10_000_000_000)

    assert math.initial_margin_ppm == 600_000
    assert after.line is not None and after.line.imf_ppm == 601_600
    assert after.initial == _chain_initial(Decimal(4), Decimal(4))


def test_after_trade_when_reducing_then_open_interest_not_raised() -> None:
    long_4 = PerpetualPosition("OITEST-USD", Decimal(4), Decimal(2500))
    state = margin_state(flat_account(Decimal(0), long_4), MARKETS)
    math = OITEST.math

    after = state.after_trade(math, -math.base_quantums(Decimal(1)), 2_500_000_000)

    assert after.line is not None and after.line.imf_ppm == 600_000


def test_after_trade_when_market_has_no_caps_then_imf_unchanged() -> None:
    state = margin_state(RICH, MARKETS)
    math = UNCAPPED.math

    after = state.after_trade(math, math.base_quantums(Decimal(4)), -10_000_000_000)

    assert math.open_interest_headroom is None
    assert after.line is not None and after.line.imf_ppm == 200_000


def test_check_when_order_fits_only_at_todays_imf_then_refused_at_the_imf_it_brings() -> None:
    # 16,665 USDC needs 9,999 USDC at IMF 0.6 (1.667x), but 10,043 at the 0.60267 it brings.
    order = OrderProposal("OITEST-USD", Side.BUY, Decimal("6.666"), Decimal(2500))
    state = margin_state(RICH, MARKETS)

    refusal = evaluate_order(state, OITEST.math, order, NO_BUFFER)

    assert isinstance(refusal, LeverageLimitExceeded)
    assert "market's maximum of 1.66x" in refusal.message
    assert 16_665 * Decimal("0.6") < 10_000  # what ignoring the order's own open interest saw


def test_size_when_market_between_caps_then_fits_at_the_imf_its_own_open_interest_brings() -> None:
    sizer = PositionSizer(SizingPolicy.of_equity(Decimal(10), scale_by_confidence=False), NO_BUFFER)
    request = SizingRequest(market="OITEST-USD", side=Side.BUY, price=Decimal(2500))
    state = margin_state(RICH, MARKETS)

    sized = sizer.size(request, (state,), OITEST.math)

    assert isinstance(sized, Sized), sized.lines
    assert sized.bound_by is Bound.FREE_COLLATERAL
    assert evaluate_order(state, OITEST.math, _buy(sized.size), NO_BUFFER) is None
    # As the chain sees the match: net collateral covers the IMR at the new open interest.
    cash = fill_cash_flow(sized.size, Decimal(2500), 0)
    assert 10_000_000_000 + cash + int(sized.size * 2500 * 10**6) >= _chain_initial(
        sized.size, sized.size
    )
    # ... and not much less than fits: within two steps of the largest size that passes.
    assert evaluate_order(state, OITEST.math, _buy(sized.size + Decimal("0.002")), NO_BUFFER)
    assert sized.size > Decimal("6.6")


def _buy(size: Decimal) -> OrderProposal:
    return OrderProposal("OITEST-USD", Side.BUY, size, Decimal(2500))
