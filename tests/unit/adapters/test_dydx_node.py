"""NodeGateway against a real gRPC server on loopback."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from concurrent import futures
from typing import Any

import grpc
import pytest
from v4_proto.cosmos.base.tendermint.v1beta1 import query_pb2, query_pb2_grpc

from dydx_trader.adapters.dydx.network import network_profile
from dydx_trader.adapters.dydx.node import NodeGateway
from dydx_trader.adapters.dydx.retry import RetryPolicy
from dydx_trader.domain.errors import VenueFailure, VenueUnavailable, venue_failure


class _Node(query_pb2_grpc.ServiceServicer):  # type: ignore[misc]
    def __init__(self) -> None:
        self.height = 1234
        self.hang_s = 0.0
        self.fail_with: grpc.StatusCode | None = None
        self.calls = 0
        self.release = threading.Event()

    def GetLatestBlock(self, request: Any, context: Any) -> Any:
        self.calls += 1
        if self.hang_s:
            self.release.wait(self.hang_s)
        if self.fail_with is not None:
            context.abort(self.fail_with, "node says no")
        response = query_pb2.GetLatestBlockResponse()
        response.block.header.height = self.height
        return response


@pytest.fixture
def node() -> Iterator[tuple[_Node, str]]:
    servicer = _Node()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    query_pb2_grpc.add_ServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield servicer, f"127.0.0.1:{port}"
    servicer.release.set()
    server.stop(grace=None)


FAST = RetryPolicy(max_attempts=3, max_total_s=3.0, base_delay_s=0.01, max_delay_s=0.02)


async def _gateway(address: str, timeout_s: float = 1.0, retry: RetryPolicy = FAST) -> NodeGateway:
    profile = network_profile("devnet", grpc_address=address)
    return await NodeGateway.connect(profile, timeout_s=timeout_s, retry=retry)


async def test_latest_block_height_when_node_answers_then_height(node: tuple[_Node, str]) -> None:
    servicer, address = node
    async with await _gateway(address) as gateway:
        assert await gateway.latest_block_height() == 1234
    assert servicer.calls == 1


async def test_latest_block_height_when_node_hangs_then_deadline_and_loop_stays_live(
    node: tuple[_Node, str],
) -> None:
    servicer, address = node
    servicer.hang_s = 5.0
    ticks = 0
    longest_gap = 0.0

    async def heartbeat() -> None:
        nonlocal ticks, longest_gap
        last = time.monotonic()
        while True:
            await asyncio.sleep(0.01)
            now = time.monotonic()
            longest_gap = max(longest_gap, now - last)
            last = now
            ticks += 1

    beat = asyncio.create_task(heartbeat())
    started = time.monotonic()
    async with await _gateway(address, timeout_s=0.3, retry=RetryPolicy(max_attempts=1)) as gateway:
        with pytest.raises(VenueUnavailable):
            await gateway.latest_block_height()
    elapsed = time.monotonic() - started
    beat.cancel()
    assert elapsed < 0.3 + 0.5
    assert ticks > 10
    assert longest_gap < 0.1  # the blocking stub never ran on the event loop


async def test_latest_block_height_when_unavailable_then_retried(node: tuple[_Node, str]) -> None:
    servicer, address = node
    servicer.fail_with = grpc.StatusCode.UNAVAILABLE
    async with await _gateway(address) as gateway:
        with pytest.raises(VenueUnavailable, match="UNAVAILABLE") as raised:
            await gateway.latest_block_height()
    assert servicer.calls == FAST.max_attempts
    assert venue_failure(raised.value) is VenueFailure.TRANSIENT


async def test_latest_block_height_when_invalid_argument_then_not_retried(
    node: tuple[_Node, str],
) -> None:
    servicer, address = node
    servicer.fail_with = grpc.StatusCode.INVALID_ARGUMENT
    async with await _gateway(address) as gateway:
        with pytest.raises(VenueUnavailable, match="INVALID_ARGUMENT") as raised:
            await gateway.latest_block_height()
    assert servicer.calls == 1
    assert venue_failure(raised.value) is VenueFailure.DEFINITIVE


async def test_latest_block_height_when_nothing_listens_then_venue_unavailable() -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.monotonic()
    async with await _gateway(f"127.0.0.1:{port}", timeout_s=0.5) as gateway:
        with pytest.raises(VenueUnavailable):
            await gateway.latest_block_height()
    assert time.monotonic() - started < 3.0
