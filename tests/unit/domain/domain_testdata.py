"""Shared test data for the domain tests: the real indexer fixtures and builders.

The fixtures are real indexer captures kept in ``tests/fixtures/dydx`` (its
README gives their provenance); ``DYDX_FIXTURES`` may point elsewhere.
"""

from __future__ import annotations

import json
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from dydx_trader.domain.account import AccountSnapshot, PerpetualPosition
from dydx_trader.domain.market import MarketSpec, MarketStatus, parse_market

FIXTURES = Path(
    os.environ.get("DYDX_FIXTURES", Path(__file__).resolve().parents[2] / "fixtures" / "dydx")
)
HTTP = FIXTURES / "indexer_http"
WS = FIXTURES / "indexer_ws"

needs_fixtures = pytest.mark.skipif(
    not HTTP.is_dir(), reason=f"real indexer fixtures not found at {FIXTURES}"
)


def load_json(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return json.load(handle, parse_float=Decimal)


def indexer_body(path: Path) -> Any:
    """The indexer's body: the 2025 captures wrap it in a test envelope (``result``)."""
    payload = load_json(path)
    if isinstance(payload, dict) and "result" in payload and "requestId" in payload:
        return payload["result"]
    return payload


def market_fixture_files() -> list[Path]:
    return sorted(HTTP.glob("*perpetual_markets*.json")) if HTTP.is_dir() else []


def markets_2024() -> dict[str, MarketSpec]:
    """The Aug-2024 mainnet market list (125 markets; BTC/ETH IMF 0.05)."""
    body = indexer_body(HTTP / "nt2024_list_perpetual_markets.json")
    return {ticker: parse_market(raw) for ticker, raw in body["markets"].items()}


def subaccount_payload(path: Path) -> dict[str, Any]:
    """The subaccount object of an HTTP (``subaccount``) or websocket capture."""
    payload = indexer_body(path)
    if "subaccount" in payload:
        result: dict[str, Any] = payload["subaccount"]
        return result
    result = payload["contents"]["subaccount"]
    return result


def account_from_indexer(sub: dict[str, Any]) -> tuple[AccountSnapshot, dict[str, Decimal]]:
    """An AccountSnapshot from an indexer subaccount, and the oracle prices the
    indexer used, backed out of each position's ``unrealizedPnl``
    (``unrealizedPnl = size x (oracle - entry)``, protocol reference 1.1)."""
    usdc = sub["assetPositions"].get("USDC")
    balance = Decimal(0)
    if usdc is not None:
        balance = Decimal(usdc["size"]) * (1 if usdc["side"] == "LONG" else -1)
    positions = []
    prices: dict[str, Decimal] = {}
    for ticker, raw in sub["openPerpetualPositions"].items():
        size = Decimal(raw["size"])
        entry = Decimal(raw["entryPrice"])
        pnl = Decimal(raw["unrealizedPnl"])
        prices[ticker] = entry + pnl / size
        positions.append(PerpetualPosition(ticker, size, entry, pnl))
    account = AccountSnapshot(
        address=sub["address"],
        subaccount_number=sub["subaccountNumber"],
        usdc_balance=balance,
        positions=tuple(positions),
        indexer_equity=Decimal(sub["equity"]),
        indexer_free_collateral=Decimal(sub["freeCollateral"]),
    )
    return account, prices


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
) -> MarketSpec:
    """A consistent MarketSpec (step and tick derived from the integers)."""
    return MarketSpec(
        ticker=ticker,
        clob_pair_id=1,
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
        ),
        make_market(
            "PEPE-USD",
            oracle_price=Decimal("0.00001234"),
            imf=Decimal("0.2"),
            atomic_resolution=1,
            quantum_conversion_exponent=-9,
            step_base_quantums=1,
            subticks_per_tick=1,
        ),
    ]
    return {spec.ticker: spec for spec in specs}
