"""The indexer's rate limits, as comlink and socks apply them."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import aiohttp
import httpx
import pytest
from dydx_v4_client.indexer.rest.indexer_client import IndexerClient

from dydx_devnet.demo import DEMO_ADDRESS
from dydx_devnet.indexer_limits import IndexerLimits
from dydx_devnet.server import Devnet, DevnetConfig


@pytest.fixture
async def small_limits() -> AsyncIterator[Devnet]:
    limits = IndexerLimits(default_points=5, orders_points=3, ws_default_channel_limit=2)
    config = DevnetConfig(
        indexer_port=0, grpc_port=0, block_time=0.05, markets=("BTC-USD", "ETH-USD", "SOL-USD"),
        indexer_limits=limits,
    )  # fmt: skip
    async with Devnet(config) as running:
        yield running


@pytest.fixture
async def long_window() -> AsyncIterator[Devnet]:
    """The default 100-request bucket over a window no loaded machine can outlast."""
    limits = IndexerLimits(window_s=3600)
    config = DevnetConfig(indexer_port=0, grpc_port=0, block_time=0.05, indexer_limits=limits)
    async with Devnet(config) as running:
        yield running


def test_indexer_limits_when_default_then_100_requests_per_10_s() -> None:
    limits = IndexerLimits()
    assert (limits.enabled, limits.default_points, limits.window_s) == (True, 100, 10.0)


async def test_indexer_when_client_exceeds_100_requests_then_429_with_retry_after_ms(
    long_window: Devnet,
) -> None:
    indexer = IndexerClient(long_window.indexer_url, api_timeout=5)
    for _ in range(100):  # the default bucket: 100 requests per window
        await indexer.utility.get_height()

    with pytest.raises(httpx.HTTPStatusError) as caught:
        await indexer.utility.get_height()

    answer = caught.value.response
    assert answer.status_code == 429
    assert answer.json() == {"errors": [{"msg": "Too many requests"}]}
    assert 0 < int(answer.headers["Retry-After"]) <= 3_600_000  # milliseconds
    assert answer.headers["RateLimit-Remaining"] == "0"
    assert answer.headers["RateLimit-Limit"] == "100"


async def test_indexer_when_orders_bucket_is_spent_then_other_routes_still_answer(
    small_limits: Devnet,
) -> None:
    small_limits.fund_demo()
    indexer = IndexerClient(small_limits.indexer_url, api_timeout=5)
    for _ in range(3):
        await indexer.account.get_subaccount_orders(DEMO_ADDRESS, 0)

    with pytest.raises(httpx.HTTPStatusError) as caught:
        await indexer.account.get_subaccount_orders(DEMO_ADDRESS, 0)
    height = await indexer.utility.get_height()

    assert caught.value.response.status_code == 429
    assert int(height["height"]) > 0


async def test_websocket_when_channel_limit_reached_then_error_and_connection_stays(
    small_limits: Devnet,
) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(small_limits.websocket_url) as ws,
    ):
        await ws.receive_json()  # connected
        answers = []
        for ticker in ("BTC-USD", "ETH-USD", "SOL-USD"):
            await ws.send_str(
                json.dumps({"type": "subscribe", "channel": "v4_trades", "id": ticker})
            )
            answers.append(await ws.receive_json())
        await ws.send_str(json.dumps({"type": "ping"}))
        pong = await ws.receive_json()

    assert [a["type"] for a in answers] == ["subscribed", "subscribed", "error"]
    assert answers[2]["message"] == (
        "Per-connection subscription limit reached for v4_trades (limit=2)."
    )
    assert pong["type"] == "pong"


async def test_websocket_when_resubscribing_too_fast_then_error_and_closed_1008(
    small_limits: Devnet,
) -> None:
    message = json.dumps({"type": "subscribe", "channel": "v4_trades", "id": "BTC-USD"})
    unsubscribe = json.dumps({"type": "unsubscribe", "channel": "v4_trades", "id": "BTC-USD"})
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(small_limits.websocket_url) as ws,
    ):
        await ws.receive_json()
        for raw in (message, unsubscribe, message, unsubscribe, message):
            await ws.send_str(raw)
        kinds = []
        async for received in ws:
            kinds.append(json.loads(received.data)["type"])

    assert kinds == ["subscribed", "unsubscribed", "subscribed", "unsubscribed", "error"]
    assert ws.close_code == 1008
