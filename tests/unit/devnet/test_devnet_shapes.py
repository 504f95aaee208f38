"""Number and time formatting as the indexer prints them (big.js ``toFixed``, ISO with ms)."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from dydx_devnet import shapes


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("100"), "100"),
        (Decimal("0.0030"), "0.003"),
        (Decimal("-0"), "0"),
        (Decimal("1E+3"), "1000"),
        (Decimal("-12.50"), "-12.5"),
        (Decimal("0.00000001"), "0.00000001"),
    ],
)
def test_dec_when_formatted_then_positional_without_trailing_zeros(
    value: Decimal, text: str
) -> None:
    assert shapes.dec(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Fraction(1, 3), "0.33333333333333333333"),
        (Fraction(2, 3), "0.66666666666666666667"),
        (Fraction(-1, 3), "-0.33333333333333333333"),
        (Fraction(9533, 3), "3177.66666666666666666667"),
        (Fraction(5, 2), "2.5"),
        (Fraction(7), "7"),
    ],
)
def test_frac_when_formatted_then_twenty_decimals_half_up(value: Fraction, text: str) -> None:
    assert shapes.frac(value) == text


def test_usdc_and_iso_when_formatted_then_indexer_style() -> None:
    assert shapes.usdc(90_461_932) == "90.461932"
    assert shapes.usdc(-5_768_816_478) == "-5768.816478"
    assert shapes.iso(1_722_496_165_767) == "2024-08-01T07:09:25.767Z"
