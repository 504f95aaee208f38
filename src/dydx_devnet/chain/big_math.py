"""``protocol/lib/big_math.go``: products in parts per million and rounding divisions.

Go's ``big.Int.Div`` is Euclidean division, which for the positive divisors
used here rounds toward negative infinity, as Python's ``//`` does;
``big.Int.Quo`` truncates toward zero (:func:`quo`).
"""

from __future__ import annotations

from typing import Final

ONE_MILLION: Final = 1_000_000


def quo(numerator: int, denominator: int) -> int:
    """``big.Int.Quo``: the quotient truncated toward zero."""
    quotient = abs(numerator) // abs(denominator)
    return quotient if (numerator < 0) == (denominator < 0) else -quotient


def big_div_ceil(numerator: int, denominator: int) -> int:
    """``BigDivCeil``: the ceiling of ``numerator / denominator`` (either sign)."""
    quotient = quo(numerator, denominator)
    if quotient * denominator != numerator and (numerator < 0) == (denominator < 0):
        return quotient + 1
    return quotient


def big_mul_ppm(value: int, ppm: int, *, round_up: bool) -> int:
    """``BigMulPpm``: ``value x ppm / 1e6``, rounded up (ceiling) or down (floor)."""
    product = value * ppm
    return big_div_ceil(product, ONE_MILLION) if round_up else product // ONE_MILLION


def big_int_mul_ppm(value: int, ppm: int) -> int:
    """``BigIntMulPpm``: ``value x ppm / 1e6`` rounded toward negative infinity."""
    return value * ppm // ONE_MILLION


def big_pow10(exponent: int) -> tuple[int, bool]:
    """``BigPow10``: ``(10^|exponent|, exponent < 0)``."""
    return 10 ** abs(exponent), exponent < 0


def big_int_mul_pow10(value: int, exponent: int, *, round_up: bool) -> int:
    """``BigIntMulPow10``: ``value x 10^exponent``; a division rounds as asked."""
    power, inverse = big_pow10(exponent)
    if not inverse:
        return value * power
    return big_div_ceil(value, power) if round_up else value // power
