"""Conversions between base quantums, quote quantums and subticks.

``protocol/lib/quantums.go`` (``BaseToQuoteQuantums``, ``QuoteToBaseQuantums``) and
``protocol/x/clob/types/quantums.go`` (``FillAmountToQuoteQuantums``).
"""

from __future__ import annotations

from typing import Final

from dydx_devnet.chain.big_math import big_int_mul_pow10, big_pow10, quo

# USDC: one quote quantum is 10^-6 USDC.
QUOTE_CURRENCY_ATOMIC_RESOLUTION: Final = -6


def base_to_quote_quantums(
    base_quantums: int, atomic_resolution: int, price_value: int, price_exponent: int
) -> int:
    """Quote quantums worth ``base_quantums`` at the oracle price ``value x 10^exponent``.

    ``quantums x price_value x 10^(price_exponent + atomic_resolution + 6)``,
    signed, truncated toward zero.
    """
    product = base_quantums * price_value
    exponent = price_exponent + atomic_resolution - QUOTE_CURRENCY_ATOMIC_RESOLUTION
    power, inverse = big_pow10(exponent)
    return quo(product, power) if inverse else product * power


def quote_to_base_quantums(
    quote_quantums: int, atomic_resolution: int, price_value: int, price_exponent: int
) -> int:
    """Base quantums worth ``quote_quantums`` at the oracle price (truncated toward zero).

    The chain divides twice, by ``10^exponent`` and by the price value, each
    truncating; raises ``ZeroDivisionError`` for a zero price, where the chain panics.
    """
    exponent = price_exponent + atomic_resolution - QUOTE_CURRENCY_ATOMIC_RESOLUTION
    power, inverse = big_pow10(exponent)
    result = quote_quantums * power if inverse else quo(quote_quantums, power)
    return quo(result, price_value)


def fill_amount_to_quote_quantums(
    subticks: int, base_quantums: int, quantum_conversion_exponent: int
) -> int:
    """Quote quantums of a fill: ``floor(subticks x base_quantums x 10^qce)``.

    Both operands are unsigned on the chain; raises ``ValueError`` for a negative one.
    """
    if subticks < 0 or base_quantums < 0:
        raise ValueError(f"subticks {subticks} and base quantums {base_quantums} are unsigned")
    return big_int_mul_pow10(subticks * base_quantums, quantum_conversion_exponent, round_up=False)
