"""A perpetual market's parameters and the exact size/price conversions.

``MarketSpec`` holds every field of the indexer's ``PerpetualMarketResponseObject``
(protocol reference section 1.2) with ``Decimal`` for decimals. Conversions
between human units and the chain's integers are exact and round toward safety:
sizes down to the step, prices toward the passive side unless asked otherwise.
A size below one step is refused, never rounded up to the minimum (the
official client's float helpers do both wrong).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from enum import StrEnum

from dydx_trader.domain.errors import (
    BelowMinimumOrderSize,
    InvalidInput,
    MarketNotTradable,
)
from dydx_trader.domain.margin import MarketMath, derive_market_math
from dydx_trader.domain.margin.chain_math import (
    QUOTE_ATOMIC_RESOLUTION,
    adjusted_initial_margin_ppm,
    base_to_quote_quantums,
)
from dydx_trader.domain.numbers import price_parts, require_finite, require_positive
from dydx_trader.domain.side import Side
from dydx_trader.domain.units import PPM

_PPM = Decimal(PPM)


class MarketStatus(StrEnum):
    """The indexer's perpetual market status; only ACTIVE trades freely."""

    ACTIVE = "ACTIVE"
    PAUSED = "PAUSED"
    CANCEL_ONLY = "CANCEL_ONLY"
    POST_ONLY = "POST_ONLY"
    INITIALIZING = "INITIALIZING"
    FINAL_SETTLEMENT = "FINAL_SETTLEMENT"


class MarketType(StrEnum):
    """Cross-margined or isolated (one isolated position per subaccount)."""

    CROSS = "CROSS"
    ISOLATED = "ISOLATED"


