"""Funding, open interest and volume read from real ``/v4/perpetualMarkets`` bodies,
and how ``markets`` picks and orders them."""

from __future__ import annotations

from decimal import Decimal

import pytest
from dydx_payloads import load_fixture

from dydx_trader.adapters.dydx import mapping
from dydx_trader.adapters.dydx.market_stats import MarketStats, parse_market_stats
from dydx_trader.cli._common import market_options
from dydx_trader.cli.markets_cmd import MarketRow, SortKey, select
from dydx_trader.domain.errors import InvalidInput, MalformedPayload

BODY = "indexer_http/nt2024_list_perpetual_markets.json"


def test_parse_market_stats_when_real_body_then_decimals_as_published() -> None:
    body = load_fixture(BODY)
    stats = parse_market_stats(body)

    btc = body["markets"]["BTC-USD"]
    assert stats["BTC-USD"] == MarketStats(
        "BTC-USD",
        Decimal(btc["nextFundingRate"]),
        Decimal(btc["openInterest"]),
        Decimal(btc["volume24H"]),
    )
    assert set(stats) == set(body["markets"])


def test_annualised_funding_when_hourly_rate_then_times_8760() -> None:
    stats = MarketStats("BTC-USD", Decimal("0.00001"), Decimal(2), Decimal(3))
    assert stats.annualised_funding_rate == Decimal("0.08760")
    assert stats.open_interest_usdc(Decimal(100)) == Decimal(200)
    assert stats.open_interest_usdc(None) is None


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"markets": []},
        {"markets": {"BTC-USD": {"nextFundingRate": "abc"}}},
        {"markets": {"BTC-USD": {"openInterest": "NaN"}}},
        {"markets": {"BTC-USD": {"volume24H": True}}},
    ],
)
def test_parse_market_stats_when_malformed_then_malformed_payload(body: object) -> None:
    with pytest.raises(MalformedPayload):
        parse_market_stats(body)


def _rows() -> list[MarketRow]:
    body = load_fixture(BODY)
    specs, stats = mapping.parse_markets(body), parse_market_stats(body)
    return [MarketRow(spec, stats[ticker]) for ticker, spec in specs.items()]


def test_select_when_sorted_by_volume_then_largest_first() -> None:
    rows = select(_rows(), [], SortKey.VOLUME)

    volumes = [row.stats.volume_24h for row in rows if row.stats is not None]
    assert volumes == sorted(volumes, reverse=True)  # type: ignore[type-var]


def test_select_when_sorted_by_funding_then_by_size_either_sign() -> None:
    rows = select(_rows(), [], SortKey.FUNDING)

    rates = [row.stats.next_funding_rate for row in rows if row.stats is not None]
    sizes = [abs(rate) for rate in rates if rate is not None]
    assert sizes == sorted(sizes, reverse=True)


def test_select_when_markets_named_then_only_those_by_ticker() -> None:
    rows = select(_rows(), market_options(["eth-usd, btc-usd", "ETH-USD"]), SortKey.TICKER)

    assert [row.spec.ticker for row in rows] == ["BTC-USD", "ETH-USD"]


def test_select_when_market_unknown_then_one_line_naming_it() -> None:
    with pytest.raises(InvalidInput, match="no market FOO-USD on mainnet; markets: 125"):
        select(_rows(), ["FOO-USD"], SortKey.TICKER, "mainnet")
