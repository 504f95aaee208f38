"""socks' WebSocket limits for one hub (:mod:`dydx_devnet.indexer_limits` has the numbers).

A connection may hold only so many subscriptions per channel (an error, the
connection stays open). Re-subscribing one channel and id too fast, or sending
too many invalid messages, is answered with an error and the connection is
closed with 1008 (policy violation) once that error has left.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from typing import Any

from dydx_devnet.indexer_limits import WS_CLOSE_POLICY_VIOLATION, FixedWindows, IndexerLimits


class WsGuard:
    """Counts one hub's connections against the limits; ``error`` sends an error message."""

    def __init__(
        self,
        limits: IndexerLimits,
        loop: asyncio.AbstractEventLoop,
        error: Callable[[Any, str], None],
    ) -> None:
        self._limits = limits
        self._loop = loop
        self._error = error
        self._windows = FixedWindows()

    def invalid(self, connection: Any) -> None:
        """Count an invalid message of ``connection``; too many close it."""
        limits = self._limits
        if not limits.enabled:
            return
        key = (connection.connection_id, "invalid")
        if not self._windows.consume(key, limits.ws_invalid_points, limits.ws_window_s).allowed:
            self._error(connection, "Too many invalid messages. Please reconnect and try again.")
            self._close(connection)

    def allow_subscribe(self, connection: Any, channel: str, channel_id: str | None) -> bool:
        """The per-connection channel cap and subscribe rate; False = refused (answered)."""
        limits = self._limits
        if not limits.enabled:
            return True
        cap = limits.channel_limit(channel)
        if sum(1 for c, _ in connection.subscriptions if c == channel) >= cap:
            self._error(
                connection,
                f"Per-connection subscription limit reached for {channel} (limit={cap}).",
            )
            return False
        subscription = channel_id or channel
        key = (connection.connection_id, "subscribe", channel, subscription)
        if not self._windows.consume(key, limits.ws_subscribe_points, limits.ws_window_s).allowed:
            self._error(
                connection,
                f"Too many subscribe attempts for channel {channel}-{subscription}. Please  "
                "reconnect and try again.",
            )
            self._close(connection)
            return False
        return True

    def _close(self, connection: Any) -> None:
        if not connection.closing:
            connection.closing = True
            self._loop.create_task(self._close_after_queue(connection))

    async def _close_after_queue(self, connection: Any) -> None:
        while not connection.outbox.empty() and not connection.ws.closed:
            await asyncio.sleep(0.01)  # let the error message leave first
        with contextlib.suppress(Exception):
            reason = json.dumps({"message": "Rate limited"}).encode()
            await connection.ws.close(code=WS_CLOSE_POLICY_VIOLATION, message=reason)
