"""One position's share of a subaccount's margin (:class:`PositionLine`), in the
chain's integers (quote quantums), and the helpers that build and rank lines."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from dydx_trader.domain.margin._market import MarketMath
from dydx_trader.domain.units import PPM as _PPM


def ceil_ppm(value: int, ppm: int) -> int:
    """``ceil(value x ppm / 1e6)`` for ``value >= 0`` (``lib.BigMulPpm``, rounded up)."""
    return -((-value * ppm) // _PPM)


@dataclass(frozen=True, slots=True)
class PositionLine:
    """One position valued at its market's oracle price, quote quantums.

    ``notional`` is signed; ``initial`` uses ``imf_ppm``, the larger of the
    market's open-interest-scaled IMF and the subaccount's own setting.
    ``open_interest_added`` is how far (base quantums) the trades applied to
    this valuation may have raised the market's open interest: the IMF is the
    one at that higher open interest.
    """

    math: MarketMath
    size: Decimal
    base_quantums: int
    notional: int
    imf_ppm: int
    initial: int
    open_interest_added: int = 0

    @property
    def base_initial(self) -> int:
        """Initial margin at the base IMF (the indexer's, and the root of maintenance)."""
        return ceil_ppm(abs(self.notional), self.math.base_initial_margin_ppm)

    @property
    def maintenance(self) -> int:
        """The chain's maintenance margin: base IMR x maintenance fraction, rounded up."""
        return ceil_ppm(self.base_initial, self.math.maintenance_fraction_ppm)


def valued_line(
    math: MarketMath,
    base_quantums: int,
    size: Decimal,
    custom_imf_ppm: int,
    open_interest_added: int = 0,
) -> PositionLine:
    notional = math.notional_quantums(base_quantums)
    imf_ppm = (
        math.initial_margin_ppm_after(open_interest_added)
        if open_interest_added
        else math.initial_margin_ppm
    )
    if custom_imf_ppm > imf_ppm:
        imf_ppm = custom_imf_ppm
    return PositionLine(
        math,
        size,
        base_quantums,
        notional,
        imf_ppm,
        ceil_ppm(abs(notional), imf_ppm),
        open_interest_added,
    )


def line_or_none(
    math: MarketMath, base_quantums: int, custom_imf_ppm: int, open_interest_added: int
) -> PositionLine | None:
    if base_quantums == 0:
        return None
    size = Decimal(base_quantums) * math.size_per_quantum
    return valued_line(math, base_quantums, size, custom_imf_ppm, open_interest_added)


def opening_quantums(held: int, new: int) -> int:
    """Base quantums a move of a position from ``held`` to ``new`` opens: what lies
    beyond zero on the new side (``|new|`` after a flip, the growth otherwise)."""
    if new == 0:
        return 0
    if held == 0 or (held > 0) != (new > 0):
        return abs(new)
    grown = abs(new) - abs(held)
    return grown if grown > 0 else 0


def two_largest(lines: Iterable[PositionLine]) -> tuple[PositionLine | None, PositionLine | None]:
    first: PositionLine | None = None
    second: PositionLine | None = None
    for line in lines:
        if first is None or abs(line.notional) > abs(first.notional):
            first, second = line, first
        elif second is None or abs(line.notional) > abs(second.notional):
            second = line
    return first, second
