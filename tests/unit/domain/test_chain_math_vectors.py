"""The chain's integer margin math against protocol reference 2.10 (A-G), its own rules,
and every shared Go vector of ``tests/vectors/chain_math.json`` (the devnet runs them
too), the user-set leverage (``custom_imf_ppm``) cases included."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dydx_trader.domain import chain_math
from dydx_trader.domain.chain_math import (
    NEWLY_UNDERCOLLATERALIZED,
    STILL_UNDERCOLLATERALIZED,
    SUCCESS,
    adjusted_initial_margin_ppm,
    base_to_quote_quantums,
    fill_amount_to_quote_quantums,
    initial_margin_quote_quantums,
    is_valid_state_transition,
    maintenance_margin_ppm,
    margin_requirements,
    quote_to_base_quantums,
)

# -- A. adjusted IMF -------------------------------------------------------------


@pytest.mark.parametrize(
    ("lower", "upper", "open_interest", "expected"),
    [
        (1_000_000, 2_000_000, 0, 200_000),
        (1_000_000, 2_000_000, 1_500_000, 600_000),
        (0, 0, 1_500_000, 200_000),
    ],
)
def test_adjusted_imf_when_open_interest_between_caps_then_scales_linearly_to_100_percent(
    lower: int, upper: int, open_interest: int, expected: int
) -> None:
    assert adjusted_initial_margin_ppm(200_000, lower, upper, open_interest) == expected


def test_adjusted_imf_when_open_interest_at_or_above_upper_cap_then_100_percent() -> None:
    assert adjusted_initial_margin_ppm(200_000, 1_000_000, 2_000_000, 2_000_000) == 1_000_000
    assert adjusted_initial_margin_ppm(200_000, 1_000_000, 2_000_000, 9_000_000) == 1_000_000


# -- B. IMR rounds up ---------------------------------------------------------------


def test_initial_margin_when_no_caps_then_notional_times_imf() -> None:
    assert initial_margin_quote_quantums(500_000, 200_000, 0, 0, 0) == 100_000


def test_initial_margin_when_open_interest_scaled_then_uses_adjusted_imf() -> None:
    assert (
        initial_margin_quote_quantums(500_000, 200_000, 10**12, 2 * 10**12, 15 * 10**11) == 300_000
    )


def test_initial_margin_when_fractional_then_rounds_up() -> None:
    assert initial_margin_quote_quantums(1, 200_000, 0, 0, 0) == 1
    assert initial_margin_quote_quantums(-7, 200_000, 0, 0, 0) == 2  # |notional|


# -- C. maintenance fraction floors --------------------------------------------------


@pytest.mark.parametrize(
    ("imf", "fraction", "expected"), [(150_000, 800_000, 120_000), (450_000, 770_000, 346_500)]
)
def test_maintenance_margin_ppm_when_given_imf_and_fraction_then_floors(
    imf: int, fraction: int, expected: int
) -> None:
    assert maintenance_margin_ppm(imf, fraction) == expected


# -- D. position IMR / MMR -------------------------------------------------------------


def test_margin_requirements_when_no_open_interest_scaling_then_chain_vector() -> None:
    assert margin_requirements(7_000, -4, 55_550, -1, 10_000, 500_000) == (38_885_000, 19_442_500)


def test_margin_requirements_when_open_interest_scaled_then_maintenance_ignores_scaling() -> None:
    result = margin_requirements(
        12_000, -6, 367_500, -1, 200_000, 500_000, 1_000_000_000, 10**13, 2 * 10**13
    )
    assert result == (441_000_000, 44_100_000)


def test_margin_requirements_when_short_then_same_as_long() -> None:
    assert margin_requirements(-7_000, -4, 55_550, -1, 10_000, 500_000) == (38_885_000, 19_442_500)


# -- E. base <-> quote quantums ----------------------------------------------------------


def test_base_to_quote_when_positive_exponent_then_multiplies() -> None:
    assert base_to_quote_quantums(1, -6, 1, 1) == 10
    assert base_to_quote_quantums(-100, -6, 1, 1) == -1000


def test_quote_to_base_when_one_btc_at_29001_then_ten_billion_quantums() -> None:
    assert quote_to_base_quantums(29_001_000_000, -10, 2_900_100_000, -5) == 10_000_000_000


def test_base_to_quote_when_fractional_then_truncates_toward_zero() -> None:
    # 3 bq x 1 x 10^-1 = 0.3 qq -> 0; -3 -> -0 (not -1)
    assert base_to_quote_quantums(3, -7, 1, 0) == 0
    assert base_to_quote_quantums(-3, -7, 1, 0) == 0
    assert base_to_quote_quantums(-15, -7, 1, 0) == -1


def test_quote_to_base_when_price_zero_then_refuses() -> None:
    with pytest.raises(ZeroDivisionError):
        quote_to_base_quantums(1, -6, 0, 0)


# -- F. fill notional ----------------------------------------------------------------------


def test_fill_amount_when_chain_vector_then_500_000() -> None:
    assert fill_amount_to_quote_quantums(5_000_000, 1_000, -4) == 500_000


def test_fill_amount_when_negative_inputs_then_refuses() -> None:
    with pytest.raises(ValueError, match="unsigned"):
        fill_amount_to_quote_quantums(-1, 1_000, -4)


# -- G. undercollateralised transitions -----------------------------------------------------


def test_transition_when_maintenance_grows_then_still_undercollateralized() -> None:
    assert is_valid_state_transition(-1, 0, 0, -2, 1) == STILL_UNDERCOLLATERALIZED


def test_transition_when_both_flat_and_collateral_improves_then_success() -> None:
    assert is_valid_state_transition(-2, 0, 0, -1, 0) == SUCCESS


def test_transition_when_ratio_worsens_from_collateralized_then_newly_undercollateralized() -> None:
    # was NC 100 >= IMR 50; NC/MMR goes 100/40 -> 30/20 (worse)
    assert is_valid_state_transition(100, 50, 40, 30, 20) == NEWLY_UNDERCOLLATERALIZED


def test_transition_when_ratio_improves_then_success() -> None:
    assert is_valid_state_transition(30, 60, 40, 25, 20) == SUCCESS


# -- properties --------------------------------------------------------------------------------

quantums = st.integers(min_value=-(10**15), max_value=10**15)


@settings(max_examples=200)
@given(
    base=quantums,
    atomic_resolution=st.integers(min_value=-12, max_value=2),
    price=st.integers(min_value=1, max_value=10**12),
    exponent=st.integers(min_value=-12, max_value=2),
)
def test_base_to_quote_when_sign_flips_then_magnitude_is_the_same(
    base: int, atomic_resolution: int, price: int, exponent: int
) -> None:
    positive = base_to_quote_quantums(base, atomic_resolution, price, exponent)
    negative = base_to_quote_quantums(-base, atomic_resolution, price, exponent)
    assert positive == -negative
    exact_numerator = base * price
    scale = exponent + atomic_resolution + 6
    if scale >= 0:
        assert positive == exact_numerator * 10**scale
    else:
        assert abs(positive) == abs(exact_numerator) // 10**-scale


@settings(max_examples=200)
@given(
    imf=st.integers(min_value=1, max_value=1_000_000),
    lower=st.integers(min_value=0, max_value=10**13),
    width=st.integers(min_value=0, max_value=10**13),
    open_interest=st.integers(min_value=0, max_value=3 * 10**13),
)
def test_adjusted_imf_when_any_open_interest_then_between_base_and_100_percent(
    imf: int, lower: int, width: int, open_interest: int
) -> None:
    upper = lower + width
    adjusted = adjusted_initial_margin_ppm(imf, lower, upper, open_interest)
    assert imf <= adjusted <= chain_math.ONE_MILLION
    if upper == 0 or open_interest <= lower:
        assert adjusted == imf


@settings(max_examples=200)
@given(value=quantums, ppm=st.integers(min_value=-(10**6), max_value=10**6))
def test_big_mul_ppm_when_rounding_up_then_ceiling_of_exact_product(value: int, ppm: int) -> None:
    up = chain_math.big_mul_ppm(value, ppm, round_up=True)
    down = chain_math.big_mul_ppm(value, ppm, round_up=False)
    product = value * ppm
    assert down * 10**6 <= product <= up * 10**6
    assert up - down in (0, 1)


# -- the shared chain vectors ---------------------------------------------------------------

SHARED_VECTORS = Path(__file__).resolve().parents[2] / "vectors" / "chain_math.json"


def _initial_margin(a: dict[str, Any]) -> int:
    return initial_margin_quote_quantums(
        a["quote_quantums"],
        a["initial_margin_ppm"],
        a["open_interest_lower_cap"],
        a["open_interest_upper_cap"],
        a["open_interest_quote_quantums"],
        a.get("custom_imf_ppm", 0),
    )


def _requirements(a: dict[str, Any]) -> dict[str, int]:
    initial, maintenance = margin_requirements(
        a["quantums"],
        a["atomic_resolution"],
        a["price_value"],
        a["price_exponent"],
        a["initial_margin_ppm"],
        a["maintenance_fraction_ppm"],
        a["open_interest_base_quantums"],
        a["open_interest_lower_cap"],
        a["open_interest_upper_cap"],
        a.get("custom_imf_ppm", 0),
    )
    return {"initial": initial, "maintenance": maintenance}


def _price_args(a: dict[str, Any]) -> tuple[int, int, int]:
    return a["atomic_resolution"], a["price_value"], a["price_exponent"]


TRADER: dict[str, Callable[[dict[str, Any]], Any]] = {
    "BigMulPpm": lambda a: chain_math.big_mul_ppm(a["value"], a["ppm"], round_up=a["round_up"]),
    "BigIntMulPpm": lambda a: chain_math.big_mul_ppm(a["value"], a["ppm"], round_up=False),
    "BaseToQuoteQuantums": lambda a: base_to_quote_quantums(a["base_quantums"], *_price_args(a)),
    "GetNetNotionalInQuoteQuantums": lambda a: base_to_quote_quantums(
        a["base_quantums"], *_price_args(a)
    ),
    "QuoteToBaseQuantums": lambda a: quote_to_base_quantums(a["quote_quantums"], *_price_args(a)),
    "FillAmountToQuoteQuantums": lambda a: fill_amount_to_quote_quantums(
        a["subticks"], a["base_quantums"], a["quantum_conversion_exponent"]
    ),
    "GetMaintenanceMarginPpm": lambda a: maintenance_margin_ppm(
        a["initial_margin_ppm"], a["maintenance_fraction_ppm"]
    ),
    "GetAdjustedInitialMarginPpm": lambda a: adjusted_initial_margin_ppm(
        a["initial_margin_ppm"],
        a["open_interest_lower_cap"],
        a["open_interest_upper_cap"],
        a["open_interest_quote_quantums"],
    ),
    "GetInitialMarginQuoteQuantums": _initial_margin,
    "GetMarginRequirementsInQuoteQuantums": _requirements,
    "IsValidStateTransitionForUndercollateralizedSubaccount": lambda a: is_valid_state_transition(
        a["current_nc"], a["current_imr"], a["current_mmr"], a["new_nc"], a["new_mmr"]
    ),
}


def _shared_vectors() -> list[Any]:
    vectors = json.loads(SHARED_VECTORS.read_text(encoding="utf-8"))["vectors"]
    params = []
    for vector in vectors:
        params.append(pytest.param(vector, id=f"{vector['go_test']}/{vector['case']}"))
    return params


@pytest.mark.parametrize("vector", _shared_vectors())
def test_chain_math_when_given_a_shared_vector_then_matches_the_chain(
    vector: dict[str, Any],
) -> None:
    computed = TRADER[vector["function"]](vector["args"])

    expected = vector["expected"]
    assert computed == (expected["result"] if set(expected) == {"result"} else expected)
