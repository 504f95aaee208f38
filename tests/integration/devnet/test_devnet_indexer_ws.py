"""The devnet's indexer WebSocket speaks socks' message shapes."""

from __future__ import annotations

import asyncio
import json
import queue
import random
import threading
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from dydx_v4_client import OrderFlags
from dydx_v4_client.indexer.socket.websocket import IndexerSocket
from dydx_v4_client.node.message import order as build_order
from dydx_v4_client.node.message import order_id as build_order_id
from v4_proto.dydxprotocol.clob.order_pb2 import Order

from dydx_devnet.server import Devnet

FIXTURES_KEYS = {
    "connected": {"type", "connection_id", "message_id"},
    "subscribed": {"type", "connection_id", "message_id", "channel", "id", "contents"},
    "channel_data": {"type", "connection_id", "message_id", "channel", "id", "version", "contents"},
}


async def receive(ws: aiohttp.ClientWebSocketResponse, timeout: float = 5.0) -> dict[str, Any]:
    message = await asyncio.wait_for(ws.receive_json(), timeout)
    assert isinstance(message, dict)
    return message


async def receive_until(
    ws: aiohttp.ClientWebSocketResponse, predicate: Any, timeout: float = 5.0
) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        remaining = deadline - asyncio.get_running_loop().time()
        if remaining <= 0:
            raise TimeoutError("no matching message")
        message = await receive(ws, remaining)
        if predicate(message):
            return message


async def test_connect_when_opened_then_connected_message_with_id_zero(devnet: Devnet) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(devnet.websocket_url) as ws:
        message = await receive(ws)

    assert set(message) == FIXTURES_KEYS["connected"]
    assert message["type"] == "connected" and message["message_id"] == 0


async def test_block_height_when_subscribed_then_snapshot_then_increasing_heights(
    devnet: Devnet,
) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(devnet.websocket_url) as ws:
        await receive(ws)
        await ws.send_json({"type": "subscribe", "channel": "v4_block_height"})
        subscribed = await receive(ws)
        first = await receive_until(ws, lambda m: m["type"] == "channel_data")
        second = await receive_until(ws, lambda m: m["type"] == "channel_data")

    assert subscribed["type"] == "subscribed" and subscribed["channel"] == "v4_block_height"
    assert set(subscribed["contents"]) == {"height", "time"}
    assert set(first) == FIXTURES_KEYS["channel_data"]
    assert first["version"] == "1.0.0"
    assert set(first["contents"]) == {"blockHeight", "time"}
    assert int(second["contents"]["blockHeight"]) > int(first["contents"]["blockHeight"])
    assert second["message_id"] > first["message_id"] > subscribed["message_id"]


async def test_markets_when_subscribed_then_snapshot_of_every_market_without_id(
    devnet: Devnet,
) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(devnet.websocket_url) as ws:
        await receive(ws)
        await ws.send_json({"type": "subscribe", "channel": "v4_markets", "batched": True})
        subscribed = await receive(ws)
        update = await receive_until(ws, lambda m: m["type"] == "channel_batch_data")

    assert "id" not in subscribed
    assert set(subscribed["contents"]["markets"]) == {"BTC-USD", "ETH-USD", "SOL-USD"}
    assert isinstance(update["contents"], list) and update["contents"]
    assert "id" not in update and update["channel"] == "v4_markets"


async def test_subaccount_when_order_fills_then_channel_data_carries_fill_and_position(
    demo_trader: Any,
) -> None:
    devnet: Devnet = demo_trader.devnet
    channel_id = f"{demo_trader.address}/0"
    async with aiohttp.ClientSession() as session, session.ws_connect(devnet.websocket_url) as ws:
        await receive(ws)
        await ws.send_json({"type": "subscribe", "channel": "v4_subaccounts", "id": channel_id})
        subscribed = await receive(ws)
        assert subscribed["id"] == channel_id
        assert subscribed["contents"]["subaccount"]["equity"] == "10000"
        assert subscribed["contents"]["orders"] == []

        m = (await demo_trader.indexer.markets.get_perpetual_markets("ETH-USD"))["markets"][
            "ETH-USD"
        ]
        height = await demo_trader.node.latest_block_height()
        worst = Decimal(m["oraclePrice"]) * Decimal("1.02")
        exponent = m["atomicResolution"] - m["quantumConversionExponent"] + 6
        subticks = int(worst.scaleb(exponent)) // m["subticksPerTick"] * m["subticksPerTick"]
        oid = build_order_id(
            demo_trader.address, 0, random.randint(0, 2**32 - 1), 1, OrderFlags.SHORT_TERM
        )
        order = build_order(
            oid,
            Order.Side.SIDE_BUY,
            quantums=m["stepBaseQuantums"],
            subticks=subticks,
            time_in_force=Order.TimeInForce.TIME_IN_FORCE_IOC,
            reduce_only=False,
            good_til_block=height + 10,
        )
        response = await demo_trader.node.place_order(demo_trader.wallet, order)
        assert response.tx_response.code == 0

        update = await receive_until(
            ws, lambda msg: msg["type"] == "channel_data" and "fills" in msg["contents"]
        )

    assert update["version"] == "3.0.0" and update["id"] == channel_id
    fill = update["contents"]["fills"][0]
    assert fill["side"] == "BUY" and fill["ticker"] == "ETH-USD"
    assert "perpetualPositions" in update["contents"] or "assetPositions" in update["contents"]


