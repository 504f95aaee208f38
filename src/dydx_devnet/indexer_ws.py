"""The indexer's WebSocket (socks) at ``/v4/ws``.

Message shapes follow ``indexer/services/socks`` (protocol reference 4.4):
``connected`` on open; ``subscribe`` answers ``subscribed`` with the initial
contents (from :func:`dydx_devnet.views.subscribed_contents`), then every engine
:class:`~dydx_devnet.state.DevnetEvent` for that channel and id arrives as
``channel_data`` (or, for ``batched`` subscriptions, collected into
``channel_batch_data`` every :data:`BATCH_INTERVAL_S`); ``unsubscribe`` answers
``unsubscribed``; a JSON ``ping`` answers ``pong``; anything invalid answers
``error`` with socks' own message text and the connection stays open.

Engine listeners run under the engine lock, possibly on a gRPC worker thread:
:meth:`WsHub.on_event` only hands the event to the loop
(``call_soon_threadsafe``); all fan-out happens on the loop. With latency
configured (:mod:`dydx_devnet.latency`), each connection's writer sends every
message that long after it was produced, never before an earlier one.

socks' limits apply (:mod:`dydx_devnet.indexer_limits`): subscriptions per
channel per connection; a connection that re-subscribes one channel and id
too fast, or sends too many invalid messages, is told so and closed (1008).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from dydx_devnet import parent_ws, views
from dydx_devnet.indexer_limits import IndexerLimits
from dydx_devnet.indexer_params import CANDLE_RESOLUTIONS, ENGINE_KEY, MAX_SUBACCOUNT_NUMBER
from dydx_devnet.indexer_ws_guard import WsGuard
from dydx_devnet.latency import Latency
from dydx_devnet.ws_messages import data_message, js

log = logging.getLogger(__name__)

BATCH_INTERVAL_S = 0.05
CHANNEL_VERSIONS = {
    "v4_subaccounts": "3.0.0",
    "v4_markets": "1.0.0",
    "v4_orderbook": "1.0.0",
    "v4_trades": "2.1.0",
    "v4_candles": "1.0.0",
    "v4_block_height": "1.0.0",
    "v4_parent_subaccounts": "3.0.0",
}
# Channels whose subscription takes no id (socks: markets; block height by the same rule here).
_NO_ID_CHANNELS = ("v4_markets", "v4_block_height")
MAX_MESSAGE_BYTES = 64 * 1024
_SUBACCOUNT_NUMBER_RE = re.compile(r"[0-9]{1,6}")

HUB_KEY: web.AppKey[WsHub] = web.AppKey("ws_hub")

SubscriptionKey = tuple[str, str | None]


@dataclass(eq=False)
class Connection:
    """One socket: its id, its message counter and its subscriptions (key -> batched)."""

    ws: web.WebSocketResponse
    connection_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    message_id: int = 0
    subscriptions: dict[SubscriptionKey, bool] = field(default_factory=dict)
    pending_batches: dict[SubscriptionKey, parent_ws.Batch] = field(default_factory=dict)
    flush_scheduled: bool = False
    # (loop time to send at, message); None closes the writer.
    outbox: asyncio.Queue[tuple[float, dict[str, Any]] | None] = field(
        default_factory=asyncio.Queue
    )
    last_due: float = 0.0
    closing: bool = False

    def next_message_id(self) -> int:
        self.message_id += 1
        return self.message_id


class WsHub:
    """All live connections and their subscriptions; lives on the event loop."""

    def __init__(
        self,
        engine: Any,
        loop: asyncio.AbstractEventLoop,
        latency: Latency | None = None,
        limits: IndexerLimits | None = None,
    ) -> None:
        self._engine = engine
        self._loop = loop
        self._latency = latency or Latency()
        self._guard = WsGuard(limits if limits is not None else IndexerLimits(), loop, self._error)
        self._connections: set[Connection] = set()
        self._subscribers: dict[SubscriptionKey, set[Connection]] = {}
        self._closed = False

    # -- engine side (any thread) --

    def on_event(self, event: Any) -> None:
        """Engine listener: hand the event to the loop; never blocks, never raises."""
        if self._closed:
            return
        with contextlib.suppress(RuntimeError):  # loop already closed at shutdown
            self._loop.call_soon_threadsafe(self._dispatch, event)

    # -- loop side --

    def _dispatch(self, event: Any, subaccount_number: int | None = None) -> None:
        key: SubscriptionKey = (
            event.channel,
            None if event.channel in _NO_ID_CHANNELS else event.id,
        )
        for connection in list(self._subscribers.get(key, ())):
            batched = connection.subscriptions.get(key)
            if batched is None:
                continue
            if batched:
                batch = connection.pending_batches.setdefault(key, [])
                batch.append((subaccount_number, event.contents))
                if not connection.flush_scheduled:
                    connection.flush_scheduled = True
                    self._loop.call_later(BATCH_INTERVAL_S, self._flush_batches, connection)
            else:
                message = _channel_message(connection, key, event.contents, subaccount_number)
                self._send(connection, message)
        # Every child update goes again to its parent's channel (v4_parent_subaccounts).
        derived = parent_ws.parent_event(event)
        if derived is not None:
            self._dispatch(*derived)

    def _flush_batches(self, connection: Connection) -> None:
        connection.flush_scheduled = False
        batches, connection.pending_batches = connection.pending_batches, {}
        for key, entries in batches.items():
            if key not in connection.subscriptions or not entries:
                continue
            for number, group in parent_ws.by_subaccount_number(entries).items():
                message = _channel_message(connection, key, group, number)
                message["type"] = "channel_batch_data"
                self._send(connection, message)

    def _send(self, connection: Connection, message: dict[str, Any]) -> None:
        due = max(self._loop.time() + self._latency.sample_s(), connection.last_due)
        connection.last_due = due
        connection.outbox.put_nowait((due, message))

    def _invalid(self, connection: Connection, text: str) -> None:
        """An invalid message: answered; past the limit the connection is closed."""
        self._error(connection, text)
        self._guard.invalid(connection)

    def _error(self, connection: Connection, text: str) -> None:
        self._send(
            connection,
            {
                "type": "error",
                "message": text,
                "connection_id": connection.connection_id,
                "message_id": connection.next_message_id(),
            },
        )

    def _unsubscribe_all(self, connection: Connection) -> None:
        for key in connection.subscriptions:
            subscribers = self._subscribers.get(key)
            if subscribers is not None:
                subscribers.discard(connection)
                if not subscribers:
                    del self._subscribers[key]
        connection.subscriptions.clear()

    # -- protocol --

    def handle_text(self, connection: Connection, text: str) -> None:
        """One client message (socks ``Index.onMessage``)."""
        try:
            parsed = json.loads(text)
        except (ValueError, RecursionError):  # ValueError covers JSONDecodeError and huge ints
            self._invalid(connection, "Invalid message: could not parse")
            return
        if not isinstance(parsed, dict) or not parsed.get("type"):
            self._invalid(connection, "Invalid message: type is required")
            return
        kind = parsed["type"]
        if kind == "subscribe":
            self._subscribe(connection, parsed)
        elif kind == "unsubscribe":
            self._unsubscribe(connection, parsed)
        elif kind == "ping":
            message: dict[str, Any] = {
                "type": "pong",
                "connection_id": connection.connection_id,
                "message_id": connection.next_message_id(),
            }
            if isinstance(parsed.get("id"), str | int):
                message["id"] = parsed["id"]
            self._send(connection, message)
        else:
            self._invalid(connection, f"Invalid message type: {js(kind)}")

    def _validate_message(self, connection: Connection, parsed: dict[str, Any]) -> bool:
        channel = parsed.get("channel")
        if not channel:
            self._error(connection, "Invalid subscribe message: channel is required")
            return False
        if channel not in CHANNEL_VERSIONS:
            self._error(connection, f"Invalid channel: {js(channel)}")
            return False
        if channel not in _NO_ID_CHANNELS and not isinstance(parsed.get("id"), str):
            self._error(connection, f"Invalid id: {js(parsed.get('id'))}")
            return False
        return True

    def _valid_subscription(self, channel: str, channel_id: str | None) -> bool:
        markets = self._engine.markets
        if channel in _NO_ID_CHANNELS:
            return True
        if channel_id is None:
            return False
        if channel == "v4_subaccounts":
            parts = channel_id.split("/")
            if len(parts) != 2 or not _SUBACCOUNT_NUMBER_RE.fullmatch(parts[1]):
                return False
            return int(parts[1]) <= MAX_SUBACCOUNT_NUMBER
        if channel == parent_ws.CHANNEL:
            return parent_ws.valid_id(channel_id)
        if channel in ("v4_orderbook", "v4_trades"):
            return channel_id in markets
        if channel == "v4_candles":
            ticker, _, resolution = channel_id.partition("/")
            return ticker in markets and resolution in CANDLE_RESOLUTIONS
        return False

    def _subscribe(self, connection: Connection, parsed: dict[str, Any]) -> None:
        if not self._validate_message(connection, parsed):
            return
        channel = str(parsed["channel"])
        channel_id = None if channel in _NO_ID_CHANNELS else str(parsed["id"])
        if not self._valid_subscription(channel, channel_id):
            self._error(
                connection,
                f"Invalid subscription id for channel: ({channel}-{js(parsed.get('id'))})",
            )
            return
        key: SubscriptionKey = (channel, channel_id)
        if key in connection.subscriptions:
            self._error(
                connection,
                "Invalid subscribe message: already subscribed "
                f"({channel}-{channel_id or channel})",
            )
            return
        if not self._guard.allow_subscribe(connection, channel, channel_id):
            return
        try:
            contents = self._initial_contents(channel, channel_id)
        except Exception:  # an initial fetch failing is socks' "Internal error" answer
            log.exception("initial contents failed for %s %s", channel, channel_id)
            self._error(
                connection, f"Internal error, could not fetch data for subscription: {channel}."
            )
            return
        connection.subscriptions[key] = bool(parsed.get("batched", False))
        # views.subscribed_contents has told the engine to produce this id's updates.
        self._subscribers.setdefault(key, set()).add(connection)
        message: dict[str, Any] = {
            "type": "subscribed",
            "connection_id": connection.connection_id,
            "message_id": connection.next_message_id(),
            "channel": channel,
        }
        if channel != "v4_markets":
            message["id"] = channel_id if channel_id is not None else channel
        message["contents"] = contents
        self._send(connection, message)

    def _initial_contents(self, channel: str, channel_id: str | None) -> Any:
        if channel == "v4_subaccounts" and channel_id is not None:
            owner, _, number = channel_id.rpartition("/")
            # socks answers "{}" for a subaccount the indexer has never seen (its REST
            # 404); updates follow once the subaccount is funded.
            if views.subaccount(self._engine, owner, int(number)) is None:
                return {}
        if channel == parent_ws.CHANNEL and channel_id is not None:
            return parent_ws.snapshot(self._engine, channel_id)
        return views.subscribed_contents(self._engine, channel, channel_id)

    def _unsubscribe(self, connection: Connection, parsed: dict[str, Any]) -> None:
        if not self._validate_message(connection, parsed):
            return
        channel = str(parsed["channel"])
        channel_id = None if channel in _NO_ID_CHANNELS else str(parsed["id"])
        key: SubscriptionKey = (channel, channel_id)
        if connection.subscriptions.pop(key, None) is not None:
            connection.pending_batches.pop(key, None)
            subscribers = self._subscribers.get(key)
            if subscribers is not None:
                subscribers.discard(connection)
                if not subscribers:
                    del self._subscribers[key]
        message: dict[str, Any] = {
            "type": "unsubscribed",
            "connection_id": connection.connection_id,
            "message_id": connection.next_message_id(),
            "channel": channel,
        }
        if channel != "v4_markets":
            message["id"] = channel_id if channel_id is not None else channel
        self._send(connection, message)

    # -- sockets --

    async def serve(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=30.0, max_msg_size=MAX_MESSAGE_BYTES)
        await ws.prepare(request)
        connection = Connection(ws)
        self._connections.add(connection)
        writer = asyncio.create_task(self._write_loop(connection))
        self._send(
            connection,
            {"type": "connected", "connection_id": connection.connection_id, "message_id": 0},
        )
        try:
            async for message in ws:
                if message.type == WSMsgType.ERROR:
                    break
                if message.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
                    continue
                data = message.data
                text = data if isinstance(data, str) else data.decode("utf-8", errors="replace")
                try:
                    self.handle_text(connection, text)
                except Exception:  # as socks: one bad message never ends the connection
                    log.exception("websocket message failed")
                    self._error(connection, "Internal error")
        finally:
            self._unsubscribe_all(connection)
            self._connections.discard(connection)
            connection.outbox.put_nowait(None)
            with contextlib.suppress(asyncio.CancelledError):
                await writer
        return ws

    async def _write_loop(self, connection: Connection) -> None:
        while True:
            item = await connection.outbox.get()
            if item is None or connection.ws.closed:
                return
            due, message = item
            wait = due - self._loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                await connection.ws.send_str(json.dumps(message))
            except (ConnectionError, RuntimeError):
                return

    async def close(self) -> None:
        """Close every socket (devnet shutdown): code 1012 'service restart' as socks does."""
        self._closed = True
        for connection in list(self._connections):
            with contextlib.suppress(Exception):
                await connection.ws.close(
                    code=1012, message=json.dumps({"message": "Service restarting"}).encode()
                )


def _channel_message(
    connection: Connection, key: SubscriptionKey, contents: Any, number: int | None
) -> dict[str, Any]:
    channel, channel_id = key
    return data_message(
        connection, channel, channel_id, CHANNEL_VERSIONS[channel], contents, number
    )


def install(app: web.Application, hub: WsHub) -> None:
    """Serve ``/v4/ws`` on ``app`` with ``hub``."""
    app[HUB_KEY] = hub
    app.router.add_get("/v4/ws", hub.serve)


__all__ = ["BATCH_INTERVAL_S", "CHANNEL_VERSIONS", "ENGINE_KEY", "WsHub", "install"]
