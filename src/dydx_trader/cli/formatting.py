"""How every command writes numbers: one module, so a figure reads the same everywhere.

* USDC amounts: two decimals with thousands separators (``10,000.00``).
* Prices: at the market's tick precision (``2,478.1`` for a 0.1 tick,
  ``0.0000003040`` for a 1E-10 tick), with thousands separators.
* Sizes: at the market's step precision.
* Ratios: percentages (``12.34%``) and leverage (``3.20x``).
* JSON: decimals as plain strings, never scientific notation and never
  28-digit ratios (:func:`json_decimal`, :func:`json_ratio`).

Display rounding is half-even and never feeds back into a decision: these
functions only ever make text.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_EVEN, Decimal

DASH = "-"
# Places kept for ratios in JSON (1e-6 of a ratio is far below any cap's meaning).
RATIO_PLACES = 6
# Digits kept for a number with no natural grid (indicator values, targets before flooring).
SIGNIFICANT = 8
_NUMBER = re.compile(r"^(-?[\d,]*\.?\d+)(?:\s+(\S+))?$")


def plain(value: Decimal) -> str:
    """``value`` in positional notation without trailing zeros (``3.03959448E-7`` ->
    ``0.000000303959448``, ``10000.000000`` -> ``10000``)."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def places_of(grid: Decimal) -> int:
    """Decimal places of a tick or step size (``0.001`` -> 3, ``10`` -> 0)."""
    exponent = grid.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def fixed(value: Decimal, places: int, *, separators: bool = True) -> str:
    """``value`` rounded to ``places`` decimals, with thousands separators."""
    rounded = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
    return format(rounded, ",f" if separators else "f")


def usdc(value: Decimal | None) -> str:
    """A USDC amount: ``10,000.00``; ``-`` when unknown."""
    return DASH if value is None else fixed(value, 2)


def on_grid(value: Decimal | None, grid: Decimal | None) -> str:
    """``value`` at the precision of ``grid`` (a tick or a step); at most
    :data:`SIGNIFICANT` digits when no grid is known."""
    if value is None:
        return DASH
    return number(value) if grid is None else fixed(value, places_of(grid))


def price(value: Decimal | None, tick: Decimal | None = None) -> str:
    """A price at the market's tick precision."""
    return on_grid(value, tick)


def size(value: Decimal | None, step: Decimal | None = None) -> str:
    """A size at the market's step precision."""
    return on_grid(value, step)


def number(value: Decimal | float | None, significant: int = SIGNIFICANT) -> str:
    """A number with no natural grid: at most ``significant`` digits after the
    leading ones, thousands separators, positional notation."""
    if value is None:
        return DASH
    exact = value if isinstance(value, Decimal) else Decimal(repr(float(value)))
    if not exact.is_finite():
        return str(exact)
    if exact == 0:
        return "0"
    # Keep `significant` digits in total, but never drop digits left of the point.
    exponent = exact.adjusted()
    places = max(0, significant - exponent - 1)
    text = fixed(exact, places)
    return text.rstrip("0").rstrip(".") if "." in text else text


def pct(ratio: Decimal | None, places: int = 2) -> str:
    """A ratio as a percentage: ``0.1234`` -> ``12.34%``."""
    return DASH if ratio is None else f"{fixed(ratio * 100, places)}%"


def leverage(ratio: Decimal | None, places: int = 2) -> str:
    """A leverage: ``3.2`` -> ``3.20x``."""
    return DASH if ratio is None else f"{fixed(ratio, places)}x"


def json_decimal(value: Decimal | None) -> str | None:
    """A decimal for JSON: exact, positional, no trailing zeros; None stays None."""
    return None if value is None else plain(value)


def json_ratio(value: Decimal | None) -> str | None:
    """A derived ratio for JSON, to :data:`RATIO_PLACES` decimals (not 28 digits)."""
    if value is None:
        return None
    return plain(value.quantize(Decimal(1).scaleb(-RATIO_PLACES), rounding=ROUND_HALF_EVEN))


def amount_text(
    text: str, *, asset: str | None = None, tick: Decimal | None = None, is_price: bool = False
) -> str:
    """Re-write one ``"<number> <unit>"`` figure the way this module writes numbers.

    USDC prices go to the tick, other USDC amounts to cents, amounts of
    ``asset`` keep their digits with separators. Text that is not a single
    figure is returned unchanged.
    """
    match = _NUMBER.match(text.strip())
    if match is None:
        return text
    value = Decimal(match.group(1).replace(",", ""))
    unit = match.group(2)
    if unit == "USDC":
        shown = price(value, tick) if is_price else usdc(value)
    elif unit is None or unit == asset:
        shown = number(value)
    else:
        return text
    return shown if unit is None else f"{shown} {unit}"
