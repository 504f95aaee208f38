"""Guards for numbers entering the domain.

Money, prices and sizes are ``Decimal`` (human units) or ``int`` (quantums,
subticks). Anything else, and any NaN, infinity or negative where a positive
quantity is meant, is refused here with :class:`InvalidInput`, so a bad value
never propagates into a size (``max(nan, 1.0)`` is ``nan`` in Python).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from dydx_trader.domain.errors import InvalidInput

# Larger than any real price, size or balance on dYdX; beyond it a value is a bug
# or an attack, and Decimal arithmetic on it would only hide that.
ABSURD = Decimal("1e15")


def to_decimal(name: str, value: object) -> Decimal:
    """``value`` as a finite Decimal; ints and decimal strings are accepted,
    floats and bools are not (a float has already lost digits)."""
    # Anything but these three (a float, a bool) falls through to the refusal.
    if isinstance(value, Decimal):
        parsed = value
    elif isinstance(value, int | str) and not isinstance(value, bool):
        try:
            parsed = Decimal(value)
        except InvalidOperation:
            raise InvalidInput(f"{name} {value!r} is not a number", field=name) from None
    else:
        raise InvalidInput(
            f"{name} must be a Decimal, int or decimal string, not {type(value).__name__}",
            field=name,
        )
    return require_finite(name, parsed)


def require_finite(name: str, value: Decimal) -> Decimal:
    """``value`` if it is a finite Decimal below :data:`ABSURD` in magnitude."""
    if not isinstance(value, Decimal):
        raise InvalidInput(f"{name} must be a Decimal, not {type(value).__name__}", field=name)
    if not value.is_finite():
        raise InvalidInput(f"{name} is {value}, a finite number is required", field=name)
    if value.copy_abs() >= ABSURD:
        raise InvalidInput(f"{name} {value} is absurdly large", field=name, value=value)
    return value


def require_non_negative(name: str, value: Decimal) -> Decimal:
    """``value`` if finite and >= 0."""
    require_finite(name, value)
    if value < 0:
        raise InvalidInput(f"{name} is {value}, it must not be negative", field=name, value=value)
    return value


def require_positive(name: str, value: Decimal) -> Decimal:
    """``value`` if finite and > 0."""
    require_finite(name, value)
    if value <= 0:
        raise InvalidInput(f"{name} is {value}, it must be positive", field=name, value=value)
    return value


def require_fraction(name: str, value: Decimal) -> Decimal:
    """``value`` if finite and within [0, 1]."""
    require_finite(name, value)
    if not Decimal(0) <= value <= 1:
        raise InvalidInput(f"{name} is {value}, it must lie in [0, 1]", field=name, value=value)
    return value


def price_parts(price: Decimal) -> tuple[int, int]:
    """An exact ``(price_value, price_exponent)`` pair for a Decimal price
    (``price = price_value x 10^price_exponent``), the integer form the chain's
    margin math takes."""
    require_finite("price", price)
    sign, digits, exponent = price.normalize().as_tuple()
    if not isinstance(exponent, int):  # pragma: no cover - excluded by require_finite
        raise InvalidInput(f"price {price} is not finite", price=str(price))
    value = int("".join(map(str, digits)) or "0")
    return (-value if sign else value), exponent
