"""Indexer WebSocket (``/v4/ws``): markets, candles and our subaccount, live.

Why not the official ``IndexerSocket``: in dydx-v4-client 1.1.5 it subclasses
``websocket-client``'s ``WebSocketApp``, whose ``run_forever`` *blocks* the
thread that calls it (so an ``async`` caller freezes its event loop), and it
defaults to ``sslopt={"cert_reqs": ssl.CERT_NONE}``: TLS without certificate
verification (trap T8). This module speaks the same protocol (socks
``types.ts``: ``subscribe``/``subscribed``/``channel_data``/
``channel_batch_data``/``error``) over aiohttp's asyncio WebSocket client,
with certificate verification on, a connect deadline, heartbeats and a receive
deadline so a silent connection is noticed.

Messages become domain events in :mod:`.mapping`. When the connection ends for
any reason the iterator raises ``VenueUnavailable``; reconnecting (and
re-reading what may have been missed over REST) is the caller's decision.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import AsyncIterator, Iterable, Sequence
from types import TracebackType

import aiohttp

from dydx_trader.adapters.dydx import mapping
from dydx_trader.adapters.dydx.indexer import check_address, check_ticker
from dydx_trader.domain.errors import InvalidInput, MalformedPayload, VenueUnavailable
from dydx_trader.domain.venue import CandleResolution, MarketEvent, SubaccountUpdate

MARKETS = "v4_markets"
CANDLES = "v4_candles"
SUBACCOUNTS = "v4_subaccounts"

# socks allows 2 subscribe messages per second per connection.
DEFAULT_SUBSCRIBE_INTERVAL_S = 0.55


class IndexerStream:
    """One WebSocket connection to the indexer.

    ``connect_timeout_s`` bounds the handshake; ``receive_timeout_s`` is the
    longest silence tolerated (the indexer sends pings every few seconds);
    ``heartbeat_s`` is how often we ping. All in seconds.
    """

    def __init__(
        self,
        url: str,
        *,
        connect_timeout_s: float = 10.0,
        receive_timeout_s: float = 30.0,
        heartbeat_s: float = 10.0,
        subscribe_interval_s: float = DEFAULT_SUBSCRIBE_INTERVAL_S,
    ) -> None:
        if not url.startswith(("ws://", "wss://")):
            raise InvalidInput(f"websocket URL {url!r} must start with ws:// or wss://")
        self.url = url
        self._connect_timeout_s = connect_timeout_s
        self._receive_timeout_s = receive_timeout_s
        self._heartbeat_s = heartbeat_s
        self._subscribe_interval_s = subscribe_interval_s
        self._session: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._subscribed = 0

    async def __aenter__(self) -> IndexerStream:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def connect(self) -> None:
        """Open the connection; :class:`VenueUnavailable` if it cannot."""
        # Certificates are verified (the default context); plain ws:// is only
        # accepted by the network profile for loopback.
        tls: ssl.SSLContext | bool = (
            ssl.create_default_context() if self.url.startswith("wss://") else False
        )
        self._session = aiohttp.ClientSession()
        try:
            async with asyncio.timeout(self._connect_timeout_s):
                self._ws = await self._session.ws_connect(
                    self.url, ssl=tls, heartbeat=self._heartbeat_s, autoping=True
                )
        except (aiohttp.ClientError, TimeoutError, OSError) as error:
            await self.close()
            raise VenueUnavailable(
                f"indexer websocket {self.url} unreachable: {type(error).__name__}"
            ) from None
        except BaseException:
            # Cancelled while connecting (the trader stopping): leave no session open.
            await self.close()
            raise

    async def close(self) -> None:
        """Close the connection and its session (idempotent)."""
        ws, self._ws = self._ws, None
        session, self._session = self._session, None
        if ws is not None:
            await ws.close()
        if session is not None:
            await session.close()

    async def subscribe(self, channel: str, channel_id: str | None = None) -> None:
        """Subscribe (batched where the channel supports it), paced to the
        indexer's subscribe rate limit."""
        ws = self._require_open()
        message: dict[str, object] = {"type": "subscribe", "channel": channel}
        if channel_id is not None:
            message["id"] = channel_id
        if channel != SUBACCOUNTS:  # socks does not batch v4_subaccounts
            message["batched"] = True
        if self._subscribed and self._subscribe_interval_s > 0:
            await asyncio.sleep(self._subscribe_interval_s)
        self._subscribed += 1
        try:
            await ws.send_str(json.dumps(message))
        except (aiohttp.ClientError, ConnectionError) as error:
            raise VenueUnavailable(
                f"indexer websocket send failed: {type(error).__name__}"
            ) from None

    async def messages(self) -> AsyncIterator[dict[str, object]]:
        """Decoded server messages until the connection ends (then
        :class:`VenueUnavailable`); an ``error`` message also ends it."""
        ws = self._require_open()
        while True:
            try:
                async with asyncio.timeout(self._receive_timeout_s):
                    frame = await ws.receive()
            except TimeoutError:
                raise VenueUnavailable(
                    f"indexer websocket silent for {self._receive_timeout_s:g} s"
                ) from None
            if frame.type in (
                aiohttp.WSMsgType.CLOSE,
                aiohttp.WSMsgType.CLOSING,
                aiohttp.WSMsgType.CLOSED,
                aiohttp.WSMsgType.ERROR,
            ):
                raise VenueUnavailable(f"indexer websocket {self.url} closed")
            if frame.type is not aiohttp.WSMsgType.TEXT:
                continue
            try:
                message = json.loads(frame.data)
            except ValueError:
                raise MalformedPayload("indexer websocket sent invalid JSON") from None
            if not isinstance(message, dict):
                raise MalformedPayload("indexer websocket sent a non-object message")
            if message.get("type") == "error":
                text = str(message.get("message", ""))[:200]
                raise VenueUnavailable(f"indexer websocket error: {text}")
            yield message

    def _require_open(self) -> aiohttp.ClientWebSocketResponse:
        if self._ws is None:
            raise VenueUnavailable("indexer websocket is not connected")
        return self._ws


