"""A devnet that trades without us, seen through the official client."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from dydx_v4_client import OrderFlags
from dydx_v4_client.indexer.rest.indexer_client import IndexerClient
from dydx_v4_client.indexer.socket.websocket import IndexerSocket
from dydx_v4_client.node.client import NodeClient
from dydx_v4_client.node.message import order as build_order
from dydx_v4_client.wallet import Wallet
from official_client_helpers import BUY, GTT, new_order_id, quantums

from dydx_devnet.demo import DEMO_MNEMONIC
from dydx_devnet.server import Devnet, DevnetConfig


@pytest.fixture
async def busy() -> AsyncIterator[Devnet]:
    config = DevnetConfig(
        indexer_port=0,
        grpc_port=0,
        block_time=0.05,
        speed=30.0,
        seed=2,
        markets=("BTC-USD", "ETH-USD"),
        background_flow=30.0,
    )
    async with Devnet(config) as devnet:
        yield devnet


async def _until(check: Any, timeout: float = 10.0) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        found = await check()
        if found:
            return found
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("the flow produced nothing in time")
        await asyncio.sleep(0.2)  # within the indexer's rate limit (on by default)


async def test_trades_when_flow_on_then_rest_trades_and_24h_statistics_move(busy: Devnet) -> None:
    indexer = IndexerClient(busy.indexer_url, api_timeout=5)

    async def trades() -> list[dict[str, Any]]:
        body = await indexer.markets.get_perpetual_market_trades("BTC-USD")
        return list(body["trades"])

    found = await _until(trades)

    assert {t["type"] for t in found} == {"LIMIT"}
    assert {t["side"] for t in found} <= {"BUY", "SELL"}
    btc = (await indexer.markets.get_perpetual_markets("BTC-USD"))["markets"]["BTC-USD"]
    assert btc["trades24H"] >= len(found) > 0 and Decimal(btc["volume24H"]) > 0


async def test_resting_bid_when_flow_sells_through_it_then_filled_as_maker(busy: Devnet) -> None:
    address = busy.fund_demo(50_000)
    network = busy.network()
    node = await NodeClient.connect(network.node)
    wallet = await Wallet.from_mnemonic(node, DEMO_MNEMONIC, address)
    indexer = IndexerClient(network.rest_indexer, api_timeout=5)
    m = (await indexer.markets.get_perpetual_markets("BTC-USD"))["markets"]["BTC-USD"]
    book = await indexer.markets.get_perpetual_market_orderbook("BTC-USD")
    best_bid = Decimal(book["bids"][0]["price"])
    # One tick above the best bid: first in line for the next seller.
    subticks = int((best_bid + Decimal(m["tickSize"])) / Decimal(m["tickSize"])) * int(
        m["subticksPerTick"]
    )
    # Long-term: it rests until the flow reaches it (an hour of market time).
    block_time = busy.engine.block_time.timestamp() if busy.engine is not None else 0
    order = build_order(
        new_order_id(address, m, OrderFlags.LONG_TERM),
        BUY,
        quantums=quantums(Decimal("0.001"), m),
        subticks=subticks,
        time_in_force=GTT,
        reduce_only=False,
        good_til_block_time=int(block_time) + 3600,
    )
    placed = await node.place_order(wallet, order)
    assert placed.tx_response.code == 0, placed.tx_response.raw_log

    async def fills() -> list[dict[str, Any]]:
        return list((await indexer.account.get_subaccount_fills(address, 0))["fills"])

    (fill, *_) = await _until(fills, timeout=120.0)
    assert (fill["side"], fill["liquidity"], fill["market"]) == ("BUY", "MAKER", "BTC-USD")


def _first_update(url: str, subscribe: Any) -> dict[str, Any]:
    """The first channel (batch) message after subscribing, via the official IndexerSocket."""
    received: list[dict[str, Any]] = []

    def on_message(ws: Any, data: dict[str, Any]) -> None:  # parsed by the client
        if data["type"] == "connected":
            subscribe(ws)
        elif data["type"] in ("channel_data", "channel_batch_data"):
            received.append(data)
            ws.close()

    socket = IndexerSocket(url, on_message=on_message)
    thread = threading.Thread(target=socket.run_forever, daemon=True)
    thread.start()
    thread.join(10)
    socket.close()
    assert received, "no channel data"
    return received[0]


async def test_trades_channel_when_flow_on_then_trades_stream(busy: Devnet) -> None:
    message = await asyncio.to_thread(
        _first_update, busy.websocket_url, lambda ws: ws.trades.subscribe(id="BTC-USD")
    )

    assert message["channel"] == "v4_trades" and message["version"] == "2.1.0"
    assert "trades" in message["contents"][0]


async def test_markets_channel_when_subscribed_then_first_update_is_trading_data(
    busy: Devnet,
) -> None:
    message = await asyncio.to_thread(
        _first_update, busy.websocket_url, lambda ws: ws.markets.subscribe()
    )

    trading = message["contents"][0]["trading"]
    assert set(trading) <= {"BTC-USD", "ETH-USD"} and trading
    assert all("priceChange24H" in fields or "trades24H" in fields for fields in trading.values())
