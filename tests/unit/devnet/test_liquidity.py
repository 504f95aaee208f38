"""Synthetic liquidity by liquidity tier, and the test market between its OI caps."""

from __future__ import annotations

from decimal import Decimal

import pytest
from devnet_helpers import ALICE, BUY, IOC, USDC, make_engine, short_term

from dydx_devnet.chain.liquidity_tier import LiquidityTier
from dydx_devnet.engine import Engine
from dydx_devnet.liquidity import DEFAULT_DEPTH_PROFILE, for_tier


def _book_usdc_within(engine: Engine, ticker: str, ppm: int) -> int:
    """USDC of synthetic asks within ``ppm`` of the oracle."""
    market = engine.markets[ticker]
    asks = engine.state.books[ticker].synthetic(bids=False)
    limit = market.oracle_subticks() * (1_000_000 + ppm) // 1_000_000
    total = 0
    for price, amount in zip(asks.prices, asks.available, strict=True):
        if price <= limit:
            total += price * amount // 10 ** -market.spec.quantum_conversion_exponent
    return total // USDC


def test_books_when_compared_across_tiers_then_alts_are_thinner_and_wider() -> None:
    engine = make_engine(markets=("BTC-USD", "SOL-USD", "DOGE-USD", "AKT-USD"))

    depth = {t: _book_usdc_within(engine, t, 10_000) for t in engine.markets}  # within 1 %

    assert depth["BTC-USD"] > depth["SOL-USD"] > depth["DOGE-USD"] > depth["AKT-USD"] > 0
    thin = engine.state.books["AKT-USD"]
    assert thin.spread_ppm == 15 * engine.config.spread_ppm


def test_ioc_when_same_notional_in_an_alt_then_real_slippage() -> None:
    engine = make_engine(markets=("BTC-USD", "DOGE-USD"))
    engine.deposit(ALICE, 0, 100_000 * USDC)
    slippage = {}
    for client_id, ticker in enumerate(("BTC-USD", "DOGE-USD"), start=1):
        market = engine.markets[ticker]
        step, spt = market.spec.step_base_quantums, market.spec.subticks_per_tick
        oracle = market.oracle_subticks()
        quantums = 20_000 * USDC * 10**9 // (oracle * step) * step  # about 20 000 USDC
        worst = oracle * 12 // 10 // spt * spt
        order = short_term(
            engine, BUY, quantums, worst, tif=IOC, client_id=client_id,
            clob_pair_id=market.clob_pair_id,
        )  # fmt: skip
        assert engine.place_order(order).code == 0
        fills = [f for f in engine.state.fills[(ALICE, 0)] if f["market"] == ticker]
        paid = sum(Decimal(f["price"]) * Decimal(f["size"]) for f in fills)
        size = sum(Decimal(f["size"]) for f in fills)
        slippage[ticker] = paid / size / market.oracle_price - 1

    assert slippage["DOGE-USD"] > 3 * slippage["BTC-USD"] > 0


def test_test_market_when_listed_then_open_interest_scales_its_imf() -> None:
    engine = make_engine(markets=("BTC-USD", "OITEST-USD"))
    market = engine.markets["OITEST-USD"]
    tier: LiquidityTier = market.spec.liquidity_tier
    notional = market.notional(market.open_interest_bq)

    adjusted = tier.adjusted_initial_margin_ppm(notional)

    assert tier.open_interest_lower_cap < notional < tier.open_interest_upper_cap
    assert tier.initial_margin_ppm == 200_000
    assert 200_000 < adjusted < 1_000_000  # about 0.6


def test_profile_when_tier_beyond_rows_then_last_row() -> None:
    liquidity = for_tier(500_000, DEFAULT_DEPTH_PROFILE, 25_000, 200, 100)

    assert (liquidity.depth_per_level_usdc, liquidity.spread_ppm) == (500, 3_000)


def test_profile_when_not_ascending_then_refused() -> None:
    with pytest.raises(ValueError, match="ascend"):
        make_engine(depth_profile=((50_000, 1_000_000, 1, 1), (20_000, 1_000_000, 1, 1)))
