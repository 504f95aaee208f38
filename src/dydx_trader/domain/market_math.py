"""One market's margin integers at one oracle price, derived once and reused.

A :class:`MarketMath` holds what the chain's margin functions need for a market
(oracle price as ``value x 10^exponent``, the open-interest-scaled IMF, the
maintenance fraction) so that valuing a position is a few integer operations.
Derivations are memoized per (market spec, oracle price): a sizing decision
values every position of the account, and re-deriving each market's integers
every time would dominate its cost.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from dydx_trader.domain import chain_math
from dydx_trader.domain.errors import UnknownMarket
from dydx_trader.domain.market import MarketSpec, price_parts
from dydx_trader.domain.numbers import require_positive

_MILLION: Final = Decimal(1_000_000)
_CACHE_LIMIT: Final = 4096
_PPM: Final = chain_math.ONE_MILLION


@dataclass(frozen=True, slots=True)
class MarketMath:
    """A market's margin parameters in the chain's integer units at one oracle price.

    ``initial_margin_ppm`` is the open-interest-scaled (effective) IMF,
    ``base_initial_margin_ppm`` the liquidity tier's base IMF (what the indexer
    reports and what maintenance margin is computed from).
    """

    spec: MarketSpec
    oracle_price: Decimal
    price_value: int
    price_exponent: int
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
    max_leverage: Decimal  # 1 / effective IMF: the most leverage the market allows now
    initial_margin_per_unit: Decimal  # USDC of initial margin per base unit (oracle x IMF_eff)
    base_margin_per_unit: Decimal  # the same at the base IMF (the indexer's)

    @property
    def ticker(self) -> str:
        return self.spec.ticker

    @property
    def effective_imf(self) -> Decimal:
        """Open-interest-scaled initial margin fraction (ratio)."""
        return Decimal(self.initial_margin_ppm) / _MILLION

    @property
    def base_imf(self) -> Decimal:
        """The liquidity tier's base initial margin fraction (ratio)."""
        return Decimal(self.base_initial_margin_ppm) / _MILLION

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

    def initial_margin(self, notional_quantums: int) -> int:
        """Initial margin of a position at the effective IMF, quote quantums (rounded up)."""
        return -((-abs(notional_quantums) * self.initial_margin_ppm) // _PPM)

    def requirements(self, notional_quantums: int) -> tuple[int, int, int]:
        """(initial, base initial, maintenance) margin of a position, quote quantums.

        The chain's ``GetMarginRequirementsInQuoteQuantums`` for the position's
        notional: initial uses the effective IMF, maintenance the base IMF times
        the maintenance fraction; all round up.
        """
        # chain_math.big_mul_ppm(round_up=True) inlined: this runs for every
        # position of every decision.
        notional = -abs(notional_quantums)
        base_initial = -((notional * self.base_initial_margin_ppm) // _PPM)
        return (
            -((notional * self.initial_margin_ppm) // _PPM),
            base_initial,
            -((-base_initial * self.maintenance_fraction_ppm) // _PPM),
        )


# id(spec) -> its MarketMath at the last price asked; each entry keeps its spec
# alive, so an id found here cannot have been reused by another object.
market_math_cache: dict[int, MarketMath] = {}
_cache = market_math_cache


def market_math(spec: MarketSpec, oracle_price: Decimal | None = None) -> MarketMath:
    """The :class:`MarketMath` of ``spec`` at ``oracle_price`` (default: the spec's own).

    Raises :class:`~dydx_trader.domain.errors.MarketNotTradable` when no oracle
    price is known and :class:`~dydx_trader.domain.errors.InvalidInput` for a
    non-positive or non-finite price.
    """
    price = spec.require_oracle_price() if oracle_price is None else oracle_price
    key = id(spec)
    cached = _cache.get(key)
    # The entry keeps its spec alive, so a matching id is the same object.
    if cached is not None and cached.spec is spec and cached.oracle_price is price:
        return cached
    # Validate before comparing: a signalling NaN would raise from ``==``.
    require_positive(f"{spec.ticker} oracle price", price)
    if cached is not None and cached.spec is spec and cached.oracle_price == price:
        return cached
    value, exponent = price_parts(price)
    scale = exponent + spec.atomic_resolution - chain_math.QUOTE_ATOMIC_RESOLUTION
    initial_margin_ppm = spec.effective_initial_margin_ppm(price)
    derived = MarketMath(
        spec=spec,
        oracle_price=price,
        price_value=value,
        price_exponent=exponent,
        initial_margin_ppm=initial_margin_ppm,
        base_initial_margin_ppm=spec.initial_margin_ppm,
        maintenance_fraction_ppm=spec.maintenance_fraction_ppm,
        quote_multiplier=abs(value) * 10 ** max(scale, 0),
        quote_divisor=10 ** max(-scale, 0),
        base_quantum_scale=10 ** max(-spec.atomic_resolution, 0),
        base_quantum_divisor=10 ** max(spec.atomic_resolution, 0),
        size_per_quantum=Decimal(1).scaleb(spec.atomic_resolution),
        max_leverage=_MILLION / Decimal(initial_margin_ppm),
        initial_margin_per_unit=price * initial_margin_ppm / _MILLION,
        base_margin_per_unit=price * spec.initial_margin_ppm / _MILLION,
    )
    if len(_cache) >= _CACHE_LIMIT:
        _cache.clear()
    _cache[key] = derived
    return derived


def lookup(
    markets: Mapping[str, MarketSpec],
    ticker: str,
    oracle_prices: Mapping[str, Decimal] | None = None,
) -> MarketMath:
    """:func:`market_math` for ``ticker``, with an optional oracle price override.

    Raises :class:`~dydx_trader.domain.errors.UnknownMarket` when ``markets``
    has no such ticker.
    """
    spec = markets.get(ticker)
    if spec is None:
        raise UnknownMarket(f"no market {ticker} among {len(markets)} known", market=ticker)
    price = oracle_prices.get(ticker) if oracle_prices is not None else None
    return market_math(spec, price)
