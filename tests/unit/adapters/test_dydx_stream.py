"""The indexer WebSocket client against a scripted socks server on loopback."""

from __future__ import annotations

import asyncio
import gc
import json
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestServer
from dydx_payloads import load_fixture

from dydx_trader.adapters.dydx.stream import IndexerFeed, IndexerStream
from dydx_trader.domain.errors import MalformedPayload, VenueUnavailable
from dydx_trader.domain.venue import (
    CandleResolution,
    CandlesSnapshot,
    CandleUpdate,
    MarketPatch,
    MarketsSnapshot,
    OraclePricesUpdate,
    SubaccountUpdate,
)

Script = Callable[[web.WebSocketResponse, list[dict[str, Any]]], Awaitable[None]]


async def _serve(script: Script, subscriptions: list[dict[str, Any]]) -> TestServer:
    async def handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_json({"type": "connected", "connection_id": "c1", "message_id": 0})
        await script(ws, subscriptions)
        await ws.close()
        return ws

    app = web.Application()
    app.router.add_get("/v4/ws", handler)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return server


def _ws_url(server: TestServer) -> str:
    return str(server.make_url("/v4/ws")).replace("http://", "ws://")


async def _receive_subscriptions(
    ws: web.WebSocketResponse, subscriptions: list[dict[str, Any]], count: int
) -> None:
    while len(subscriptions) < count:
        message = await ws.receive()
        assert message.type is WSMsgType.TEXT
        subscriptions.append(json.loads(message.data))


async def _collect(events: AsyncIterator[Any]) -> tuple[list[Any], Exception | None]:
    seen: list[Any] = []
    try:
        async for event in events:
            seen.append(event)
    except (VenueUnavailable, MalformedPayload) as error:
        return seen, error
    return seen, None


async def test_events_when_markets_and_candles_then_typed_events_and_batched_subscribes() -> None:
    markets_snapshot = load_fixture("indexer_ws/nt2024_v4_markets_subscribed.json")
    oracle = load_fixture("indexer_ws/nt2024_v4_markets_oracle_price.json")
    trading = load_fixture("indexer_ws/nt2024_v4_markets_cross.json")
    candles_snapshot = load_fixture("indexer_ws/nt2024_v4_candles_subscribed.json")
    candle_update = load_fixture("indexer_ws/nt2024_v4_candles_channel_data.json")

    async def script(ws: web.WebSocketResponse, subscriptions: list[dict[str, Any]]) -> None:
        await _receive_subscriptions(ws, subscriptions, 2)
        await ws.send_json(markets_snapshot)
        await ws.send_json(
            {
                "type": "channel_batch_data",
                "channel": "v4_markets",
                "contents": [oracle["contents"], trading["contents"]],
            }
        )
        await ws.send_json(candles_snapshot)
        await ws.send_json(candle_update)

    subscriptions: list[dict[str, Any]] = []
    server = await _serve(script, subscriptions)
    try:
        feed = IndexerFeed(_ws_url(server), subscribe_interval_s=0)
        events, error = await _collect(feed.events([("ETH-USD", CandleResolution.ONE_MINUTE)]))
    finally:
        await server.close()
    assert subscriptions == [
        {"type": "subscribe", "channel": "v4_markets", "batched": True},
        {"type": "subscribe", "channel": "v4_candles", "id": "ETH-USD/1MIN", "batched": True},
    ]
    kinds = [type(e) for e in events]
    assert kinds == [
        MarketsSnapshot,
        OraclePricesUpdate,
        MarketPatch,
        CandlesSnapshot,
        CandleUpdate,
    ]
    assert events[1].prices[0].price == Decimal("0.3866273177")
    assert isinstance(error, VenueUnavailable)  # the server closed: the caller decides to reconnect


