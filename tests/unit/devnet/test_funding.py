"""Funding rates from premium samples: the book's pressure moves the rate."""

from __future__ import annotations

from devnet_helpers import ALICE, BUY, GTT, USDC, make_engine, on_tick, short_term

from dydx_devnet.funding import FundingSampler, book_premium_ppm, impact_notional_quote_quantums


def test_premium_when_book_symmetric_then_zero_and_rate_is_the_market_baseline() -> None:
    engine = make_engine(markets=("BTC-USD",))
    market, book = engine.markets["BTC-USD"], engine.state.books["BTC-USD"]
    sampler = FundingSampler()

    sampler.sample(market, book, minutes=60)

    assert book_premium_ppm(book, market) == 0
    assert sampler.close_hour(market) == market.baseline_premium_ppm


def test_premium_when_large_bid_above_oracle_then_positive_and_rate_rises() -> None:
    engine = make_engine(markets=("BTC-USD",), depth_per_level_usdc=1_000)
    engine.deposit(ALICE, 0, 1_000_000 * USDC)
    market, book = engine.markets["BTC-USD"], engine.state.books["BTC-USD"]
    # Buyers eat the asks: what is left on the book leans above the oracle.
    quantums = impact_notional_quote_quantums(market) * 10**9 // market.oracle_subticks() * 3
    quantums = quantums // 1_000_000 * 1_000_000
    limit = on_tick(engine, "BTC-USD", 2_000)
    engine.place_order(short_term(engine, BUY, quantums, limit, tif=GTT))
    sampler = FundingSampler()

    premium = book_premium_ppm(book, market)
    sampler.sample(market, book, minutes=30)  # half an hour of samples, then a quiet half

    assert premium > 10_000  # the resting bid sits about 2 % above the oracle
    expected = (market.baseline_premium_ppm + premium) * 30 // 60  # missing minutes count 0
    assert sampler.close_hour(market) == expected


def test_rate_when_hour_passes_then_market_rate_follows_the_samples() -> None:
    engine = make_engine(markets=("BTC-USD",), block_time_s=60.0)
    market = engine.markets["BTC-USD"]

    for _ in range(61):  # an hour of one-minute blocks
        engine.advance_block()

    assert market.funding_rate_ppb == market.baseline_premium_ppm * 125
