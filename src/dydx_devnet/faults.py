"""Fault injection for tests: what a flaky network or a lagging indexer does.

One :class:`Faults` object per devnet, shared by the gRPC threads and the event
loop (its own lock). Reachable in-process (``devnet.faults``) and over HTTP as
``POST /devnet/faults`` with a JSON object such as
``{"drop_next_broadcast_responses": 2, "hold_indexer": 3}`` or
``{"delay_next_broadcast_responses": {"count": 1, "seconds": 2.5}}``.
"""

from __future__ import annotations

import threading
from typing import Any, Protocol


class LaggingIndexer(Protocol):
    def set_indexer_lag(self, blocks: int) -> None: ...


class Faults:
    """Armed faults; each ``consume_*`` call uses one up."""

    def __init__(self, engine: LaggingIndexer | None = None) -> None:
        self._lock = threading.Lock()
        self._engine = engine
        self._drop_broadcast_responses = 0
        self._fail_broadcasts = 0
        self._indexer_errors = 0
        self._indexer_lag = 0
        self._delayed_responses = 0
        self._delay_s = 0.0

    def drop_next_broadcast_responses(self, count: int) -> None:
        """The next ``count`` broadcasts ARE applied, then the call fails UNAVAILABLE,
        as when the connection drops after the node accepted the transaction."""
        with self._lock:
            self._drop_broadcast_responses = _non_negative(count, "count")

    def fail_next_broadcasts(self, count: int) -> None:
        """The next ``count`` broadcasts fail UNAVAILABLE WITHOUT being applied."""
        with self._lock:
            self._fail_broadcasts = _non_negative(count, "count")

    def delay_next_broadcast_responses(self, count: int, seconds: float) -> None:
        """The next ``count`` broadcasts ARE applied, then answer after ``seconds``
        (0 < seconds <= 60): a slow node, for client deadline tests."""
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            raise ValueError(f"seconds must be a number, got {seconds!r}")
        if not 0 < seconds <= 60:
            raise ValueError(f"seconds must be in (0, 60], got {seconds!r}")
        with self._lock:
            self._delayed_responses = _non_negative(count, "count")
            self._delay_s = float(seconds)

    def fail_next_indexer_requests(self, count: int) -> None:
        """The next ``count`` indexer REST requests answer HTTP 503."""
        with self._lock:
            self._indexer_errors = _non_negative(count, "count")

    def hold_indexer(self, blocks: int) -> None:
        """The indexer lags the chain by ``blocks`` blocks (0 = in step)."""
        lag = _non_negative(blocks, "blocks")
        with self._lock:
            self._indexer_lag = lag
        if self._engine is not None:
            self._engine.set_indexer_lag(lag)

    def release_indexer(self) -> None:
        self.hold_indexer(0)

    def consume_dropped_broadcast_response(self) -> bool:
        with self._lock:
            if self._drop_broadcast_responses > 0:
                self._drop_broadcast_responses -= 1
                return True
            return False

    def consume_failed_broadcast(self) -> bool:
        with self._lock:
            if self._fail_broadcasts > 0:
                self._fail_broadcasts -= 1
                return True
            return False

    def consume_response_delay(self) -> float:
        """Seconds to hold the next broadcast answer (0 = answer now)."""
        with self._lock:
            if self._delayed_responses > 0:
                self._delayed_responses -= 1
                return self._delay_s
            return 0.0

    def consume_indexer_error(self) -> bool:
        with self._lock:
            if self._indexer_errors > 0:
                self._indexer_errors -= 1
                return True
            return False

    def state(self) -> dict[str, int]:
        """What is armed now (the JSON answer of ``POST /devnet/faults``)."""
        with self._lock:
            return {
                "drop_next_broadcast_responses": self._drop_broadcast_responses,
                "fail_next_broadcasts": self._fail_broadcasts,
                "fail_next_indexer_requests": self._indexer_errors,
                "hold_indexer": self._indexer_lag,
                "delay_next_broadcast_responses": self._delayed_responses,
            }

    def apply(self, request: Any) -> dict[str, int]:
        """Arm faults from a JSON object; raise ``ValueError`` naming a bad key or value."""
        if not isinstance(request, dict):
            raise ValueError("faults request must be a JSON object")
        setters = {
            "drop_next_broadcast_responses": self.drop_next_broadcast_responses,
            "fail_next_broadcasts": self.fail_next_broadcasts,
            "fail_next_indexer_requests": self.fail_next_indexer_requests,
            "hold_indexer": self.hold_indexer,
        }
        known = [*setters, "delay_next_broadcast_responses"]
        unknown = sorted(set(request) - set(known))
        if unknown:
            raise ValueError(f"unknown fault(s) {unknown}; known: {sorted(known)}")
        delay = request.get("delay_next_broadcast_responses")
        if delay is not None and (
            not isinstance(delay, dict) or set(delay) != {"count", "seconds"}
        ):
            raise ValueError('delay_next_broadcast_responses must be {"count": n, "seconds": s}')
        for key, value in request.items():
            if key in setters:
                _non_negative(value, key)
        for key, value in request.items():
            if key in setters:
                setters[key](value)
        if delay is not None:
            self.delay_next_broadcast_responses(delay["count"], delay["seconds"])
        return self.state()


def _non_negative(value: int, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0 or value > 1_000_000:
        raise ValueError(f"{name} must be an integer in [0, 1000000], got {value!r}")
    return value
