"""The units money and margin are counted in, and the conversions between them.

* quote quantums: USDC x 10^6, an ``int`` (the chain's quote atomic resolution -6);
* ppm: parts per million, an ``int`` (1_000_000 = 100 %);
* USDC: a ``Decimal`` for people.

Conversions round toward safety and say which way they round.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal
from typing import Final

PPM: Final = 1_000_000
"""Parts per million in one whole (an ``int``)."""
QUOTE_QUANTUMS_PER_USDC: Final = 1_000_000
_MICRO: Final = Decimal("0.000001")


def usdc(quote_quantums: int) -> Decimal:
    """Quote quantums as USDC (exact: a product of at most 28 digits)."""
    return Decimal(quote_quantums) * _MICRO


def quote_quantums_floor(amount: Decimal) -> int:
    """USDC as quote quantums, rounded down (toward -inf)."""
    numerator, denominator = amount.as_integer_ratio()
    return numerator * QUOTE_QUANTUMS_PER_USDC // denominator


def quote_quantums_ceil(amount: Decimal) -> int:
    """USDC as quote quantums, rounded up (toward +inf)."""
    return int(amount.scaleb(6).to_integral_value(ROUND_CEILING))


def ratio_of_ppm(ppm: int) -> Decimal:
    """A ppm figure (``50_000``) as a ratio (``0.05``), exact."""
    return Decimal(ppm) / PPM
