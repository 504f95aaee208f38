"""Retries for idempotent reads: capped by attempts AND total time, with jitter.

Only failures an adapter has classified as safe to retry are retried (HTTP 429
and 5xx, connection errors, timeouts of a *read*); they are raised as
:class:`TransientFailure` carrying the domain error to surface when the budget
runs out. Every other exception propagates at once. Never wrap a write
(placing or cancelling an order) in this: a write whose answer was lost is
``OrderOutcomeUnknown``, not something to send again.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from dydx_trader.domain.errors import DydxTraderError, InvalidInput

T = TypeVar("T")


class TransientFailure(Exception):
    """A read failed in a way that may succeed if tried again.

    ``error`` is what the caller sees if it never does; ``retry_after`` (seconds)
    is the venue's own hint (HTTP ``Retry-After``), honoured as a minimum wait.
    """

    def __init__(self, error: DydxTraderError, retry_after: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to try a read.

    ``max_attempts`` includes the first try; ``max_total_s`` (seconds) is the
    time after which no further attempt is started and no wait would end past
    it, so a read ends within ``max_total_s`` plus one attempt's own deadline;
    backoff is exponential from ``base_delay_s`` up to ``max_delay_s`` with
    full jitter.
    """

    max_attempts: int = 3
    max_total_s: float = 10.0
    base_delay_s: float = 0.2
    max_delay_s: float = 2.0
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise InvalidInput("max_attempts must be at least 1", max_attempts=self.max_attempts)
        for name in ("max_total_s", "base_delay_s", "max_delay_s"):
            value = getattr(self, name)
            if not 0 <= value < float("inf"):
                raise InvalidInput(f"{name} must be a finite number >= 0", field=name)

    def backoff(self, attempt: int) -> float:
        """Jittered wait before retry number ``attempt`` (1 = first retry), seconds."""
        ceiling = min(self.max_delay_s, self.base_delay_s * 2 ** (attempt - 1))
        return self.rng.uniform(0, ceiling)


NO_RETRY = RetryPolicy(max_attempts=1)

Sleep = Callable[[float], Awaitable[None]]


async def retry_read(
    read: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    *,
    sleep: Sleep = asyncio.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> T:
    """Run ``read`` until it succeeds, raises a non-transient error, or the
    policy's attempts or time run out (then the last transient error's domain
    error is raised)."""
    started = monotonic()
    attempt = 1
    while True:
        try:
            return await read()
        except TransientFailure as failure:
            remaining = policy.max_total_s - (monotonic() - started)
            wait = max(policy.backoff(attempt), failure.retry_after or 0.0)
            if attempt >= policy.max_attempts or wait > remaining:
                # Waiting past the budget would only delay the refusal.
                raise failure.error from None
        attempt += 1
        await sleep(wait)
