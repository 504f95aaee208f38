"""Latency: every gRPC call, REST answer and WebSocket message is held, nothing else waits.

Assertions are on lower bounds (an answer was held at least the configured
delay) and on the order in which things finish, never on speed.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from dydx_v4_client.node.client import NodeClient

from dydx_devnet.server import Devnet, DevnetConfig

LATENCY_MS = 120


@pytest.fixture
async def slow_devnet() -> AsyncIterator[Devnet]:
    config = DevnetConfig(
        indexer_port=0,
        grpc_port=0,
        auto_blocks=False,
        markets=("BTC-USD",),
        latency_ms=LATENCY_MS,
    )
    async with Devnet(config) as devnet:
        yield devnet


async def _timed_get(session: aiohttp.ClientSession, url: str) -> float:
    started = time.monotonic()
    async with session.get(url) as response:
        await response.read()
    return time.monotonic() - started


async def test_rest_when_latency_set_then_each_answer_is_held_without_blocking_the_loop(
    slow_devnet: Devnet,
) -> None:
    async with aiohttp.ClientSession() as session:
        held = asyncio.create_task(_timed_get(session, slow_devnet.indexer_url + "/v4/height"))
        control = asyncio.create_task(
            _timed_get(session, slow_devnet.indexer_url + "/devnet/faults")
        )

        done, _ = await asyncio.wait({held, control}, return_when=asyncio.FIRST_COMPLETED)

        assert done == {control}  # the loop kept serving while /v4/height was held
        assert await held >= LATENCY_MS / 1000


async def test_grpc_when_latency_set_then_calls_are_held_outside_the_engine_lock(
    slow_devnet: Devnet,
) -> None:
    node = await NodeClient.connect(slow_devnet.network().node)
    slow_devnet.faults.latency.set(600)  # room for a slow machine to produce a block meanwhile
    finished: list[str] = []

    def query() -> None:
        started = time.monotonic()
        asyncio.run(node.latest_block_height())
        finished.append(f"grpc {time.monotonic() - started:.3f}")

    worker = threading.Thread(target=query)
    worker.start()
    await asyncio.sleep(0.05)
    assert slow_devnet.engine is not None
    await asyncio.to_thread(slow_devnet.engine.advance_block)  # needs the engine lock
    finished.append("block")
    await asyncio.to_thread(worker.join)

    assert finished[0] == "block" and finished[1].startswith("grpc")
    assert float(finished[1].split()[1]) >= 0.6


async def test_websocket_when_latency_with_jitter_then_messages_arrive_late_and_in_order() -> None:
    config = DevnetConfig(
        indexer_port=0,
        grpc_port=0,
        auto_blocks=False,
        markets=("BTC-USD",),
        latency_ms=20,
        latency_jitter_ms=60,
    )
    async with Devnet(config) as devnet, aiohttp.ClientSession() as session:
        async with session.ws_connect(devnet.websocket_url) as ws:
            await ws.receive_json()  # connected
            await ws.send_str(json.dumps({"type": "subscribe", "channel": "v4_block_height"}))
            assert (await ws.receive_json())["type"] == "subscribed"
            produced_at = time.monotonic()
            await devnet.advance_blocks(12)
            heights = []
            for _ in range(12):
                heights.append(int((await ws.receive_json())["contents"]["blockHeight"]))
            arrived = time.monotonic() - produced_at

    assert heights == sorted(heights) and len(set(heights)) == 12
    assert arrived >= 0.02


async def test_faults_when_latency_changed_over_http_then_state_shows_it(
    slow_devnet: Devnet,
) -> None:
    async with aiohttp.ClientSession() as session:
        url = slow_devnet.indexer_url + "/devnet/faults"
        async with session.post(url, json={"latency": {"ms": 5, "jitter_ms": 2}}) as response:
            body = await response.json()
        async with session.post(url, json={"latency": {"ms": -5}}) as refused:
            error = await refused.json()

    assert body["latency"] == {"ms": 5, "jitter_ms": 2}
    assert refused.status == 400 and "latency ms" in error["errors"][0]["msg"]


def test_devnet_config_when_latency_negative_then_refused() -> None:
    with pytest.raises(ValueError, match="latency ms"):
        DevnetConfig(latency_ms=-1)
