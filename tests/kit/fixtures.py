"""The real indexer captures kept in ``tests/fixtures/dydx`` (its README gives their
provenance; ``DYDX_FIXTURES`` may point elsewhere), and readers for them."""

from __future__ import annotations

import json
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from dydx_trader.adapters.dydx.mapping import parse_market
from dydx_trader.domain.account import AccountSnapshot, PerpetualPosition
from dydx_trader.domain.market import MarketSpec

FIXTURES = Path(
    os.environ.get("DYDX_FIXTURES", Path(__file__).resolve().parents[1] / "fixtures" / "dydx")
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
