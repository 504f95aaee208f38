"""Network latency the devnet adds to what it answers, so clients meet real round trips.

:class:`Latency` holds the delay (``ms`` plus a uniform jitter of up to
``jitter_ms``, drawn from a generator seeded with the devnet's seed). The
transports apply it without blocking the event loop or the engine lock:

* gRPC: half the delay before the handler runs, half after, in the server's
  worker thread (the call's round trip grows by the whole delay);
* indexer REST and the faucet: the same, with ``asyncio.sleep``;
* the WebSocket: every message leaves the delay after it was produced, in order.
"""

from __future__ import annotations

import random
import threading
from typing import Any

MAX_LATENCY_MS = 60_000


class Latency:
    """A thread-safe, seeded latency setting (milliseconds)."""

    def __init__(self, ms: int = 0, jitter_ms: int = 0, *, seed: int = 1) -> None:
        self._lock = threading.Lock()
        self._random = random.Random(f"{seed}:latency")
        self._ms, self._jitter_ms = check_latency(ms, jitter_ms)

    def set(self, ms: int, jitter_ms: int = 0) -> None:
        """Add ``ms`` plus up to ``jitter_ms`` (uniform) to every answer from now on."""
        checked = check_latency(ms, jitter_ms)
        with self._lock:
            self._ms, self._jitter_ms = checked

    def sample_s(self) -> float:
        """One delay in seconds (0.0 when latency is off)."""
        with self._lock:
            if self._ms == 0 and self._jitter_ms == 0:
                return 0.0
            jitter = self._random.randint(0, self._jitter_ms) if self._jitter_ms else 0
            return (self._ms + jitter) / 1000

    def state(self) -> dict[str, int]:
        with self._lock:
            return {"ms": self._ms, "jitter_ms": self._jitter_ms}


def check_latency(ms: Any, jitter_ms: Any) -> tuple[int, int]:
    """``(ms, jitter_ms)`` if both are whole milliseconds in [0, 60000]; else ``ValueError``."""
    for name, value in (("ms", ms), ("jitter_ms", jitter_ms)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"latency {name} must be whole milliseconds, got {value!r}")
        if not 0 <= value <= MAX_LATENCY_MS:
            raise ValueError(f"latency {name} must be in [0, {MAX_LATENCY_MS}], got {value}")
    return ms, jitter_ms
