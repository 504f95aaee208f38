"""Exact size <-> quantums and price <-> subticks conversions (protocol reference 2.10 I, 3.1)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from dydx_trader.domain.chain_math import fill_amount_to_quote_quantums
from dydx_trader.domain.errors import BelowMinimumOrderSize, InvalidInput
from dydx_trader.domain.market import MarketSpec, price_parts
from dydx_trader.domain.numbers import ABSURD
from dydx_trader.domain.side import Side
from kit.markets import make_market

BTC = make_market(
    "BTC-USD",
    oracle_price=Decimal("65000"),
    atomic_resolution=-10,
    quantum_conversion_exponent=-9,
    step_base_quantums=1_000_000,
    subticks_per_tick=100_000,
)
# The 8.45 example of section 2.10 I: atomic resolution -7, qce -9, 1e6 subticks per tick.
SOL_LIKE = make_market(
    "SOL-USD",
    oracle_price=Decimal("135.3"),
    atomic_resolution=-7,
    quantum_conversion_exponent=-9,
    step_base_quantums=1_000_000,
    subticks_per_tick=1_000_000,
)


def test_size_to_quantums_when_0_0003_btc_then_exactly_3_000_000() -> None:
    # dydx-v4-client 1.1.5 floors the float 2999999.9999999995 to 2,000,000.
    assert BTC.size_to_quantums(Decimal("0.0003")) == 3_000_000


def test_price_to_subticks_when_8_45_then_exactly_845_000_000() -> None:
    # dydx-v4-client 1.1.5 gives 844,000,000.
    assert SOL_LIKE.price_to_subticks(Decimal("8.45"), Side.BUY) == 845_000_000
    assert SOL_LIKE.price_to_subticks(Decimal("8.45"), Side.SELL) == 845_000_000


def test_price_to_subticks_when_btc_65000_then_reference_value() -> None:
    assert BTC.price_to_subticks(Decimal("65000"), Side.BUY) == 6_500_000_000
    assert BTC.subticks_to_price(100_000) == Decimal(1)


def test_size_to_quantums_when_absurdly_large_then_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="absurdly large"):
        BTC.size_to_quantums(ABSURD)


def test_size_to_quantums_when_below_one_step_then_refused_never_bumped() -> None:
    with pytest.raises(BelowMinimumOrderSize) as raised:
        BTC.size_to_quantums(Decimal("0.00009"))
    assert raised.value.numbers["step_size"] == Decimal("0.0001")
    assert BTC.quantize_size(Decimal("0.00009")) == 0


def test_size_to_quantums_when_between_steps_then_floored_to_the_step() -> None:
    assert BTC.size_to_quantums(Decimal("0.00039")) == 3_000_000
    assert BTC.quantize_size(Decimal("0.00039")) == Decimal("0.0003")


def test_price_to_subticks_when_between_ticks_then_passive_side_unless_aggressive() -> None:
    price = Decimal("65000.5")
    assert BTC.price_to_subticks(price, Side.BUY) == 6_500_000_000  # buy rounds down
    assert BTC.price_to_subticks(price, Side.SELL) == 6_500_100_000  # sell rounds up
    assert BTC.price_to_subticks(price, Side.BUY, aggressive=True) == 6_500_100_000
    assert BTC.price_to_subticks(price, Side.SELL, aggressive=True) == 6_500_000_000


def test_price_to_subticks_when_below_one_tick_then_refused() -> None:
    with pytest.raises(InvalidInput, match="below one tick"):
        BTC.price_to_subticks(Decimal("0.5"), Side.BUY)


@pytest.mark.parametrize(
    "bad", [Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity"), Decimal("-1"), Decimal(0)]
)
def test_conversions_when_non_finite_or_not_positive_then_invalid_input(bad: Decimal) -> None:
    with pytest.raises(InvalidInput):
        BTC.size_to_quantums(bad)
    with pytest.raises(InvalidInput):
        BTC.price_to_subticks(bad, Side.BUY)


def test_price_parts_when_decimal_price_then_exact_integer_pair() -> None:
    assert price_parts(Decimal("2914.962518")) == (2914962518, -6)
    assert price_parts(Decimal("65000")) == (65, 3)
    assert price_parts(Decimal("0.00001230")) == (123, -7)


# -- properties ---------------------------------------------------------------------------

markets = st.builds(
    lambda ar, qce, sbq_exp, spt_exp: make_market(
        "X-USD",
        oracle_price=Decimal(1),
        atomic_resolution=ar,
        quantum_conversion_exponent=qce,
        step_base_quantums=10**sbq_exp,
        subticks_per_tick=10**spt_exp,
    ),
    st.integers(min_value=-10, max_value=1),
    st.integers(min_value=-10, max_value=-4),
    st.integers(min_value=0, max_value=7),
    st.integers(min_value=0, max_value=7),
)


@settings(max_examples=150)
@given(spec=markets, steps=st.integers(min_value=1, max_value=10**9))
def test_size_round_trip_when_whole_steps_then_exact(spec: MarketSpec, steps: int) -> None:
    quantums = steps * spec.step_base_quantums
    size = spec.quantums_to_size(quantums)
    assume(size < ABSURD)  # larger sizes are refused as absurd, tested elsewhere
    assert spec.size_to_quantums(size) == quantums
    assert spec.quantize_size(size) == size
    assert size == spec.step_size * steps


@settings(max_examples=150)
@given(
    spec=markets,
    size=st.decimals(min_value=Decimal("1e-12"), max_value=Decimal("1e9"), places=12),
)
def test_quantize_size_when_any_size_then_whole_steps_never_above(
    spec: MarketSpec, size: Decimal
) -> None:
    quantized = spec.quantize_size(size)
    assert quantized <= size
    assert size - quantized < spec.step_size
    assert (quantized / spec.step_size) == (quantized / spec.step_size).to_integral_value()


@settings(max_examples=150)
@given(spec=markets, ticks=st.integers(min_value=1, max_value=10**9), side=st.sampled_from(Side))
def test_price_round_trip_when_on_tick_then_exact_both_ways(
    spec: MarketSpec, ticks: int, side: Side
) -> None:
    subticks = ticks * spec.subticks_per_tick
    price = spec.subticks_to_price(subticks)
    assume(price < ABSURD)
    assert spec.price_to_subticks(price, side) == subticks
    assert spec.price_to_subticks(price, side, aggressive=True) == subticks


@settings(max_examples=150)
@given(
    spec=markets,
    price=st.decimals(min_value=Decimal("1e-6"), max_value=Decimal("1e7"), places=9),
    side=st.sampled_from(Side),
)
def test_price_to_subticks_when_off_tick_then_rounded_to_the_passive_side(
    spec: MarketSpec, price: Decimal, side: Side
) -> None:
    try:
        subticks = spec.price_to_subticks(price, side)
    except InvalidInput:
        assert price < spec.tick_size  # only a price below one tick is refused
        return
    assert subticks % spec.subticks_per_tick == 0
    rounded = spec.subticks_to_price(subticks)
    if side is Side.BUY:
        assert price - spec.tick_size < rounded <= price
    else:
        assert price <= rounded < price + spec.tick_size


@settings(max_examples=100)
@given(
    steps=st.integers(min_value=1, max_value=10**6), ticks=st.integers(min_value=1, max_value=10**7)
)
def test_fill_notional_when_on_tick_then_chain_formula_equals_size_times_price(
    steps: int, ticks: int
) -> None:
    quantums = steps * BTC.step_base_quantums
    subticks = ticks * BTC.subticks_per_tick
    exact = BTC.quantums_to_size(quantums) * BTC.subticks_to_price(subticks) * 10**6
    assert fill_amount_to_quote_quantums(subticks, quantums, -9) == int(exact)
