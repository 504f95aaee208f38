"""Fault injection: what a flaky network, a slow node or a lagging indexer does.

One :class:`Faults` object per devnet, shared by the gRPC threads and the event
loop (its own lock). Every fault is reachable in-process (``devnet.faults``)
and over HTTP: ``POST /devnet/faults`` with a JSON object arms the faults it
names and answers what is armed; ``GET /devnet/faults`` only answers it. A bad
body is refused whole with a 400 naming the key (nothing is half-armed).

``drop_next_broadcast_responses``: ``n``
    The next ``n`` broadcasts ARE applied, then the call fails UNAVAILABLE: the
    connection dropped after the node accepted the transaction.
``fail_next_broadcasts``: ``n``
    The next ``n`` broadcasts fail UNAVAILABLE WITHOUT being applied: they never land.
``sequence_mismatch_next_broadcasts``: ``n``
    The next ``n`` sequenced broadcasts (stateful orders and cancels) meet another
    transaction of the same account that took their sequence first: the account's
    sequence moves on by one (that other transaction is committed with the next
    block) and the broadcast answers ``sdk`` code 32, "account sequence mismatch,
    expected S+1, got S", without being applied. Short-term orders skip the
    sequence and are not affected.
``delay_next_broadcast_responses``: ``{"count": n, "seconds": s}``
    The next ``n`` broadcasts ARE applied, then answer after ``s`` seconds
    (0 < s <= 60): a slow node, for client deadlines.
``fail_next_indexer_requests``: ``n`` or
``{"count": n, "route": r, "status": c, "retry_after_ms": m}``
    The next ``n`` indexer REST reads answer HTTP ``c`` (503 by default; 429,
    500, 502 or 504). ``route`` is the path segment after ``/v4/`` (``fills``,
    ``orders``, ``addresses``, ``height``, ...; ``*`` = any, the default); each
    route is armed on its own. A 429 carries ``Retry-After`` in milliseconds,
    as the indexer's rate limiter sends it (``retry_after_ms``, default 1000).
``hold_indexer``: ``n``
    The indexer serves the state as of ``n`` blocks ago (REST and the
    WebSocket account channel; 0 = in step), at most the indexer history
    (``EngineConfig.indexer_history_blocks``).
``delay_fills_blocks``: ``k``
    Fills reach the indexer ``k`` blocks after the rest of their update.
``latency``: ``{"ms": n, "jitter_ms": j}``
    Every gRPC call and indexer REST answer takes ``n`` ms longer (plus a
    seeded uniform jitter up to ``j``), and every WebSocket message leaves
    that much later (:mod:`dydx_devnet.latency`); 0 turns it off.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Protocol

from dydx_devnet.latency import Latency, check_latency

ANY_ROUTE = "*"
INDEXER_ROUTES = (
    ANY_ROUTE,
    "addresses",
    "assetPositions",
    "candles",
    "fills",
    "height",
    "orderbooks",
    "orders",
    "perpetualMarkets",
    "perpetualPositions",
    "time",
    "trades",
)
FAULT_STATUSES = (429, 500, 502, 503, 504)
_MAX_COUNT = 1_000_000


class IndexerControls(Protocol):
    """What the faults change in the engine."""

    def set_indexer_lag(self, blocks: int) -> None: ...

    def set_fill_delay(self, blocks: int) -> None: ...


@dataclass(frozen=True)
class IndexerFailure:
    """One armed indexer failure: answer ``status``; a 429 with ``retry_after_ms``."""

    count: int
    status: int = 503
    retry_after_ms: int = 1_000


class Faults:
    """Armed faults; each ``consume_*`` call uses one up."""

    def __init__(
        self,
        engine: IndexerControls | None = None,
        max_lag_blocks: int = 64,
        latency: Latency | None = None,
    ) -> None:
        self._lock = threading.Lock()
        self.latency = latency or Latency()
        self._engine = engine
        self._max_lag = max_lag_blocks
        self._drop_broadcast_responses = 0
        self._fail_broadcasts = 0
        self._sequence_mismatches = 0
        self._delayed_responses = 0
        self._delay_s = 0.0
        self._indexer_failures: dict[str, IndexerFailure] = {}
        self._indexer_lag = 0
        self._fill_delay = 0

    # -- arming ------------------------------------------------------------------------

    def drop_next_broadcast_responses(self, count: int) -> None:
        """The next ``count`` broadcasts are applied, then the call fails UNAVAILABLE."""
        with self._lock:
            self._drop_broadcast_responses = _count(count, "count")

    def fail_next_broadcasts(self, count: int) -> None:
        """The next ``count`` broadcasts fail UNAVAILABLE without being applied."""
        with self._lock:
            self._fail_broadcasts = _count(count, "count")

    def sequence_mismatch_next_broadcasts(self, count: int) -> None:
        """The next ``count`` sequenced broadcasts lose their sequence and answer code 32."""
        with self._lock:
            self._sequence_mismatches = _count(count, "count")

    def delay_next_broadcast_responses(self, count: int, seconds: float) -> None:
        """The next ``count`` broadcasts are applied, then answer after ``seconds`` (0, 60]."""
        checked = _delay(count, seconds)
        with self._lock:
            self._delayed_responses, self._delay_s = checked

    def fail_next_indexer_requests(
        self,
        count: int,
        route: str = ANY_ROUTE,
        status: int = 503,
        retry_after_ms: int = 1_000,
    ) -> None:
        """The next ``count`` reads of ``route`` (``*`` = any) answer HTTP ``status``."""
        failure = _indexer_failure(
            {"count": count, "route": route, "status": status, "retry_after_ms": retry_after_ms}
        )
        with self._lock:
            self._indexer_failures[route] = failure

    def hold_indexer(self, blocks: int) -> None:
        """The indexer serves the state of ``blocks`` blocks ago (0 = in step)."""
        lag = _blocks(blocks, "hold_indexer", self._max_lag)
        with self._lock:
            self._indexer_lag = lag
        if self._engine is not None:
            self._engine.set_indexer_lag(lag)

    def release_indexer(self) -> None:
        self.hold_indexer(0)

    def delay_fills(self, blocks: int) -> None:
        """Fills reach the indexer ``blocks`` blocks late (0 = with their update)."""
        delay = _blocks(blocks, "delay_fills_blocks", self._max_lag)
        with self._lock:
            self._fill_delay = delay
        if self._engine is not None:
            self._engine.set_fill_delay(delay)

    # -- consuming -----------------------------------------------------------------------

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

    def consume_sequence_mismatch(self) -> bool:
        with self._lock:
            if self._sequence_mismatches > 0:
                self._sequence_mismatches -= 1
                return True
            return False

    def consume_response_delay(self) -> float:
        """Seconds to hold the next broadcast answer (0 = answer now)."""
        with self._lock:
            if self._delayed_responses > 0:
                self._delayed_responses -= 1
                return self._delay_s
            return 0.0

    def consume_indexer_failure(self, route: str) -> IndexerFailure | None:
        """The failure a read of ``route`` must answer, if one is armed (uses it up)."""
        with self._lock:
            for key in (route, ANY_ROUTE):
                failure = self._indexer_failures.get(key)
                if failure is not None and failure.count > 0:
                    left = IndexerFailure(failure.count - 1, failure.status, failure.retry_after_ms)
                    self._indexer_failures[key] = left
                    return failure
            return None

    # -- reading and the HTTP form ---------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """Everything armed now (the answer of ``GET`` and ``POST /devnet/faults``)."""
        with self._lock:
            failures = [
                {"route": route, **vars(failure)}
                for route, failure in sorted(self._indexer_failures.items())
                if failure.count > 0
            ]
            return {
                "drop_next_broadcast_responses": self._drop_broadcast_responses,
                "fail_next_broadcasts": self._fail_broadcasts,
                "sequence_mismatch_next_broadcasts": self._sequence_mismatches,
                "delay_next_broadcast_responses": {
                    "count": self._delayed_responses,
                    "seconds": self._delay_s if self._delayed_responses else 0.0,
                },
                "fail_next_indexer_requests": failures,
                "hold_indexer": self._indexer_lag,
                "delay_fills_blocks": self._fill_delay,
                "latency": self.latency.state(),
            }

    def apply(self, request: Any) -> dict[str, Any]:
        """Arm faults from a JSON object; raise ``ValueError`` naming a bad key or value.

        Every value is checked before anything is armed.
        """
        if not isinstance(request, dict) or not request:
            raise ValueError("faults request must be a non-empty JSON object")
        actions = [self._parse(key, value) for key, value in request.items()]
        for action in actions:
            action()
        return self.state()

    def _parse(self, key: str, value: Any) -> Any:
        """A checked, ready-to-run arming of one key (``ValueError`` if it is bad)."""
        if key in (
            "drop_next_broadcast_responses",
            "fail_next_broadcasts",
            "sequence_mismatch_next_broadcasts",
        ):
            count = _count(value, key)
            setter = getattr(self, key)
            return lambda: setter(count)
        if key == "delay_next_broadcast_responses":
            if not isinstance(value, dict) or set(value) != {"count", "seconds"}:
                raise ValueError(f'{key} must be {{"count": n, "seconds": s}}')
            count, seconds = _delay(value["count"], value["seconds"])
            return lambda: self.delay_next_broadcast_responses(count, seconds)
        if key == "fail_next_indexer_requests":
            spec = {"count": value} if not isinstance(value, dict) else dict(value)
            failure = _indexer_failure(spec)
            route = str(spec.get("route", ANY_ROUTE))
            return lambda: self._arm_failure(route, failure)
        if key == "hold_indexer":
            lag = _blocks(value, key, self._max_lag)
            return lambda: self.hold_indexer(lag)
        if key == "delay_fills_blocks":
            delay = _blocks(value, key, self._max_lag)
            return lambda: self.delay_fills(delay)
        if key == "latency":
            if not isinstance(value, dict) or not {"ms"} <= set(value) <= {"ms", "jitter_ms"}:
                raise ValueError('latency must be {"ms": n, "jitter_ms": j} (jitter optional)')
            ms, jitter_ms = check_latency(value["ms"], value.get("jitter_ms", 0))
            return lambda: self.latency.set(ms, jitter_ms)
        raise ValueError(f"unknown fault {key!r}; known: {', '.join(KNOWN_FAULTS)}")

    def _arm_failure(self, route: str, failure: IndexerFailure) -> None:
        with self._lock:
            self._indexer_failures[route] = failure


KNOWN_FAULTS = (
    "delay_fills_blocks",
    "delay_next_broadcast_responses",
    "drop_next_broadcast_responses",
    "fail_next_broadcasts",
    "fail_next_indexer_requests",
    "hold_indexer",
    "latency",
    "sequence_mismatch_next_broadcasts",
)


def _count(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_COUNT:
        raise ValueError(f"{name} must be an integer in [0, {_MAX_COUNT}], got {value!r}")
    return value


def _delay(count: Any, seconds: Any) -> tuple[int, float]:
    checked = _count(count, "delay_next_broadcast_responses.count")
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not 0 < seconds <= 60:
        raise ValueError(
            f"delay_next_broadcast_responses.seconds must be a number in (0, 60], got {seconds!r}"
        )
    return checked, float(seconds)


def _blocks(value: Any, name: str, most: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= most:
        raise ValueError(
            f"{name} must be a whole number of blocks in [0, {most}] (the indexer history), "
            f"got {value!r}"
        )
    return value


def _indexer_failure(spec: dict[str, Any]) -> IndexerFailure:
    """An :class:`IndexerFailure` from its JSON form; ``ValueError`` names the bad field."""
    name = "fail_next_indexer_requests"
    unknown = sorted(set(spec) - {"count", "route", "status", "retry_after_ms"})
    if unknown:
        raise ValueError(f"{name}: unknown field(s) {unknown}")
    count = _count(spec.get("count"), f"{name}.count")
    route = spec.get("route", ANY_ROUTE)
    if route not in INDEXER_ROUTES:
        raise ValueError(f"{name}.route must be one of {', '.join(INDEXER_ROUTES)}, got {route!r}")
    status = spec.get("status", 503)
    if isinstance(status, bool) or status not in FAULT_STATUSES:
        raise ValueError(
            f"{name}.status must be one of {', '.join(map(str, FAULT_STATUSES))}, got {status!r}"
        )
    retry = spec.get("retry_after_ms", 1_000)
    if isinstance(retry, bool) or not isinstance(retry, int) or not 0 <= retry <= 600_000:
        raise ValueError(f"{name}.retry_after_ms must be an integer in [0, 600000], got {retry!r}")
    return IndexerFailure(count, status, retry)
