"""History endpoints on a manual-clock devnet, read through the official client.

Three market hours pass with a BTC long open: three funding ticks, three
funding payments that add up to what the position paid, three PnL ticks whose
last equity is the subaccount's, and sparklines from the replayed candles.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from official_client_helpers import BUY, ioc, market
from venue_helpers import Trader, demo_trader_on

from dydx_devnet.server import Devnet, DevnetConfig
from dydx_devnet.state import EngineConfig

START = datetime(2025, 3, 3, 0, 30, tzinfo=UTC)


@pytest.fixture
async def trader() -> AsyncIterator[Trader]:
    engine = EngineConfig(
        seed=5, markets=("BTC-USD", "ETH-USD"), clock="manual", replay_start=START, replay_days=3
    )
    async with Devnet(DevnetConfig(indexer_port=0, grpc_port=0, engine=engine)) as devnet:
        yield await demo_trader_on(devnet)


async def _long_btc_for_three_hours(trader: Trader) -> dict[str, Any]:
    m = await market(trader, "BTC-USD")
    _, response = await ioc(trader, m, BUY, Decimal(m["stepSize"]) * 500)
    assert response.tx_response.code == 0, response.tx_response.raw_log
    # The last block is the first of hour 03: its PnL tick is the current state.
    await trader.devnet.clock.advance_to(datetime(2025, 3, 3, 3, 0, tzinfo=UTC))
    return m


async def test_funding_when_three_hours_pass_then_ticks_and_payments_match_the_position(
    trader: Trader,
) -> None:
    await _long_btc_for_three_hours(trader)

    funding = (await trader.indexer.markets.get_perpetual_market_historical_funding("BTC-USD"))[
        "historicalFunding"
    ]
    payments = (await trader.indexer.account.get_funding_payments(trader.address, 0))[
        "fundingPayments"
    ]

    assert [f["effectiveAt"][11:13] for f in funding] == ["03", "02", "01"]  # newest first
    rates = {f["effectiveAtHeight"]: f["rate"] for f in funding}
    assert {p["createdAtHeight"]: p["rate"] for p in payments} == rates  # paid at those rates
    assert len(payments) == 3
    assert {(p["ticker"], p["side"], p["subaccountNumber"]) for p in payments} == {
        ("BTC-USD", "LONG", "0")
    }
    position = (await trader.indexer.account.get_subaccount(trader.address, 0))["subaccount"][
        "openPerpetualPositions"
    ]["BTC-USD"]
    assert sum(Decimal(p["payment"]) for p in payments) == Decimal(position["netFunding"])
    for p in payments:  # a long pays a positive rate and receives a negative one
        assert (Decimal(p["payment"]) < 0) == (Decimal(p["rate"]) > 0)
    parent = (
        await trader.indexer.account.get_funding_payments_for_parent_subaccount(trader.address, 0)
    )["fundingPayments"]
    assert parent == payments


async def test_historical_pnl_when_hours_pass_then_hourly_ticks_end_at_the_equity(
    trader: Trader,
) -> None:
    await _long_btc_for_three_hours(trader)

    ticks = (await trader.indexer.account.get_subaccount_historical_pnls(trader.address, 0))[
        "historicalPnl"
    ]
    parent = (await trader.indexer.account.get_parent_historical_pnls(trader.address, 0))[
        "historicalPnl"
    ]

    assert len(ticks) == 3 and set(ticks[0]) == {
        "equity",
        "totalPnl",
        "netTransfers",
        "createdAt",
        "blockHeight",
        "blockTime",
    }
    assert int(ticks[0]["blockHeight"]) > int(ticks[1]["blockHeight"])
    equity = (await trader.indexer.account.get_subaccount(trader.address, 0))["subaccount"][
        "equity"
    ]
    assert Decimal(ticks[0]["equity"]) == Decimal(equity)
    assert Decimal(ticks[0]["totalPnl"]) == Decimal(equity) - 10_000
    assert [t["netTransfers"] for t in ticks] == ["0.000000", "0.000000", "10000.000000"]
    assert parent == ticks  # one child: the parent's hours are its ticks


async def test_historical_pnl_when_paged_then_page_fields(trader: Trader) -> None:
    await _long_btc_for_three_hours(trader)
    url = (
        f"{trader.devnet.indexer_url}/v4/historical-pnl?address={trader.address}"
        "&subaccountNumber=0&limit=2&page=2"
    )

    async with httpx.AsyncClient() as client:
        body = (await client.get(url)).json()

    assert (body["pageSize"], body["totalResults"], body["offset"]) == (2, 3, 2)
    assert [t["netTransfers"] for t in body["historicalPnl"]] == ["10000.000000"]


async def test_sparklines_when_one_day_then_hourly_closes_of_every_market(trader: Trader) -> None:
    await trader.devnet.clock.advance_to(datetime(2025, 3, 3, 6, 0, tzinfo=UTC))

    body = await trader.indexer.markets.get_perpetual_market_sparklines()
    week = await trader.indexer.markets.get_perpetual_market_sparklines("SEVEN_DAYS")

    assert set(body) == {"BTC-USD", "ETH-USD"}
    assert 24 <= len(body["BTC-USD"]) <= 25
    candles = (
        await trader.indexer.markets.get_perpetual_market_candles("BTC-USD", "1HOUR", limit=2)
    )["candles"]
    assert body["BTC-USD"][:2] == [c["close"] for c in candles]
    assert 42 <= len(week["ETH-USD"]) <= 43
