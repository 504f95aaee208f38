"""The manual clock over the wire: ``GET``/``POST /devnet/clock`` and ``devnet.clock``."""

from __future__ import annotations

import csv
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from importlib import resources
from typing import Any

import aiohttp
import pytest
from dydx_v4_client.indexer.rest.indexer_client import IndexerClient

from dydx_devnet.server import Devnet, DevnetConfig
from dydx_devnet.state import EngineConfig

START = datetime(2025, 1, 6, tzinfo=UTC)


@pytest.fixture
async def replay() -> AsyncIterator[Devnet]:
    engine = EngineConfig(
        seed=3, markets=("BTC-USD", "ETH-USD"), clock="manual", replay_start=START, replay_days=3
    )
    async with Devnet(DevnetConfig(indexer_port=0, grpc_port=0, engine=engine)) as devnet:
        yield devnet


async def _clock(devnet: Devnet, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    url = devnet.indexer_url + "/devnet/clock"
    async with aiohttp.ClientSession() as session:
        if body is None:
            async with session.get(url) as response:
                return response.status, await response.json()
        async with session.post(url, json=body) as response:
            return response.status, await response.json()


def _csv_close(ticker: str, started: str) -> Decimal:
    text = resources.files("dydx_devnet").joinpath("data", f"{ticker}-1HOUR.csv").read_text()
    row = next(r for r in csv.DictReader(text.splitlines()) if r["started_at"] == started)
    return Decimal(row["close"])


async def test_clock_when_advanced_over_http_then_blocks_in_market_time_and_candles_closed(
    replay: Devnet,
) -> None:
    status, before = await _clock(replay)
    assert status == 200 and before["mode"] == "manual"
    assert before["block_time"] == "2025-01-06T00:00:00.000Z"
    assert before["replay"]["end"] == "2025-01-09T00:00:00.000Z"
    assert set(before["markets"]) == {"BTC-USD", "ETH-USD"}

    status, after = await _clock(replay, {"advance_to": "2025-01-06T02:00:00Z"})

    assert status == 200
    assert after["block_time"] == "2025-01-06T02:00:00.000Z"
    assert after["height"] == before["height"] + after["blocks"] and after["blocks"] >= 24
    indexer = IndexerClient(replay.indexer_url, api_timeout=5)
    candles = await indexer.markets.get_perpetual_market_candles("BTC-USD", "1HOUR", limit=3)
    closed = candles["candles"][1]
    assert closed["startedAt"] == "2025-01-06T01:00:00.000Z"
    assert Decimal(closed["close"]) == _csv_close("BTC-USD", "2025-01-06T01:00:00Z")
    height = await indexer.utility.get_height()
    assert height == {"height": str(after["height"]), "time": "2025-01-06T02:00:00.000Z"}


async def test_clock_when_advancing_blocks_or_to_epoch_ms_then_exact_times(
    replay: Devnet,
) -> None:
    _, before = await _clock(replay)

    _, stepped = await _clock(replay, {"advance_blocks": 3, "block_seconds": 2})
    _, moved = await _clock(replay, {"advance_to": before["block_time_ms"] + 60_000})

    assert (stepped["blocks"], stepped["block_time_ms"]) == (3, before["block_time_ms"] + 6_000)
    assert moved["block_time_ms"] == before["block_time_ms"] + 60_000


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "clock request must be"),
        ({"advance_to": "2025-01-06T01:00:00Z", "advance_blocks": 1}, "clock request must be"),
        ({"advance_to": "yesterday"}, "ISO-8601"),
        ({"advance_to": True}, "ISO-8601"),
        ({"advance_to": "2024-12-01T00:00:00Z"}, "before the current block"),
        ({"advance_to": "2030-01-01T00:00:00Z"}, "past the bundled data"),
        ({"advance_to": "2025-01-06T01:00:00Z", "block_seconds": 7}, "divide an hour"),
        ({"advance_blocks": 0}, "1..10000"),
        ({"advance_blocks": 2, "block_seconds": "2"}, "block_seconds"),
        ({"tick": 1}, "clock request must be"),
    ],
)
async def test_clock_when_body_is_bad_then_400_and_no_block(
    replay: Devnet, body: dict[str, Any], message: str
) -> None:
    _, before = await _clock(replay)

    status, answer = await _clock(replay, body)

    assert status == 400 and message in answer["errors"][0]["msg"]
    assert (await _clock(replay))[1]["height"] == before["height"]


async def test_clock_when_devnet_runs_a_timer_then_post_is_409_and_get_shows_the_mode() -> None:
    config = DevnetConfig(indexer_port=0, grpc_port=0, auto_blocks=False, markets=("BTC-USD",))
    async with Devnet(config) as devnet:
        status, answer = await _clock(devnet, {"advance_blocks": 1})
        _, state = await _clock(devnet)

    assert status == 409 and "timer clock" in answer["errors"][0]["msg"]
    assert state["mode"] == "timer" and state["replay"]["shift_ms"] % 86_400_000 == 0


async def test_devnet_clock_when_awaited_in_process_then_same_as_http(replay: Devnet) -> None:
    state = await replay.clock.advance_to(datetime(2025, 1, 6, 1, tzinfo=UTC))
    stepped = await replay.clock.advance_blocks(2, block_seconds=0.5)

    assert state.block_time == datetime(2025, 1, 6, 1, tzinfo=UTC)
    assert stepped.block_time_ms == state.block_time_ms + 1_000
    assert replay.clock.status()["height"] == stepped.height == (await _clock(replay))[1]["height"]
