"""The devnet's own reader of its bundled markets and genesis parameters."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from dydx_devnet import fees
from dydx_devnet.genesis import load_genesis_params, load_market_payloads, parse_perpetual_market


def _btc() -> dict[str, Any]:
    return dict(load_market_payloads()["BTC-USD"])


def test_parse_market_when_bundled_btc_then_chain_integers() -> None:
    market = parse_perpetual_market(_btc())

    assert (market.ticker, market.clob_pair_id, market.status) == ("BTC-USD", 0, "ACTIVE")
    assert market.liquidity_tier.initial_margin_ppm == 20_000
    # The indexer prints IMF x fraction (0.012 for 0.02 x 60 %); the chain stores the fraction.
    assert market.liquidity_tier.maintenance_fraction_ppm == 600_000
    assert market.subticks_to_price(market.subticks_per_tick) == market.tick_size
    assert Decimal(market.step_base_quantums).scaleb(market.atomic_resolution) == market.step_size


def test_parse_market_when_every_bundled_market_then_all_read() -> None:
    payloads = load_market_payloads()

    markets = [parse_perpetual_market(p) for p in payloads.values()]

    assert len(markets) == len(payloads) > 100
    capped = [m for m in markets if m.liquidity_tier.open_interest_upper_cap > 0]
    assert capped and all(
        m.liquidity_tier.open_interest_lower_cap < m.liquidity_tier.open_interest_upper_cap
        for m in capped
    )


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("initialMarginFraction", "1.5", "initialMarginFraction"),
        ("initialMarginFraction", "NaN", "initialMarginFraction"),
        ("initialMarginFraction", 0.05, "initialMarginFraction"),
        ("status", "SLEEPING", "status"),
        ("marketType", None, "marketType"),
        ("atomicResolution", "x", "atomicResolution"),
        ("stepSize", "0.0002", "stepSize"),
        ("tickSize", "0.5", "tickSize"),
        ("openInterestLowerCap", "-1", "openInterestLowerCap"),
        ("oraclePrice", "-5", "oraclePrice"),
        ("ticker", "", "ticker"),
    ],
)
def test_parse_market_when_a_field_is_malformed_then_error_names_market_and_field(
    key: str, value: object, message: str
) -> None:
    payload = _btc()
    payload[key] = value

    with pytest.raises(ValueError, match=message):
        parse_perpetual_market(payload)


def test_fee_constants_when_compared_with_the_bundled_tiers_then_standard_tier_1() -> None:
    (first, *_) = load_genesis_params()["feetiers"]

    assert (first["taker_fee_ppm"], first["maker_fee_ppm"]) == (
        fees.BASE_TAKER_FEE_PPM,
        fees.BASE_MAKER_FEE_PPM,
    )
    assert fees.fee_quote_quantums(1_000_001, 500) == 501  # rounds up
    assert fees.fee_quote_quantums(1_000_001, -110) == -110  # a rebate rounds toward zero


def test_build_markets_when_synthetic_requested_then_copies_with_their_own_ids() -> None:
    from dydx_devnet.markets import build_markets, synthetic_ticker

    markets = build_markets(("BTC-USD", "ETH-USD"), synthetic=3)

    assert list(markets) == ["BTC-USD", "ETH-USD", "SYN001-USD", "SYN002-USD", "SYN003-USD"]
    ids = [market.clob_pair_id for market in markets.values()]
    assert len(set(ids)) == len(ids)
    copy = markets[synthetic_ticker(2)]
    assert copy.spec.ticker == "SYN002-USD"
    assert copy.spec.liquidity_tier == markets["ETH-USD"].spec.liquidity_tier
    assert "SYN001-USD" not in load_market_payloads()  # the bundled list is untouched


def test_engine_config_when_synthetic_markets_out_of_range_then_refused() -> None:
    from dydx_devnet.config import EngineConfig

    with pytest.raises(ValueError, match=r"synthetic_markets must be 0\.\.1000"):
        EngineConfig(synthetic_markets=1_001)
