"""A trade's fee and slippage lower the equity every other position is measured
against: the user's leverage cap holds for each of them after the trade too.

Found by the fault soak (seed 64): BTC sat at 0.9994x of a 1x cap; a SOL buy's
fee and slippage took it to 1.0004x on the venue.
"""

from __future__ import annotations

from decimal import Decimal

from dydx_trader.domain.account import PerpetualPosition
from dydx_trader.domain.errors import LeverageLimitExceeded
from dydx_trader.domain.margin import margin_state
from dydx_trader.domain.pre_trade import RiskLimits, evaluate_order
from dydx_trader.domain.proposal import OrderProposal
from dydx_trader.domain.side import Side
from dydx_trader.domain.sizing import Bound, PositionSizer, Sized
from dydx_trader.domain.sizing_policy import SizingPolicy, SizingRequest
from kit.markets import flat_account, sample_markets

MARKETS = sample_markets()
BTC, ETH = MARKETS["BTC-USD"], MARKETS["ETH-USD"]
ONE_X = RiskLimits(
    max_leverage=Decimal(1), max_exposure=Decimal(10), free_collateral_buffer_fraction=Decimal(0)
)
FEE_PPM = 500
WORST_ETH = Decimal("3118.50")  # the oracle, 3103.01, plus 50 bps: a tick multiple


def _btc_at(leverage: Decimal) -> object:
    """An account whose 0.1 BTC position sits at ``leverage`` x its equity."""
    assert BTC.oracle_price is not None
    notional = Decimal("0.1") * BTC.oracle_price
    equity = (notional / leverage).quantize(Decimal("0.000001"))
    return margin_state(
        flat_account(equity - notional, PerpetualPosition("BTC-USD", Decimal("0.1"))), MARKETS
    )


def _buy_eth(size: Decimal) -> OrderProposal:
    return OrderProposal("ETH-USD", Side.BUY, size, WORST_ETH, FEE_PPM)


def test_evaluate_order_when_its_costs_push_another_position_past_the_cap_then_refused() -> None:
    state = _btc_at(Decimal("0.999"))

    refusal = evaluate_order(state, ETH.math, _buy_eth(Decimal(1)), ONE_X)  # type: ignore[arg-type]

    assert isinstance(refusal, LeverageLimitExceeded)
    assert refusal.numbers["market"] == "BTC-USD" and refusal.numbers["leverage"] > 1
    assert "BTC-USD would be at" in refusal.message and "fee and slippage" in refusal.message


def test_size_when_another_position_sits_near_the_cap_then_sized_within_what_costs_leave() -> None:
    state = _btc_at(Decimal("0.999"))
    sizer = PositionSizer(SizingPolicy.of_equity(Decimal("0.5")), ONE_X)
    request = SizingRequest("ETH-USD", Side.BUY, WORST_ETH, fee_ppm=FEE_PPM)

    sized = sizer.size(request, (state,), ETH.math)  # type: ignore[arg-type]

    assert isinstance(sized, Sized) and sized.bound_by is Bound.OTHER_LEVERAGE
    assert evaluate_order(state, ETH.math, _buy_eth(sized.size), ONE_X) is None  # type: ignore[arg-type]
    one_more = sized.size + ETH.step_size
    assert evaluate_order(state, ETH.math, _buy_eth(one_more), ONE_X) is not None  # type: ignore[arg-type]


def test_size_when_another_position_is_already_past_the_cap_then_refused_naming_it() -> None:
    state = _btc_at(Decimal("1.01"))
    sizer = PositionSizer(SizingPolicy.of_equity(Decimal("0.5")), ONE_X)
    request = SizingRequest("ETH-USD", Side.BUY, WORST_ETH, fee_ppm=FEE_PPM)

    refused = sizer.size(request, (state,), ETH.math)  # type: ignore[arg-type]

    assert not isinstance(refused, Sized)
    assert isinstance(refused.error, LeverageLimitExceeded)
    assert refused.error.numbers["market"] == "BTC-USD"
