"""Market time for a lockstep replay: a :class:`~dydx_trader.app.ports.Clock`
whose ``now()`` and ``monotonic()`` are the venue's block time, set by the
replay driver from the venue's own answers.

In paper mode every duration the trader measures (TTLs, cooldown, the rate
limit, a signal's age, the kill switch's drawdown window, settlement
deadlines) is then measured in market seconds, and nothing reads the wall
clock: the same data and requests give the same results at any replay speed.
"""

from __future__ import annotations

from datetime import datetime

from dydx_trader.domain.errors import InvalidInput


class MarketTimeClock:
    """A ``ports.Clock`` that only moves when :meth:`set` is called.

    ``monotonic()`` is the market time in seconds since the Unix epoch (so a
    difference of two readings is market seconds); it never goes backwards.
    """

    def __init__(self, start: datetime) -> None:
        self._now = _aware(start)

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._now.timestamp()

    def set(self, moment: datetime) -> None:
        """Move to ``moment`` (the venue's latest block time); an earlier one is ignored."""
        moment = _aware(moment)
        if moment > self._now:
            self._now = moment


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise InvalidInput(f"market time {moment.isoformat()} has no time zone")
    return moment