async def test_orderbook_when_batched_then_snapshot_levels_and_batch_of_deltas(
    demo_trader: Any,
) -> None:
    devnet: Devnet = demo_trader.devnet
    m = (await demo_trader.indexer.markets.get_perpetual_markets("BTC-USD"))["markets"]["BTC-USD"]
    exponent = m["atomicResolution"] - m["quantumConversionExponent"] + 6
    spt = m["subticksPerTick"]
    async with aiohttp.ClientSession() as session, session.ws_connect(devnet.websocket_url) as ws:
        await receive(ws)
        await ws.send_json(
            {"type": "subscribe", "channel": "v4_orderbook", "id": "BTC-USD", "batched": True}
        )
        subscribed = await receive(ws)
        bids = subscribed["contents"]["bids"]
        # A resting bid one tick under the lowest level: a price no synthetic level uses.
        lowest = min(Decimal(level["price"]) for level in bids)
        subticks = int(lowest.scaleb(exponent)) // spt * spt - spt
        price = Decimal(subticks).scaleb(-exponent)
        height = await demo_trader.node.latest_block_height()
        order = build_order(
            build_order_id(demo_trader.address, 0, 777, 0, OrderFlags.SHORT_TERM),
            Order.Side.SIDE_BUY,
            quantums=m["stepBaseQuantums"],
            subticks=subticks,
            time_in_force=Order.TimeInForce.TIME_IN_FORCE_UNSPECIFIED,
            reduce_only=False,
            good_til_block=height + 15,
        )
        placed = await demo_trader.node.place_order(demo_trader.wallet, order)
        assert placed.tx_response.code == 0, placed.tx_response.raw_log

        def has_our_level(message: dict[str, Any]) -> bool:
            if message["type"] != "channel_batch_data":
                return False
            return any(
                Decimal(level[0]) == price
                for delta in message["contents"]
                for level in delta.get("bids", [])
            )

        batch = await receive_until(ws, has_our_level, timeout=10)

    asks = subscribed["contents"]["asks"]
    assert bids and asks
    assert Decimal(bids[0]["price"]) < Decimal(asks[0]["price"])
    assert batch["id"] == "BTC-USD" and batch["version"] == "1.0.0"
    assert isinstance(batch["contents"], list)
    for delta in batch["contents"]:
        for side in ("bids", "asks"):
            for level_price, size in delta.get(side, []):
                assert Decimal(level_price) > 0 and Decimal(size) >= 0


async def test_bad_messages_when_sent_then_socks_errors_and_connection_keeps_serving(
    roomy_devnet: Devnet,
) -> None:
    devnet = roomy_devnet
    async with aiohttp.ClientSession() as session, session.ws_connect(devnet.websocket_url) as ws:
        await receive(ws)
        answers = []
        for raw in (
            "{not json",
            json.dumps({"channel": "v4_trades"}),
            json.dumps({"type": "dance"}),
            json.dumps({"type": "subscribe"}),
            json.dumps({"type": "subscribe", "channel": "v4_nothing", "id": "x"}),
            json.dumps({"type": "subscribe", "channel": "v4_trades"}),
            json.dumps({"type": "subscribe", "channel": "v4_trades", "id": "NOPE-USD"}),
            json.dumps({"type": "subscribe", "channel": "v4_candles", "id": "BTC-USD/2MINS"}),
            json.dumps({"type": "subscribe", "channel": "v4_subaccounts", "id": "dydx1x/9" * 3}),
            "[1, 2, 3]",
            "9" * 5000,
        ):
            await ws.send_str(raw)
            answers.append(await receive(ws))
        await ws.send_json({"type": "ping"})
        pong = await receive(ws)
        await ws.send_json({"type": "subscribe", "channel": "v4_trades", "id": "ETH-USD"})
        subscribed = await receive(ws)
        await ws.send_json({"type": "subscribe", "channel": "v4_trades", "id": "ETH-USD"})
        duplicate = await receive(ws)
        await ws.send_json({"type": "unsubscribe", "channel": "v4_trades", "id": "ETH-USD"})
        unsubscribed = await receive_until(ws, lambda m: m["type"] == "unsubscribed")

    assert [a["type"] for a in answers] == ["error"] * len(answers)
    assert [a["message"] for a in answers[:8]] == [
        "Invalid message: could not parse",
        "Invalid message: type is required",
        "Invalid message type: dance",
        "Invalid subscribe message: channel is required",
        "Invalid channel: v4_nothing",
        "Invalid id: undefined",
        "Invalid subscription id for channel: (v4_trades-NOPE-USD)",
        "Invalid subscription id for channel: (v4_candles-BTC-USD/2MINS)",
    ]
    assert pong["type"] == "pong"
    assert subscribed["type"] == "subscribed" and "trades" in subscribed["contents"]
    assert duplicate == {
        "type": "error",
        "message": "Invalid subscribe message: already subscribed (v4_trades-ETH-USD)",
        "connection_id": subscribed["connection_id"],
        "message_id": duplicate["message_id"],
    }
    assert unsubscribed["channel"] == "v4_trades" and unsubscribed["id"] == "ETH-USD"
    # Key set of the real capture nt2024_unsubscribed.json.
    assert set(unsubscribed) == {"type", "connection_id", "message_id", "channel", "id"}


