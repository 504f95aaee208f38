"""A perpetual market's parameters and the exact size/price conversions.

``MarketSpec`` holds every field of the indexer's ``PerpetualMarketResponseObject``
(protocol reference section 1.2) with ``Decimal`` for decimals. Conversions
between human units and the chain's integers are exact and round toward safety:
sizes down to the step, prices toward the passive side unless asked otherwise.
A size below one step is refused, never rounded up to the minimum (the
official client's float helpers do both wrong).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from enum import StrEnum

from dydx_trader.domain import chain_math
from dydx_trader.domain.chain_math import QUOTE_ATOMIC_RESOLUTION
from dydx_trader.domain.errors import (
    BelowMinimumOrderSize,
    InvalidInput,
    MalformedPayload,
    MarketNotTradable,
)
from dydx_trader.domain.numbers import require_finite, require_positive
from dydx_trader.domain.side import Side

_MILLION = Decimal(1_000_000)


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

    # -- margin parameters in the chain's units -------------------------------

    @property
    def initial_margin_ppm(self) -> int:
        """Base initial margin fraction in ppm (the liquidity tier's value)."""
        return int(self.initial_margin_fraction * _MILLION)

    @property
    def maintenance_fraction_ppm(self) -> int:
        """Maintenance fraction of the initial margin, in ppm.

        The indexer reports ``maintenanceMarginFraction = IMF x fraction``;
        the chain stores the fraction itself. Rounded up so that a derived
        maintenance requirement is never below the chain's.
        """
        if self.initial_margin_fraction == 0:
            return 0
        ratio = self.maintenance_margin_fraction / self.initial_margin_fraction * _MILLION
        return int(ratio.to_integral_value(ROUND_CEILING))

    @property
    def open_interest_lower_cap_quantums(self) -> int:
        """Lower open-interest cap in quote quantums."""
        return int(self.open_interest_lower_cap * _MILLION)

    @property
    def open_interest_upper_cap_quantums(self) -> int:
        """Upper open-interest cap in quote quantums (0 = scaling off)."""
        return int(self.open_interest_upper_cap * _MILLION)

    @property
    def open_interest_base_quantums(self) -> int:
        """One-sided open interest in base quantums."""
        base_quantums = self.open_interest.scaleb(-self.atomic_resolution)
        return int(base_quantums.to_integral_value(ROUND_FLOOR))

    def effective_initial_margin_ppm(self, oracle_price: Decimal | None = None) -> int:
        """Open-interest-scaled IMF in ppm, as the chain applies it (section 2.3)."""
        price = self.require_oracle_price() if oracle_price is None else oracle_price
        value, exponent = price_parts(price)
        oi_notional = chain_math.base_to_quote_quantums(
            self.open_interest_base_quantums, self.atomic_resolution, value, exponent
        )
        return chain_math.adjusted_initial_margin_ppm(
            self.initial_margin_ppm,
            self.open_interest_lower_cap_quantums,
            self.open_interest_upper_cap_quantums,
            oi_notional,
        )

    def effective_initial_margin_fraction(self, oracle_price: Decimal | None = None) -> Decimal:
        """Open-interest-scaled IMF as a ratio."""
        return Decimal(self.effective_initial_margin_ppm(oracle_price)) / _MILLION

    def max_leverage(self, oracle_price: Decimal | None = None) -> Decimal:
        """1 / effective IMF: the most leverage the market allows right now."""
        return _MILLION / Decimal(self.effective_initial_margin_ppm(oracle_price))

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


def price_parts(price: Decimal) -> tuple[int, int]:
    """An exact ``(price_value, price_exponent)`` pair for a Decimal price,
    the integer form the chain's margin math takes."""
    require_finite("price", price)
    sign, digits, exponent = price.normalize().as_tuple()
    if not isinstance(exponent, int):  # pragma: no cover - excluded by require_finite
        raise InvalidInput(f"price {price} is not finite", price=str(price))
    value = int("".join(map(str, digits)) or "0")
    return (-value if sign else value), exponent


# -- parsing the indexer's market object -----------------------------------------


def parse_market(payload: Mapping[str, object]) -> MarketSpec:
    """Build a :class:`MarketSpec` from one indexer ``PerpetualMarketResponseObject``.

    Decimals arrive as strings and are read with ``Decimal(str)``; integers as
    JSON numbers, ``clobPairId`` as a string. ``oraclePrice`` may be null.
    Raises :class:`MalformedPayload` naming the field on any other shape.
    """
    reader = _FieldReader(payload)
    status_text = reader.text("status")
    try:
        status = MarketStatus(status_text)
    except ValueError:
        raise MalformedPayload(
            f"market {reader.ticker}: unknown status {status_text!r}", field="status"
        ) from None
    type_text = reader.optional_text("marketType") or MarketType.CROSS.value
    try:
        market_type = MarketType(type_text)
    except ValueError:
        raise MalformedPayload(
            f"market {reader.ticker}: unknown marketType {type_text!r}", field="marketType"
        ) from None
    spec = MarketSpec(
        ticker=reader.ticker,
        clob_pair_id=reader.integer("clobPairId"),
        status=status,
        oracle_price=reader.optional_decimal("oraclePrice"),
        initial_margin_fraction=reader.decimal("initialMarginFraction"),
        maintenance_margin_fraction=reader.decimal("maintenanceMarginFraction"),
        open_interest=reader.decimal("openInterest"),
        atomic_resolution=reader.integer("atomicResolution"),
        quantum_conversion_exponent=reader.integer("quantumConversionExponent"),
        tick_size=reader.decimal("tickSize"),
        step_size=reader.decimal("stepSize"),
        step_base_quantums=reader.integer("stepBaseQuantums"),
        subticks_per_tick=reader.integer("subticksPerTick"),
        market_type=market_type,
        open_interest_lower_cap=reader.optional_decimal("openInterestLowerCap") or Decimal(0),
        open_interest_upper_cap=reader.optional_decimal("openInterestUpperCap") or Decimal(0),
        price_change_24h=reader.optional_decimal("priceChange24H") or Decimal(0),
        volume_24h=reader.optional_decimal("volume24H") or Decimal(0),
        trades_24h=reader.optional_integer("trades24H") or 0,
        next_funding_rate=reader.optional_decimal("nextFundingRate") or Decimal(0),
        base_open_interest=reader.optional_decimal("baseOpenInterest"),
        default_funding_rate_1h=reader.optional_decimal("defaultFundingRate1H"),
    )
    _check_consistent(spec)
    return spec


def _check_consistent(spec: MarketSpec) -> None:
    if spec.step_base_quantums <= 0 or spec.subticks_per_tick <= 0:
        raise MalformedPayload(
            f"market {spec.ticker}: stepBaseQuantums and subticksPerTick must be positive",
            market=spec.ticker,
        )
    if not Decimal(0) < spec.initial_margin_fraction <= 1:
        raise MalformedPayload(
            f"market {spec.ticker}: initialMarginFraction {spec.initial_margin_fraction} "
            "is outside (0, 1]",
            market=spec.ticker,
        )
    # The human increments must agree with the integer ones: sizes are quantized
    # with one and sent with the other.
    if spec.quantums_to_size(spec.step_base_quantums) != spec.step_size:
        raise MalformedPayload(
            f"market {spec.ticker}: stepSize {spec.step_size} disagrees with "
            f"stepBaseQuantums {spec.step_base_quantums} at atomicResolution "
            f"{spec.atomic_resolution}",
            market=spec.ticker,
        )
    if spec.subticks_to_price(spec.subticks_per_tick) != spec.tick_size:
        raise MalformedPayload(
            f"market {spec.ticker}: tickSize {spec.tick_size} disagrees with "
            f"subticksPerTick {spec.subticks_per_tick}",
            market=spec.ticker,
        )
    if spec.oracle_price is not None and spec.oracle_price <= 0:
        raise MalformedPayload(
            f"market {spec.ticker}: oraclePrice {spec.oracle_price} is not positive",
            market=spec.ticker,
        )


class _FieldReader:
    """Typed reads from one JSON object, each failure naming the field."""

    def __init__(self, payload: Mapping[str, object]) -> None:
        if not isinstance(payload, Mapping):
            raise MalformedPayload(f"market payload is {type(payload).__name__}, not an object")
        self._payload = payload
        ticker = payload.get("ticker")
        if not isinstance(ticker, str) or not ticker:
            raise MalformedPayload("market payload has no ticker", field="ticker")
        self.ticker = ticker

    def _missing(self, field: str) -> MalformedPayload:
        return MalformedPayload(f"market {self.ticker}: field {field!r} is missing", field=field)

    def _bad(self, field: str, value: object, wanted: str) -> MalformedPayload:
        return MalformedPayload(
            f"market {self.ticker}: field {field!r} is {value!r}, expected {wanted}", field=field
        )

    def text(self, field: str) -> str:
        value = self.optional_text(field)
        if value is None:
            raise self._missing(field)
        return value

    def optional_text(self, field: str) -> str | None:
        value = self._payload.get(field)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self._bad(field, value, "a string")
        return value

    def decimal(self, field: str) -> Decimal:
        value = self.optional_decimal(field)
        if value is None:
            raise self._missing(field)
        return value

    def optional_decimal(self, field: str) -> Decimal | None:
        value = self._payload.get(field)
        if value is None:
            return None
        # Decimals are strings on the wire; a bare JSON number is accepted only
        # when it is an int (a float would already have lost digits).
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise self._bad(field, value, "a decimal string")
        try:
            parsed = Decimal(value)
        except ArithmeticError:
            raise self._bad(field, value, "a decimal string") from None
        if not parsed.is_finite():
            raise self._bad(field, value, "a finite decimal")
        return parsed

    def integer(self, field: str) -> int:
        value = self.optional_integer(field)
        if value is None:
            raise self._missing(field)
        return value

    def optional_integer(self, field: str) -> int | None:
        value = self._payload.get(field)
        if value is None:
            return None
        if isinstance(value, bool):
            raise self._bad(field, value, "an integer")
        if isinstance(value, int):
            return value
        if isinstance(value, str) and value.lstrip("-").isdigit():
            return int(value)
        raise self._bad(field, value, "an integer")
