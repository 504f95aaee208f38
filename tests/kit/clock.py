"""A clock the test moves by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


class FakeClock:
    """The app's ``Clock``: ``now()`` (aware UTC) and ``monotonic()`` seconds,
    both moved only by :meth:`advance` (or by setting ``now``)."""

    def __init__(self, now: datetime = T0, monotonic: float = 1_000.0) -> None:
        self._now = now
        self._monotonic = monotonic

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._monotonic

    def advance(self, seconds: float) -> None:
        """Move both clocks forward by ``seconds``."""
        self._now += timedelta(seconds=seconds)
        self._monotonic += seconds

    def set_now(self, now: datetime) -> None:
        """Move the wall clock alone (a wall clock that steps)."""
        self._now = now