async def test_account_events_when_subscribed_then_fill_then_snapshot_orders_and_fill_updates() -> (
    None
):
    fills = load_fixture("indexer_ws/nt2024_v4_accounts_fills.json")
    subscribed = load_fixture("indexer_ws/nt2024_v4_accounts_subscribed.json")

    async def script(ws: web.WebSocketResponse, subscriptions: list[dict[str, Any]]) -> None:
        await _receive_subscriptions(ws, subscriptions, 1)
        await ws.send_json(subscribed)
        await ws.send_json(fills)

    subscriptions: list[dict[str, Any]] = []
    server = await _serve(script, subscriptions)
    address = "dydx1kzsvkf2ghjqlysuffdkhcdctknl4rsvcx5hkm5"
    try:
        events, _ = await _collect(IndexerFeed(_ws_url(server)).account_events(address, 0))
    finally:
        await server.close()
    assert subscriptions == [
        {"type": "subscribe", "channel": "v4_subaccounts", "id": f"{address}/0"}
    ]
    snapshot, update = events
    assert isinstance(snapshot, SubaccountUpdate) and isinstance(update, SubaccountUpdate)
    assert len(snapshot.orders) == 1 and snapshot.fills == ()  # resting at subscription
    assert len(update.fills) == 2


async def test_messages_when_server_sends_error_then_venue_unavailable_with_its_text() -> None:
    error_message = load_fixture("indexer_ws/nt2024_error.json")

    async def script(ws: web.WebSocketResponse, subscriptions: list[dict[str, Any]]) -> None:
        await _receive_subscriptions(ws, subscriptions, 1)
        await ws.send_json(error_message)
        await asyncio.sleep(0.2)

    server = await _serve(script, [])
    try:
        _, error = await _collect(IndexerFeed(_ws_url(server)).events())
    finally:
        await server.close()
    assert isinstance(error, VenueUnavailable)
    assert "could not fetch data" in error.message


async def test_messages_when_payload_broken_then_malformed_payload() -> None:
    async def script(ws: web.WebSocketResponse, subscriptions: list[dict[str, Any]]) -> None:
        await _receive_subscriptions(ws, subscriptions, 1)
        await ws.send_json(
            {
                "type": "channel_data",
                "channel": "v4_markets",
                "contents": {"oraclePrices": {"BTC-USD": {"oraclePrice": "NaN"}}},
            }
        )
        await asyncio.sleep(0.2)

    server = await _serve(script, [])
    try:
        _, error = await _collect(IndexerFeed(_ws_url(server)).events())
    finally:
        await server.close()
    assert isinstance(error, MalformedPayload)


async def test_messages_when_server_goes_silent_then_venue_unavailable_after_receive_timeout() -> (
    None
):
    async def script(ws: web.WebSocketResponse, subscriptions: list[dict[str, Any]]) -> None:
        await asyncio.sleep(5)

    server = await _serve(script, [])
    try:
        async with IndexerStream(_ws_url(server), receive_timeout_s=0.3) as stream:
            with pytest.raises(VenueUnavailable, match="silent"):
                async for _ in stream.messages():
                    pass
    finally:
        await server.close()


async def test_connect_when_nothing_listens_then_venue_unavailable() -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(VenueUnavailable, match="unreachable"):
        await IndexerStream(f"ws://127.0.0.1:{port}/v4/ws", connect_timeout_s=1).connect()


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")
async def test_connect_when_wss_certificate_untrusted_then_refused(tmp_path: Path) -> None:
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    openssl = shutil.which("openssl")
    assert openssl is not None
    subprocess.run(  # noqa: S603 - fixed arguments
        [
            openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    async def handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.close()
        return ws

    app = web.Application()
    app.router.add_get("/v4/ws", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        with pytest.raises(VenueUnavailable):
            await IndexerStream(f"wss://127.0.0.1:{port}/v4/ws", connect_timeout_s=2).connect()
    finally:
        await runner.cleanup()


async def test_connect_when_cancelled_mid_handshake_then_no_session_left_open() -> None:
    # Found by the fault soak: a trader stopped while its account stream was still
    # connecting left an aiohttp session open ("Unclosed client session").
    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(30)

    server = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    loop = asyncio.get_running_loop()
    complaints: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: complaints.append(context))
    try:
        stream = IndexerStream(f"ws://127.0.0.1:{port}/v4/ws", connect_timeout_s=30)
        connecting = asyncio.ensure_future(stream.connect())
        await asyncio.sleep(0.2)
        connecting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await connecting
        del stream, connecting
        gc.collect()
        await asyncio.sleep(0)
    finally:
        loop.set_exception_handler(None)
        server.close()
    assert [c.get("message") for c in complaints] == []
