"""Differential: the devnet's chain math and the trader's ``chain_math`` agree on random states.

The two are written independently (``dydx_devnet.chain`` and
``dydx_trader.domain.chain_math``), so a rounding slip in either shows up here
as well as in the shared Go vectors.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from dydx_devnet.chain import big_math, quantums
from dydx_devnet.chain.liquidity_tier import LiquidityTier
from dydx_devnet.chain.margin import Perpetual, Risk, is_valid_state_transition
from dydx_devnet.fees import fee_quote_quantums
from dydx_trader.domain import chain_math

atomic_resolutions = st.integers(min_value=-12, max_value=4)
price_values = st.integers(min_value=1, max_value=10**13)
price_exponents = st.integers(min_value=-14, max_value=2)
base_amounts = st.integers(min_value=-(10**16), max_value=10**16)
ppms = st.integers(min_value=0, max_value=1_000_000)


@st.composite
def tiers(draw: st.DrawFn, *, scaled: bool) -> LiquidityTier:
    lower = draw(st.integers(min_value=0, max_value=10**14)) if scaled else 0
    upper = lower + draw(st.integers(min_value=1, max_value=10**14)) if scaled else 0
    return LiquidityTier(draw(ppms), draw(ppms), lower, upper)


@st.composite
def perpetuals(draw: st.DrawFn, *, scaled: bool) -> Perpetual:
    return Perpetual(
        atomic_resolution=draw(atomic_resolutions),
        price_value=draw(price_values),
        price_exponent=draw(price_exponents),
        liquidity_tier=draw(tiers(scaled=scaled)),
        open_interest=draw(st.integers(min_value=0, max_value=10**16)),
    )


def _trader_requirements(perpetual: Perpetual, position: int) -> tuple[int, int]:
    tier = perpetual.liquidity_tier
    return chain_math.margin_requirements(
        position,
        perpetual.atomic_resolution,
        perpetual.price_value,
        perpetual.price_exponent,
        tier.initial_margin_ppm,
        tier.maintenance_fraction_ppm,
        perpetual.open_interest,
        tier.open_interest_lower_cap,
        tier.open_interest_upper_cap,
    )


@settings(max_examples=300, deadline=None)
@given(perpetual=perpetuals(scaled=False), position=base_amounts)
def test_margin_requirements_when_no_open_interest_scaling_then_both_agree(
    perpetual: Perpetual, position: int
) -> None:
    assert perpetual.margin_requirements(position) == _trader_requirements(perpetual, position)


@settings(max_examples=300, deadline=None)
@given(perpetual=perpetuals(scaled=True), position=base_amounts)
def test_margin_requirements_when_open_interest_scales_the_imf_then_both_agree(
    perpetual: Perpetual, position: int
) -> None:
    assert perpetual.margin_requirements(position) == _trader_requirements(perpetual, position)


@settings(max_examples=300, deadline=None)
@given(
    amount=base_amounts,
    atomic_resolution=atomic_resolutions,
    price=price_values,
    exponent=price_exponents,
)
def test_quantum_conversions_when_random_then_both_agree(
    amount: int, atomic_resolution: int, price: int, exponent: int
) -> None:
    args = (atomic_resolution, price, exponent)
    assert quantums.base_to_quote_quantums(amount, *args) == chain_math.base_to_quote_quantums(
        amount, *args
    )
    assert quantums.quote_to_base_quantums(amount, *args) == chain_math.quote_to_base_quantums(
        amount, *args
    )


@settings(max_examples=300, deadline=None)
@given(
    subticks=st.integers(min_value=0, max_value=10**15),
    amount=st.integers(min_value=0, max_value=10**16),
    exponent=st.integers(min_value=-12, max_value=3),
    fee_ppm=st.integers(min_value=-1_000, max_value=10_000),
)
def test_fill_quote_and_fee_when_random_then_both_agree(
    subticks: int, amount: int, exponent: int, fee_ppm: int
) -> None:
    quote = quantums.fill_amount_to_quote_quantums(subticks, amount, exponent)

    assert quote == chain_math.fill_amount_to_quote_quantums(subticks, amount, exponent)
    assert fee_quote_quantums(quote, fee_ppm) == chain_math.big_mul_ppm(
        quote, fee_ppm, round_up=True
    )
    assert big_math.big_mul_ppm(quote, fee_ppm, round_up=False) == chain_math.big_mul_ppm(
        quote, fee_ppm, round_up=False
    )


risk_values = st.integers(min_value=-(10**12), max_value=10**12)
margins = st.integers(min_value=0, max_value=10**12)


@settings(max_examples=500, deadline=None)
@given(nc=risk_values, imr=margins, mmr=margins, new_nc=risk_values, new_mmr=margins)
def test_undercollateralized_transition_when_random_risks_then_both_agree(
    nc: int, imr: int, mmr: int, new_nc: int, new_mmr: int
) -> None:
    devnet = is_valid_state_transition(Risk(nc, imr, mmr), Risk(new_nc, 0, new_mmr))

    assert devnet == chain_math.is_valid_state_transition(nc, imr, mmr, new_nc, new_mmr)


@settings(max_examples=200, deadline=None)
@given(
    markets=st.lists(perpetuals(scaled=True), min_size=1, max_size=4),
    positions=st.lists(base_amounts, min_size=4, max_size=4),
    usdc=st.integers(min_value=-(10**13), max_value=10**13),
    trade=st.tuples(base_amounts, st.integers(min_value=-(10**13), max_value=10**13)),
)
def test_account_transition_when_a_trade_moves_a_random_account_then_both_agree(
    markets: list[Perpetual], positions: list[int], usdc: int, trade: tuple[int, int]
) -> None:
    """A whole account before and after one fill, valued by each side: same verdict."""
    before = list(zip(markets, positions, strict=False))
    delta_bq, delta_usdc = trade
    after = [(before[0][0], before[0][1] + delta_bq), *before[1:]]

    def devnet_risk(book: list[tuple[Perpetual, int]], cash: int) -> Risk:
        total = Risk(nc=cash)
        for perpetual, size in book:
            total = total + perpetual.risk(size)
        return total

    def trader_risk(book: list[tuple[Perpetual, int]], cash: int) -> tuple[int, int, int]:
        nc, imr, mmr = cash, 0, 0
        for perpetual, size in book:
            nc += chain_math.base_to_quote_quantums(
                size, perpetual.atomic_resolution, perpetual.price_value, perpetual.price_exponent
            )
            initial, maintenance = _trader_requirements(perpetual, size)
            imr, mmr = imr + initial, mmr + maintenance
        return nc, imr, mmr

    old, new = devnet_risk(before, usdc), devnet_risk(after, usdc + delta_usdc)
    assert (old.nc, old.imr, old.mmr) == trader_risk(before, usdc)
    assert (new.nc, new.imr, new.mmr) == trader_risk(after, usdc + delta_usdc)
    assert is_valid_state_transition(old, new) == chain_math.is_valid_state_transition(
        old.nc, old.imr, old.mmr, new.nc, new.mmr
    )
