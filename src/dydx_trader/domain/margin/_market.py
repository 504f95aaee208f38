"""One market's margin integers at one oracle price, derived once by their owner.

A :class:`MarketMath` holds what the chain's margin functions need for a market
(the oracle price split into an integer multiplier and divisor, the
open-interest-scaled IMF, the maintenance fraction) so that valuing a position
is a few integer operations. Each :class:`~dydx_trader.domain.market.MarketSpec`
owns the math at its own oracle price (``spec.math``, derived on first use), as
an instrument owns its derived numbers: a new price is a new spec, and so new math.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Final

from dydx_trader.domain.errors import UnknownMarket
from dydx_trader.domain.margin.chain_math import (
    QUOTE_ATOMIC_RESOLUTION,
    adjusted_initial_margin_ppm,
)
from dydx_trader.domain.numbers import price_parts, require_positive
from dydx_trader.domain.units import PPM

if TYPE_CHECKING:  # the spec owns its math: no import at run time, no cycle
    from dydx_trader.domain.market import MarketSpec

_PPM_DECIMAL: Final = Decimal(PPM)


@dataclass(frozen=True, slots=True)
class MarketMath:
    """A market's margin parameters in the chain's integer units at one oracle price.

    ``initial_margin_ppm`` is the open-interest-scaled (effective) IMF,
    ``base_initial_margin_ppm`` the liquidity tier's base IMF (what the indexer
    reports and what maintenance margin is computed from).
    """

    spec: MarketSpec
    oracle_price: Decimal
    initial_margin_ppm: int
    base_initial_margin_ppm: int
    maintenance_fraction_ppm: int
    # base_to_quote_quantums as |bq| x quote_multiplier // quote_divisor (then signed):
    # price x 10^(price_exponent + atomic_resolution + 6) split into an integer
    # multiplier and divisor once, instead of per position.
    quote_multiplier: int
    quote_divisor: int
    # base quantums per base unit = base_quantum_scale / base_quantum_divisor
    # (10^-atomic_resolution as two integers; atomic resolution can be positive).
    base_quantum_scale: int
    base_quantum_divisor: int
    size_per_quantum: Decimal  # 10^atomic_resolution base units
    base_margin_per_unit: Decimal  # USDC of initial margin per base unit at the base IMF
    # The market's open interest (base quantums) and caps (quote quantums), for the
    # IMF after a trade that raises it; ``open_interest_headroom`` is the lower cap
    # less the open interest's notional (``None``: no scaling, the upper cap is 0).
    open_interest_base_quantums: int = 0
    open_interest_lower_cap: int = 0
    open_interest_upper_cap: int = 0
    open_interest_headroom: int | None = None

    @property
    def ticker(self) -> str:
        return self.spec.ticker

    def margin_per_unit(self, imf_ppm: int) -> Decimal:
        """USDC of initial margin one base unit needs at ``imf_ppm`` (oracle x IMF)."""
        return self.oracle_price * imf_ppm / _PPM_DECIMAL

    def initial_margin_ppm_after(self, opening_base_quantums: int) -> int:
        """The open-interest-scaled IMF (ppm) once open interest has grown by
        ``opening_base_quantums`` (>= 0).

        A match raises the market's open interest by at most the part of the trade
        that opens a position, and the chain values the matched subaccount at the
        open interest *after* the match (``GetDeltaOpenInterestFromUpdates``): in a
        market between its caps, a trade that fits at today's IMF may not.
        """
        headroom = self.open_interest_headroom
        if headroom is None or opening_base_quantums <= 0:
            return self.initial_margin_ppm
        # notional(a + b) <= notional(a) + notional(b) + 1: strictly below the
        # headroom, the open interest stays at or below the lower cap.
        if self.notional_quantums(opening_base_quantums) < headroom:
            return self.initial_margin_ppm
        return adjusted_initial_margin_ppm(
            self.base_initial_margin_ppm,
            self.open_interest_lower_cap,
            self.open_interest_upper_cap,
            self.notional_quantums(self.open_interest_base_quantums + opening_base_quantums),
        )

    def base_quantums(self, size: Decimal) -> int:
        """Signed base quantums of ``size`` base units.

        Exact for sizes on the quantum grid (every indexer size is); anything
        finer is rounded away from zero so that a margin is never understated.
        """
        numerator, denominator = size.as_integer_ratio()
        whole, remainder = divmod(
            numerator * self.base_quantum_scale, denominator * self.base_quantum_divisor
        )
        if remainder and whole >= 0:
            whole += 1  # floor division; away from zero for a positive size
        return whole

    def exact_base_quantums(self, size: Decimal) -> int | None:
        """Signed base quantums of ``size``, or ``None`` when it is off the quantum grid."""
        numerator, denominator = size.as_integer_ratio()
        whole, remainder = divmod(
            numerator * self.base_quantum_scale, denominator * self.base_quantum_divisor
        )
        return None if remainder else whole

    def whole_step_quantums(self, size: Decimal) -> int:
        """Base quantums of ``size`` floored to a whole step (0 below one step)."""
        if size <= 0:
            return 0
        numerator, denominator = size.as_integer_ratio()
        quantums = numerator * self.base_quantum_scale // (denominator * self.base_quantum_divisor)
        return quantums - quantums % self.spec.step_base_quantums

    def size_of(self, base_quantums: int) -> Decimal:
        """Size in base units of whole-step ``base_quantums`` (as a multiple of the step)."""
        return Decimal(base_quantums // self.spec.step_base_quantums) * self.spec.step_size

    def notional_quantums(self, base_quantums: int) -> int:
        """Signed notional in quote quantums at the oracle price, truncated toward 0
        (``chain_math.base_to_quote_quantums``)."""
        magnitude = abs(base_quantums) * self.quote_multiplier // self.quote_divisor
        return magnitude if base_quantums >= 0 else -magnitude


def derive_market_math(spec: MarketSpec) -> MarketMath:
    """The :class:`MarketMath` of ``spec`` at its own oracle price (``spec.math``
    calls this once and keeps the result).

    Raises :class:`~dydx_trader.domain.errors.MarketNotTradable` when no oracle
    price is known and :class:`~dydx_trader.domain.errors.InvalidInput` for a
    non-positive or non-finite price.
    """
    price = require_positive(f"{spec.ticker} oracle price", spec.require_oracle_price())
    value, exponent = price_parts(price)
    scale = exponent + spec.atomic_resolution - QUOTE_ATOMIC_RESOLUTION
    initial_margin_ppm = spec.effective_initial_margin_ppm(price)
    quote_multiplier = abs(value) * 10 ** max(scale, 0)
    quote_divisor = 10 ** max(-scale, 0)
    open_interest = spec.open_interest_base_quantums
    lower = spec.open_interest_lower_cap_quantums
    upper = spec.open_interest_upper_cap_quantums
    headroom = None
    if upper:
        headroom = lower - abs(open_interest) * quote_multiplier // quote_divisor
    return MarketMath(
        spec=spec,
        oracle_price=price,
        initial_margin_ppm=initial_margin_ppm,
        base_initial_margin_ppm=spec.initial_margin_ppm,
        maintenance_fraction_ppm=spec.maintenance_fraction_ppm,
        quote_multiplier=quote_multiplier,
        quote_divisor=quote_divisor,
        base_quantum_scale=10 ** max(-spec.atomic_resolution, 0),
        base_quantum_divisor=10 ** max(spec.atomic_resolution, 0),
        size_per_quantum=Decimal(1).scaleb(spec.atomic_resolution),
        base_margin_per_unit=price * spec.initial_margin_ppm / _PPM_DECIMAL,
        open_interest_base_quantums=open_interest,
        open_interest_lower_cap=lower,
        open_interest_upper_cap=upper,
        open_interest_headroom=headroom,
    )


def lookup(markets: Mapping[str, MarketSpec], ticker: str) -> MarketMath:
    """The math of ``ticker``'s market at its oracle price.

    Raises :class:`~dydx_trader.domain.errors.UnknownMarket` when ``markets``
    has no such ticker and ``MarketNotTradable`` when it has no oracle price.
    """
    spec = markets.get(ticker)
    if spec is None:
        raise UnknownMarket(f"no market {ticker} among {len(markets)} known", market=ticker)
    return spec.math