@dataclass(frozen=True, slots=True)
class MarketSpec:
    """One perpetual market as the indexer describes it.

    Prices are USDC per base unit, sizes in base units, caps in USDC,
    fractions as plain ratios (``0.05`` = 5 %). ``initial_margin_fraction`` is
    the liquidity tier's *base* IMF: see :meth:`effective_initial_margin_ppm`.
    """

    ticker: str
    clob_pair_id: int
    status: MarketStatus
    oracle_price: Decimal | None
    initial_margin_fraction: Decimal
    maintenance_margin_fraction: Decimal
    open_interest: Decimal
    atomic_resolution: int
    quantum_conversion_exponent: int
    tick_size: Decimal
    step_size: Decimal
    step_base_quantums: int
    subticks_per_tick: int
    market_type: MarketType = MarketType.CROSS
    open_interest_lower_cap: Decimal = Decimal(0)
    open_interest_upper_cap: Decimal = Decimal(0)
    price_change_24h: Decimal = Decimal(0)
    volume_24h: Decimal = Decimal(0)
    trades_24h: int = 0
    next_funding_rate: Decimal = Decimal(0)
    base_open_interest: Decimal | None = None
    default_funding_rate_1h: Decimal | None = None
    # Derived on first use from the fields above (which never change): see ``math``.
    _math: MarketMath | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def math(self) -> MarketMath:
        """The margin integers at this spec's oracle price, derived once.

        Raises ``MarketNotTradable`` when the market has no oracle price and
        ``InvalidInput`` when it is not a positive finite number.
        """
        math = self._math
        if math is None:
            math = derive_market_math(self)
            object.__setattr__(self, "_math", math)
        return math

    # -- margin parameters in the chain's units -------------------------------

    @property
    def initial_margin_ppm(self) -> int:
        """Base initial margin fraction in ppm (the liquidity tier's value)."""
        return int(self.initial_margin_fraction * _PPM)

    @property
    def maintenance_fraction_ppm(self) -> int:
        """Maintenance fraction of the initial margin, in ppm.

        The indexer reports ``maintenanceMarginFraction = IMF x fraction``;
        the chain stores the fraction itself. Rounded up so that a derived
        maintenance requirement is never below the chain's.
        """
        if self.initial_margin_fraction == 0:
            return 0
        ratio = self.maintenance_margin_fraction / self.initial_margin_fraction * _PPM
        return int(ratio.to_integral_value(ROUND_CEILING))

    @property
    def open_interest_lower_cap_quantums(self) -> int:
        """Lower open-interest cap in quote quantums."""
        return int(self.open_interest_lower_cap * _PPM)

    @property
    def open_interest_upper_cap_quantums(self) -> int:
        """Upper open-interest cap in quote quantums (0 = scaling off)."""
        return int(self.open_interest_upper_cap * _PPM)

    @property
    def open_interest_base_quantums(self) -> int:
        """One-sided open interest in base quantums."""
        base_quantums = self.open_interest.scaleb(-self.atomic_resolution)
        return int(base_quantums.to_integral_value(ROUND_FLOOR))

    def effective_initial_margin_ppm(self, oracle_price: Decimal | None = None) -> int:
        """Open-interest-scaled IMF in ppm, as the chain applies it (section 2.3)."""
        price = self.require_oracle_price() if oracle_price is None else oracle_price
        value, exponent = price_parts(price)
        oi_notional = base_to_quote_quantums(
            self.open_interest_base_quantums, self.atomic_resolution, value, exponent
        )
        return adjusted_initial_margin_ppm(
            self.initial_margin_ppm,
            self.open_interest_lower_cap_quantums,
            self.open_interest_upper_cap_quantums,
            oi_notional,
        )

    def effective_initial_margin_fraction(self, oracle_price: Decimal | None = None) -> Decimal:
        """Open-interest-scaled IMF as a ratio."""
        return Decimal(self.effective_initial_margin_ppm(oracle_price)) / _PPM

    def max_leverage(self, oracle_price: Decimal | None = None) -> Decimal:
        """1 / effective IMF: the most leverage the market allows right now."""
        return _PPM / Decimal(self.effective_initial_margin_ppm(oracle_price))

    # -- state -----------------------------------------------------------------

    @property
    def is_tradable(self) -> bool:
        """ACTIVE and priced."""
        return self.status is MarketStatus.ACTIVE and self.oracle_price is not None

    def require_tradable(self) -> None:
        """Raise :class:`MarketNotTradable` unless the market is ACTIVE and priced."""
        if self.status is not MarketStatus.ACTIVE:
            raise MarketNotTradable(
                f"{self.ticker} is {self.status.value}, only ACTIVE markets are traded",
                market=self.ticker,
                status=self.status.value,
            )
        self.require_oracle_price()

    def require_oracle_price(self) -> Decimal:
        """The oracle price, or :class:`MarketNotTradable` when the market has none yet."""
        if self.oracle_price is None:
            raise MarketNotTradable(f"{self.ticker} has no oracle price yet", market=self.ticker)
        return self.oracle_price

    # -- size <-> quantums -------------------------------------------------------

    def size_to_quantums(self, size: Decimal) -> int:
        """Base quantums for ``size`` (base units), floored to a whole step.

        Raises :class:`InvalidInput` for a non-finite or non-positive size and
        :class:`BelowMinimumOrderSize` when less than one step remains.
        """
        require_positive("size", size)
        raw = size.scaleb(-self.atomic_resolution).to_integral_value(ROUND_FLOOR)
        quantums = int(raw) // self.step_base_quantums * self.step_base_quantums
        if quantums == 0:
            raise BelowMinimumOrderSize(
                f"{size} {self.base_asset} is below the minimum order size "
                f"{self.step_size} of {self.ticker}",
                market=self.ticker,
                size=size,
                step_size=self.step_size,
            )
        return quantums

    def quantums_to_size(self, quantums: int) -> Decimal:
        """Size in base units of ``quantums`` base quantums (exact)."""
        return Decimal(quantums).scaleb(self.atomic_resolution)

    def quantize_size(self, size: Decimal) -> Decimal:
        """``size`` floored to a whole step, in base units; 0 if below one step."""
        require_finite("size", size)
        if size <= 0:
            return Decimal(0)
        # Through integers: a Decimal division rounds to the context precision
        # and could round a size just below a step *up* onto it.
        raw = int(size.scaleb(-self.atomic_resolution).to_integral_value(ROUND_FLOOR))
        return Decimal(raw // self.step_base_quantums) * self.step_size

    # -- price <-> subticks ------------------------------------------------------

    def price_to_subticks(self, price: Decimal, side: Side, *, aggressive: bool = False) -> int:
        """Subticks for a limit ``price`` (USDC), on a whole tick.

        By default the price is rounded to the passive side: a BUY down, a
        SELL up, so the order never pays more than asked. ``aggressive=True``
        rounds the other way (a worst price that must still be reachable).
        Never returns 0: a price below one tick is refused.
        """
        require_positive("price", price)
        raw = price.scaleb(
            self.atomic_resolution - self.quantum_conversion_exponent - QUOTE_ATOMIC_RESOLUTION
        )
        round_up = (side is Side.SELL) != aggressive
        # Integer division after rounding ``raw`` to a whole subtick is exact
        # (floor(floor(x)/n) = floor(x/n)); a Decimal division is not.
        spt = self.subticks_per_tick
        if round_up:
            whole = int(raw.to_integral_value(ROUND_CEILING))
            subticks = -((-whole) // spt) * spt
        else:
            whole = int(raw.to_integral_value(ROUND_FLOOR))
            subticks = whole // spt * spt
        if subticks <= 0:
            raise InvalidInput(
                f"price {price} of {self.ticker} is below one tick ({self.tick_size})",
                market=self.ticker,
                price=price,
                tick_size=self.tick_size,
            )
        return subticks

    def subticks_to_price(self, subticks: int) -> Decimal:
        """Price in USDC per base unit of ``subticks`` (exact)."""
        return Decimal(subticks).scaleb(
            self.quantum_conversion_exponent + QUOTE_ATOMIC_RESOLUTION - self.atomic_resolution
        )

    @property
    def base_asset(self) -> str:
        """``BTC`` for ``BTC-USD``."""
        return self.ticker.split("-", 1)[0]