def _contents(message: dict[str, object]) -> Iterable[object]:
    """The message's contents, one item per update (batched messages carry a list)."""
    contents = message.get("contents")
    if message.get("type") == "channel_batch_data":
        if not isinstance(contents, list):
            raise MalformedPayload("channel_batch_data contents is not a list", field="contents")
        return contents
    return [contents]


def market_events(message: dict[str, object]) -> list[MarketEvent]:
    """The domain events in one ``v4_markets`` or ``v4_candles`` message."""
    kind = message.get("type")
    if kind not in ("subscribed", "channel_data", "channel_batch_data"):
        return []
    channel = message.get("channel")
    events: list[MarketEvent] = []
    if channel == MARKETS:
        for contents in _contents(message):
            events.extend(mapping.parse_markets_channel(contents))
    elif channel == CANDLES:
        channel_id = message.get("id")
        if not isinstance(channel_id, str):
            raise MalformedPayload("v4_candles message without an id", field="id")
        for contents in _contents(message):
            events.append(
                mapping.parse_candles_channel(channel_id, contents, snapshot=kind == "subscribed")
            )
    return events


class IndexerFeed:
    """The indexer WebSocket as the app's ``MarketFeed`` (and an account feed)."""

    def __init__(self, url: str, **stream_options: float) -> None:
        self.url = url
        self._options = stream_options

    async def events(
        self, candles: Sequence[tuple[str, CandleResolution]] = ()
    ) -> AsyncIterator[MarketEvent]:
        """Every market (snapshot, then updates) and the given candle series."""
        async with IndexerStream(self.url, **self._options) as stream:
            for ticker, _ in candles:
                check_ticker(ticker)
            await stream.subscribe(MARKETS)
            for ticker, resolution in candles:
                await stream.subscribe(CANDLES, f"{ticker}/{CandleResolution(resolution).value}")
            async for message in stream.messages():
                for event in market_events(message):
                    yield event

    async def account_events(
        self, address: str, subaccount_number: int
    ) -> AsyncIterator[SubaccountUpdate]:
        """Fills, order changes and transfers of one subaccount.

        The first update is the subscription's snapshot: the orders resting when
        the connection opened (so an order placed elsewhere shows at once).
        """
        check_address(address)
        async with IndexerStream(self.url, **self._options) as stream:
            await stream.subscribe(SUBACCOUNTS, f"{address}/{subaccount_number}")
            async for message in stream.messages():
                if message.get("channel") != SUBACCOUNTS:
                    continue
                if message.get("type") in ("subscribed", "channel_data", "channel_batch_data"):
                    for contents in _contents(message):
                        yield mapping.parse_subaccounts_channel(contents)
