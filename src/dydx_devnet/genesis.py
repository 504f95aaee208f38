"""The devnet's genesis: its bundled market list and chain parameters, read its own way.

``data/markets_*.json`` are real indexer ``/v4/perpetualMarkets`` bodies (see
``data/README.md``); :func:`parse_perpetual_market` turns one market object
into the chain's integers: a :class:`~dydx_devnet.chain.liquidity_tier.LiquidityTier`
in ppm and quote quantums, step and tick in quantums and subticks.
``data/genesis_params.json`` holds equity tiers, fee tiers and liquidation
settings of the mainnet genesis.

The reader is strict: a missing or malformed field raises ``ValueError``
naming the market and the field, since a devnet built on a misread market
would test nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation
from importlib import resources
from typing import Any, Final

from dydx_devnet.chain.big_math import ONE_MILLION
from dydx_devnet.chain.liquidity_tier import LiquidityTier
from dydx_devnet.chain.quantums import QUOTE_CURRENCY_ATOMIC_RESOLUTION

ACTIVE: Final = "ACTIVE"
MARKET_STATUSES: Final = (
    ACTIVE,
    "PAUSED",
    "CANCEL_ONLY",
    "POST_ONLY",
    "INITIALIZING",
    "FINAL_SETTLEMENT",
)
CROSS: Final = "CROSS"
ISOLATED: Final = "ISOLATED"


@dataclass(frozen=True, slots=True)
class PerpetualMarket:
    """One market's fixed parameters, in the chain's units.

    ``status`` and ``market_type`` are the indexer's names (``ACTIVE``,
    ``CROSS``). ``oracle_price`` (USDC per base unit) and
    ``open_interest_base_quantums`` are the values at capture; the devnet
    moves both. ``next_funding_rate`` is the captured hourly rate (a ratio).
    ``tick_size`` (USDC) and ``step_size`` (base units) are the human forms of
    ``subticks_per_tick`` and ``step_base_quantums``.
    """

    ticker: str
    clob_pair_id: int
    status: str
    market_type: str
    atomic_resolution: int
    quantum_conversion_exponent: int
    step_base_quantums: int
    subticks_per_tick: int
    liquidity_tier: LiquidityTier
    oracle_price: Decimal | None
    open_interest_base_quantums: int
    next_funding_rate: Decimal
    tick_size: Decimal
    step_size: Decimal

    @property
    def is_active(self) -> bool:
        return self.status == ACTIVE

    def subticks_to_price(self, subticks: int) -> Decimal:
        """USDC per base unit of a price in subticks (exact)."""
        return Decimal(subticks).scaleb(
            self.quantum_conversion_exponent
            + QUOTE_CURRENCY_ATOMIC_RESOLUTION
            - self.atomic_resolution
        )


class _Fields:
    """Typed reads of one indexer market object; errors name the market and field."""

    def __init__(self, payload: Mapping[str, Any]) -> None:
        self._payload = payload
        ticker = payload.get("ticker")
        self.ticker = ticker if isinstance(ticker, str) and ticker else "<no ticker>"
        if self.ticker == "<no ticker>":
            raise self.error("ticker", "must be a non-empty string")

    def error(self, key: str, problem: str) -> ValueError:
        return ValueError(f"market {self.ticker}: {key} {problem}")

    def text(self, key: str, choices: tuple[str, ...]) -> str:
        value = self._payload.get(key)
        if value not in choices:
            raise self.error(key, f"must be one of {', '.join(choices)}, got {value!r}")
        return str(value)

    def integer(self, key: str) -> int:
        value = self._payload.get(key)
        if isinstance(value, str) and value.lstrip("-").isdigit():
            return int(value)  # the indexer sends clobPairId as a string
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(key, f"must be an integer, got {value!r}")
        return value

    def decimal(self, key: str, *, optional: bool = False) -> Decimal | None:
        value = self._payload.get(key)
        if value is None and optional:
            return None
        try:
            number = Decimal(value) if isinstance(value, str) else None
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite():
            raise self.error(key, f"must be a decimal string, got {value!r}")
        return number

    def required_decimal(self, key: str) -> Decimal:
        number = self.decimal(key)
        assert number is not None
        return number

    def ppm(self, key: str) -> int:
        """A fraction in (0, 1] as exact ppm."""
        fraction = self.required_decimal(key)
        scaled = fraction * ONE_MILLION
        if not 0 < fraction <= 1 or scaled != scaled.to_integral_value():
            raise self.error(key, f"must be a fraction in (0, 1] with whole ppm, got {fraction}")
        return int(scaled)

    def quote_quantums(self, key: str) -> int:
        """A non-negative USDC amount as quote quantums (absent = 0)."""
        amount = self.decimal(key, optional=True) or Decimal(0)
        scaled = amount.scaleb(-QUOTE_CURRENCY_ATOMIC_RESOLUTION)
        if amount < 0 or scaled != scaled.to_integral_value():
            raise self.error(key, f"must be a non-negative USDC amount, got {amount}")
        return int(scaled)


def parse_perpetual_market(payload: Mapping[str, Any]) -> PerpetualMarket:
    """A :class:`PerpetualMarket` from one indexer ``PerpetualMarketResponseObject``.

    The maintenance fraction is recovered from the indexer's
    ``maintenanceMarginFraction = IMF x fraction``; a ratio that is not whole
    ppm is rounded up (a higher maintenance margin is the stricter reading).
    Raises ``ValueError`` naming the market and field on any malformed value.
    """
    fields = _Fields(payload)
    initial_ppm = fields.ppm("initialMarginFraction")
    maintenance = fields.required_decimal("maintenanceMarginFraction")
    fraction_ppm = maintenance * ONE_MILLION * ONE_MILLION / initial_ppm
    tier = LiquidityTier(
        initial_margin_ppm=initial_ppm,
        maintenance_fraction_ppm=int(fraction_ppm.to_integral_value(ROUND_CEILING)),
        open_interest_lower_cap=fields.quote_quantums("openInterestLowerCap"),
        open_interest_upper_cap=fields.quote_quantums("openInterestUpperCap"),
    )
    atomic_resolution = fields.integer("atomicResolution")
    open_interest = fields.required_decimal("openInterest").scaleb(-atomic_resolution)
    market = PerpetualMarket(
        ticker=fields.ticker,
        clob_pair_id=fields.integer("clobPairId"),
        status=fields.text("status", MARKET_STATUSES),
        market_type=fields.text("marketType", (CROSS, ISOLATED)),
        atomic_resolution=atomic_resolution,
        quantum_conversion_exponent=fields.integer("quantumConversionExponent"),
        step_base_quantums=fields.integer("stepBaseQuantums"),
        subticks_per_tick=fields.integer("subticksPerTick"),
        liquidity_tier=tier,
        oracle_price=fields.decimal("oraclePrice", optional=True),
        open_interest_base_quantums=int(open_interest.to_integral_value(ROUND_FLOOR)),
        next_funding_rate=fields.decimal("nextFundingRate", optional=True) or Decimal(0),
        tick_size=fields.required_decimal("tickSize"),
        step_size=fields.required_decimal("stepSize"),
    )
    _check_increments(market, fields)
    return market


def _check_increments(market: PerpetualMarket, fields: _Fields) -> None:
    if market.step_base_quantums <= 0 or market.subticks_per_tick <= 0:
        raise fields.error("stepBaseQuantums/subticksPerTick", "must be positive")
    if Decimal(market.step_base_quantums).scaleb(market.atomic_resolution) != market.step_size:
        raise fields.error("stepSize", f"{market.step_size} disagrees with stepBaseQuantums")
    if market.subticks_to_price(market.subticks_per_tick) != market.tick_size:
        raise fields.error("tickSize", f"{market.tick_size} disagrees with subticksPerTick")
    if market.oracle_price is not None and market.oracle_price <= 0:
        raise fields.error("oraclePrice", f"must be positive, got {market.oracle_price}")


def _read_json(name: str) -> Any:
    text = resources.files("dydx_devnet").joinpath("data", name).read_text(encoding="utf-8")
    return json.loads(text)


def load_market_payloads() -> dict[str, dict[str, Any]]:
    """Indexer market objects keyed by ticker, in clob-pair-id order.

    Every market of the 2024 list, with BTC, ETH and SOL replaced by their 2025 objects,
    plus the devnet's test market ``OITEST-USD`` (``markets_devnet.json``), whose
    open interest lies between its caps so its IMF is open-interest-scaled.
    """
    markets: dict[str, dict[str, Any]] = dict(_read_json("markets_2024.json")["markets"])
    for ticker, payload in _read_json("markets_2025.json")["markets"].items():
        markets[ticker] = dict(payload)
    for ticker, payload in _read_json("markets_devnet.json")["markets"].items():
        markets[ticker] = dict(payload)  # the devnet's own test markets
    return dict(sorted(markets.items(), key=lambda item: int(item[1]["clobPairId"])))


def load_genesis_params() -> dict[str, Any]:
    """Equity tiers, liquidation config and fee tiers of the mainnet genesis excerpt."""
    params: dict[str, Any] = _read_json("genesis_params.json")
    return params


__all__ = [
    "ACTIVE",
    "CROSS",
    "ISOLATED",
    "MARKET_STATUSES",
    "PerpetualMarket",
    "load_genesis_params",
    "load_market_payloads",
    "parse_perpetual_market",
]
