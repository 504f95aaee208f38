"""MarketSpec parsing of every market in every real indexer market list."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from dydx_trader.adapters.dydx.mapping import parse_market
from dydx_trader.domain.errors import MalformedPayload, MarketNotTradable
from dydx_trader.domain.market import MarketStatus, MarketType
from kit.fixtures import HTTP, indexer_body, market_fixture_files, needs_fixtures

pytestmark = needs_fixtures


@pytest.mark.parametrize("path", market_fixture_files(), ids=lambda p: p.name)
def test_parse_market_when_every_market_of_a_real_list_then_each_parses_consistently(
    path: Path,
) -> None:
    markets = indexer_body(path)["markets"]
    assert markets, f"{path.name} has no markets"
    for ticker, raw in markets.items():
        spec = parse_market(raw)
        assert spec.ticker == ticker
        assert spec.clob_pair_id == int(raw["clobPairId"])
        # The human increments agree with the integer ones.
        assert spec.quantums_to_size(spec.step_base_quantums) == spec.step_size
        assert spec.subticks_to_price(spec.subticks_per_tick) == spec.tick_size
        # Maintenance = base IMF x fraction, as the chain derives it.
        mmf_ppm = spec.initial_margin_ppm * spec.maintenance_fraction_ppm // 1_000_000
        assert Decimal(mmf_ppm) / 1_000_000 == spec.maintenance_margin_fraction
        assert Decimal(0) < spec.initial_margin_fraction <= 1
        if spec.oracle_price is not None:
            assert spec.max_leverage() >= 1


def test_parse_market_when_2025_capture_then_btc_has_current_parameters() -> None:
    body = indexer_body(HTTP / "nt2025_http_get_perpetual_markets.json")
    btc = parse_market(body["markets"]["BTC-USD"])
    assert btc.oracle_price == Decimal("89919.2")
    assert btc.initial_margin_fraction == Decimal("0.02")
    assert btc.maintenance_fraction_ppm == 600_000
    assert btc.atomic_resolution == -10
    assert btc.step_size == Decimal("0.0001")
    assert btc.tick_size == Decimal("1")
    assert btc.max_leverage() == 50
    sol = parse_market(body["markets"]["SOL-USD"])
    assert sol.open_interest_lower_cap_quantums == 40_000_000 * 10**6
    assert sol.open_interest_upper_cap_quantums == 100_000_000 * 10**6


def test_parse_market_when_oracle_price_is_null_then_market_is_not_tradable() -> None:
    body = indexer_body(HTTP / "nt2024_list_perpetual_markets_empty_oracle_price.json")
    unpriced = [parse_market(raw) for raw in body["markets"].values() if raw["oraclePrice"] is None]
    assert len(unpriced) == 1
    spec = unpriced[0]
    assert spec.oracle_price is None
    assert spec.status is MarketStatus.INITIALIZING
    with pytest.raises(MarketNotTradable):
        spec.require_tradable()


def test_parse_market_when_2024_list_then_isolated_and_final_settlement_markets_are_read() -> None:
    body = indexer_body(HTTP / "nt2024_list_perpetual_markets.json")
    specs = [parse_market(raw) for raw in body["markets"].values()]
    assert len(specs) == 125
    assert sum(s.market_type is MarketType.ISOLATED for s in specs) == 48
    assert sum(s.status is MarketStatus.FINAL_SETTLEMENT for s in specs) == 2
    assert sum(s.status is MarketStatus.ACTIVE for s in specs) == 123


def _btc_payload() -> dict[str, object]:
    body = indexer_body(HTTP / "nt2025_http_get_perpetual_markets.json")
    payload: dict[str, object] = dict(body["markets"]["BTC-USD"])
    return payload


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("oraclePrice", 89919.2),  # a JSON float has already lost digits
        ("initialMarginFraction", "NaN"),
        ("atomicResolution", "ten"),
        ("status", "OPEN"),
        ("stepSize", "0.001"),  # disagrees with stepBaseQuantums
        ("oraclePrice", "-1"),
        ("openInterest", "1e20"),  # an absurd magnitude
        ("atomicResolution", "-١٠"),  # Arabic-Indic digits int() would take
        ("subticksPerTick", "²"),  # a superscript int() would choke on
        ("marketType", "HYBRID"),
    ],
)
def test_parse_market_when_a_field_is_malformed_then_malformed_payload_names_it(
    field: str, value: object
) -> None:
    payload = _btc_payload()
    payload[field] = value
    with pytest.raises(MalformedPayload) as raised:
        parse_market(payload)
    assert "BTC-USD" in raised.value.message


def test_parse_market_when_a_required_field_is_missing_then_malformed_payload() -> None:
    payload = _btc_payload()
    del payload["stepBaseQuantums"]
    with pytest.raises(MalformedPayload, match="stepBaseQuantums"):
        parse_market(payload)


def test_parse_market_when_payload_is_not_an_object_then_malformed_payload() -> None:
    with pytest.raises(MalformedPayload, match="expected a JSON object"):
        parse_market(["BTC-USD"])
