"""Delta debugging (Zeller's ddmin) over a failing step list.

:func:`ddmin` returns a sub-list of ``steps`` on which ``fails`` still holds
and from which no single chunk (at the finest granularity tried) can be
removed: the shortest reproduction it can find within ``budget`` trials.
Playing a schedule is not perfectly repeatable (threads, timers), so a subset
counts as failing only when a trial says so; the full list is the fallback.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


async def ddmin(
    steps: Sequence[T], fails: Callable[[tuple[T, ...]], Awaitable[bool]], budget: int = 60
) -> tuple[T, ...]:
    """The smallest failing sub-list found in at most ``budget`` calls of ``fails``."""
    current = tuple(steps)
    granularity = 2
    trials = 0
    while len(current) >= 2 and trials < budget:
        chunks = _split(current, granularity)
        reduced = False
        # Try each chunk alone, then each complement (the two halves of ddmin).
        candidates = [*chunks, *(_without(chunks, i) for i in range(len(chunks)))]
        for candidate in candidates:
            if not candidate or len(candidate) == len(current) or trials >= budget:
                continue
            trials += 1
            if await fails(candidate):
                # A chunk alone: start again coarse; a complement: one chunk fewer.
                granularity = 2 if candidate in chunks else max(granularity - 1, 2)
                current = candidate
                reduced = True
                break
        if not reduced:
            if granularity >= len(current):
                break
            granularity = min(len(current), granularity * 2)
    return current


def _split(items: tuple[T, ...], parts: int) -> list[tuple[T, ...]]:
    size, extra = divmod(len(items), parts)
    chunks, start = [], 0
    for index in range(parts):
        end = start + size + (1 if index < extra else 0)
        chunks.append(items[start:end])
        start = end
    return [chunk for chunk in chunks if chunk]


def _without(chunks: list[tuple[T, ...]], index: int) -> tuple[T, ...]:
    return tuple(item for i, chunk in enumerate(chunks) if i != index for item in chunk)