async def test_official_indexer_socket_when_subscribing_candles_then_receives_snapshot(
    devnet: Devnet,
) -> None:
    received: queue.Queue[dict[str, Any]] = queue.Queue()

    def on_open(ws: Any) -> None:
        from dydx_v4_client.indexer.candles_resolution import CandlesResolution

        ws.candles.subscribe("BTC-USD", CandlesResolution.ONE_MINUTE)

    def on_message(ws: Any, message: dict[str, Any]) -> None:
        received.put(message)

    socket = IndexerSocket(devnet.websocket_url, on_open=on_open, on_message=on_message)
    thread = threading.Thread(target=socket.run_forever, daemon=True)
    thread.start()
    try:
        messages = []
        while not any(m.get("type") == "subscribed" for m in messages):
            messages.append(await asyncio.to_thread(received.get, True, 5))
    finally:
        # Off the loop: close() waits for the server's close frame, served by this loop.
        await asyncio.to_thread(socket.close)
        # websocket-client's loop notices the close only on its next select timeout;
        # the daemon thread ends when the devnet closes the connection at teardown.
        thread.join(timeout=0.2)

    assert messages[0]["type"] == "connected"
    subscribed = next(m for m in messages if m["type"] == "subscribed")
    assert subscribed["id"] == "BTC-USD/1MIN"
    candles = subscribed["contents"]["candles"]
    assert candles and all(c["resolution"] == "1MIN" for c in candles)


@pytest.mark.parametrize("channel", ["v4_trades", "v4_orderbook"])
async def test_unsubscribe_when_not_subscribed_then_still_answers_unsubscribed(
    devnet: Devnet, channel: str
) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(devnet.websocket_url) as ws:
        await receive(ws)
        await ws.send_json({"type": "unsubscribe", "channel": channel, "id": "BTC-USD"})
        answer = await receive(ws)

    assert answer["type"] == "unsubscribed" and answer["channel"] == channel


async def test_subaccount_when_never_funded_then_empty_snapshot_then_updates_after_funding(
    devnet: Devnet,
) -> None:
    from dydx_devnet.demo import DEMO_ADDRESS_2

    channel_id = f"{DEMO_ADDRESS_2}/0"
    async with aiohttp.ClientSession() as session, session.ws_connect(devnet.websocket_url) as ws:
        await receive(ws)
        await ws.send_json({"type": "subscribe", "channel": "v4_subaccounts", "id": channel_id})
        subscribed = await receive(ws)
        devnet.fund(DEMO_ADDRESS_2, 123)
        update = await receive_until(ws, lambda m: m["type"] == "channel_data")

    assert subscribed["contents"] == {}
    assets = update["contents"]["assetPositions"]
    assert assets[0]["size"] == "123" and assets[0]["side"] == "LONG"


@pytest.mark.parametrize(
    "channel_id", ["dydx1abc/²", "dydx1abc/" + "9" * 5000, "dydx1abc/128001", "a/b/c", "/"]
)
async def test_subaccount_when_id_malformed_then_invalid_subscription_error(
    devnet: Devnet, channel_id: str
) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(devnet.websocket_url) as ws:
        await receive(ws)
        await ws.send_json({"type": "subscribe", "channel": "v4_subaccounts", "id": channel_id})
        answer = await receive(ws)

    assert answer["type"] == "error"
    assert answer["message"].startswith("Invalid subscription id for channel: (v4_subaccounts-")
