"""Consistent markets and accounts for tests (step and tick derived from the integers)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from decimal import Decimal

from dydx_trader.domain.account import AccountSnapshot, PerpetualPosition
from dydx_trader.domain.margin import MarginState, margin_state
from dydx_trader.domain.market import MarketSpec, MarketStatus


def make_market(
    ticker: str = "ETH-USD",
    *,
    oracle_price: Decimal | None = Decimal("3103.01"),
    imf: Decimal = Decimal("0.02"),
    mmf: Decimal | None = None,
    atomic_resolution: int = -9,
    quantum_conversion_exponent: int = -9,
    step_base_quantums: int = 1_000_000,
    subticks_per_tick: int = 100_000,
    open_interest: Decimal = Decimal(0),
    lower_cap: Decimal = Decimal(0),
    upper_cap: Decimal = Decimal(0),
    status: MarketStatus = MarketStatus.ACTIVE,
    clob_pair_id: int = 1,
) -> MarketSpec:
    """A consistent MarketSpec (step and tick derived from the integers)."""
    return MarketSpec(
        ticker=ticker,
        clob_pair_id=clob_pair_id,
        status=status,
        oracle_price=oracle_price,
        initial_margin_fraction=imf,
        maintenance_margin_fraction=imf * Decimal("0.6") if mmf is None else mmf,
        open_interest=open_interest,
        atomic_resolution=atomic_resolution,
        quantum_conversion_exponent=quantum_conversion_exponent,
        tick_size=Decimal(subticks_per_tick).scaleb(
            quantum_conversion_exponent - 6 - atomic_resolution
        ),
        step_size=Decimal(step_base_quantums).scaleb(atomic_resolution),
        step_base_quantums=step_base_quantums,
        subticks_per_tick=subticks_per_tick,
        open_interest_lower_cap=lower_cap,
        open_interest_upper_cap=upper_cap,
    )


def flat_account(usdc: Decimal, *positions: PerpetualPosition) -> AccountSnapshot:
    return AccountSnapshot("dydx1test", 0, usdc, tuple(positions))


def priced(
    markets: Mapping[str, MarketSpec], prices: Mapping[str, Decimal]
) -> dict[str, MarketSpec]:
    """``markets`` with the given oracle prices (each a new spec, with its own math)."""
    return {
        ticker: dataclasses.replace(spec, oracle_price=prices[ticker]) if ticker in prices else spec
        for ticker, spec in markets.items()
    }


def valued(
    account: AccountSnapshot,
    markets: Mapping[str, MarketSpec],
    custom_imf_ppm: Mapping[str, int] | None = None,
) -> MarginState:
    """``account`` valued at ``markets``' oracle prices."""
    return margin_state(account, markets, custom_imf_ppm=custom_imf_ppm)


def sample_markets() -> dict[str, MarketSpec]:
    """Four markets spanning the parameter space: 50x BTC, ETH, SOL with open-interest
    scaling in force, and a PEPE-like market with a positive atomic resolution."""
    specs = [
        make_market(
            "BTC-USD",
            oracle_price=Decimal("89919.2"),
            imf=Decimal("0.02"),
            atomic_resolution=-10,
            subticks_per_tick=100_000,
            clob_pair_id=0,
        ),
        make_market("ETH-USD", oracle_price=Decimal("3103.01"), imf=Decimal("0.05")),
        make_market(
            "SOL-USD",
            oracle_price=Decimal("135.3"),
            imf=Decimal("0.05"),
            atomic_resolution=-7,
            subticks_per_tick=1_000_000,
            open_interest=Decimal(400_000),
            lower_cap=Decimal(40_000_000),
            upper_cap=Decimal(100_000_000),
            clob_pair_id=5,
        ),
        make_market(
            "PEPE-USD",
            oracle_price=Decimal("0.00001234"),
            imf=Decimal("0.2"),
            atomic_resolution=1,
            quantum_conversion_exponent=-9,
            step_base_quantums=1,
            subticks_per_tick=1,
            clob_pair_id=9,
        ),
    ]
    return {spec.ticker: spec for spec in specs}
