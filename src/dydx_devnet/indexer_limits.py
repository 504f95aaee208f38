"""The indexer's rate limits: comlink's per-client REST buckets, socks' WebSocket limits.

REST (``comlink/src/lib/rate-limit.ts``, ``caches/rate-limiters.ts``, ``config.ts``):
each client (IP address) has a fixed-window bucket per route family; ``/v4/orders``,
``/v4/fills`` and the candles each have their own, every other ``/v4`` route shares
the default one. Past the bucket's points the answer is HTTP 429
``{"errors":[{"msg":"Too many requests"}]}`` with ``Retry-After`` in
milliseconds; every answer carries ``RateLimit-Remaining``, ``RateLimit-Reset``
(epoch ms) and ``RateLimit-Limit``.

WebSocket (``socks/src/lib/subscription.ts``, ``rate-limit.ts``, ``config.ts``):
per connection at most 256 ``v4_subaccounts`` and 32 of every other channel
(``Per-connection subscription limit reached ...``, the connection stays
open); subscribing to one channel and id more than twice a second, or more than
two invalid messages a second, is answered with an error and the connection is
closed (1008, policy violation).

Limits count wall time, as the real services do. They are on by default;
``IndexerLimits(enabled=False)`` is for benchmarks only.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

WS_CLOSE_POLICY_VIOLATION: Final = 1008
CANDLES_ROUTE: Final = "candles"


@dataclass(frozen=True)
class IndexerLimits:
    """Points per window for each REST bucket and the WebSocket limits.

    ``default_points`` / ``orders_points`` / ``fills_points`` /
    ``candles_points`` requests per ``window_s`` seconds per client;
    ``ws_channel_limits`` subscriptions per connection by channel (others: 32);
    ``ws_subscribe_points`` subscribes of one channel and id and
    ``ws_invalid_points`` invalid messages per ``ws_window_s`` seconds.
    """

    enabled: bool = True
    window_s: float = 10.0
    default_points: int = 100
    orders_points: int = 100
    fills_points: int = 100
    candles_points: int = 1000
    ws_window_s: float = 1.0
    ws_subscribe_points: int = 2
    ws_invalid_points: int = 2
    ws_channel_limits: dict[str, int] = field(
        default_factory=lambda: {"v4_subaccounts": 256, "v4_parent_subaccounts": 256}
    )
    ws_default_channel_limit: int = 32

    def __post_init__(self) -> None:
        points = (
            self.default_points,
            self.orders_points,
            self.fills_points,
            self.candles_points,
            self.ws_subscribe_points,
            self.ws_invalid_points,
            self.ws_default_channel_limit,
            *self.ws_channel_limits.values(),
        )
        if any(p < 1 for p in points) or not self.window_s > 0 or not self.ws_window_s > 0:
            raise ValueError("indexer limits need positive points and windows")

    def bucket(self, route: str) -> tuple[str, int]:
        """(bucket name, points) for a ``/v4/<route>`` request."""
        if route in ("orders", "fills"):
            return route, self.orders_points if route == "orders" else self.fills_points
        if route == CANDLES_ROUTE:
            return route, self.candles_points
        return "get", self.default_points

    def channel_limit(self, channel: str) -> int:
        return self.ws_channel_limits.get(channel, self.ws_default_channel_limit)


@dataclass(frozen=True)
class Verdict:
    """One request's outcome: ``allowed``; the points left; ms until the window resets."""

    allowed: bool
    limit: int
    remaining: int
    reset_in_ms: int


class FixedWindows:
    """Fixed-window counters by key (rate-limiter-flexible's model), thread-safe."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[tuple[str, ...], tuple[float, int]] = {}

    def consume(self, key: tuple[str, ...], points: int, window_s: float) -> Verdict:
        """Count one request for ``key``; refused past ``points`` within ``window_s``."""
        now = self._clock()
        with self._lock:
            started, used = self._windows.get(key, (now, 0))
            if now - started >= window_s:
                started, used = now, 0
            used += 1
            self._windows[key] = (started, used)
            if len(self._windows) > 100_000:  # forget idle clients
                self._windows = {
                    k: v for k, v in self._windows.items() if now - v[0] < window_s
                }
        reset_ms = max(1, round((started + window_s - now) * 1000))
        return Verdict(used <= points, points, max(0, points - used), reset_ms)
