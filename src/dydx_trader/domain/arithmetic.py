"""How the numbers behind a decision are written for a person.

A decision keeps its arithmetic as ordered ``(label, value)`` lines
(:data:`Line`), so the journal shows the same numbers the sizer used. The
sizer keeps its steps as numbers (:data:`Step`) and renders them only when
someone reads them. Amounts are rounded toward the reader's safe side.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Final

from dydx_trader.domain.units import usdc

Line = tuple[str, str]
"""One line of arithmetic as text: ``("free collateral", "830.12 USDC")``."""
Step = tuple[str, Decimal | int, str]
"""One step as numbers: (label, value, unit); an ``int`` value is quote quantums."""

USDC: Final = "USDC"
QUOTE_QUANTUMS: Final = "quote quantums"  # an int, shown as USDC
_CENT: Final = Decimal("0.01")
_SIZE_PLACES: Final = Decimal("1e-8")


def money(amount: Decimal, *, up: bool = False) -> str:
    """``1,250.00``: USDC to the cent, rounded down (or ``up``)."""
    return f"{amount.quantize(_CENT, ROUND_CEILING if up else ROUND_FLOOR):,}"


def plain(value: Decimal) -> str:
    """``0.0001`` rather than ``0.0001000000`` or ``1E-4``."""
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def ratio(value: Decimal) -> str:
    """A multiple such as a leverage, to the cent, rounded up."""
    return f"{value.quantize(_CENT, ROUND_CEILING):,}"


def render(steps: Iterable[Step]) -> tuple[Line, ...]:
    """The steps as text lines."""
    return tuple((label, _format(value, unit)) for label, value, unit in steps)


def _format(value: Decimal | int, unit: str) -> str:
    if isinstance(value, int):
        return f"{money(usdc(value))} USDC"
    if unit == USDC:
        return f"{money(value)} USDC"
    if value.adjusted() < 16:
        value = value.quantize(_SIZE_PLACES, ROUND_FLOOR)
    text = plain(value)
    return f"{text} {unit}" if unit else text
