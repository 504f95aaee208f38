"""Which stretch of the bundled data a paper session replays, in the data's own
dates (2024-2025): ``--from``/``--to`` or ``--days``.

The span is read from the bundled files (their first and last rows), the way
the devnet reads them: the replay may start once ``WARMUP_DAYS`` of history
(the indicators' warm-up) lie before it, after the first full day every market
has, and must end by the end of the shortest series.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from dydx_trader.cli._common import BUNDLED_RESOLUTION, bundled_data, bundled_markets
from dydx_trader.domain.errors import InvalidInput

PAPER_DAYS = 45
WARMUP_DAYS = 30
_HOUR = timedelta(hours=1)
_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class PaperWindow:
    """The replay's first and last candle close (aware UTC, on the hour)."""

    start: datetime
    end: datetime

    @property
    def days(self) -> float:
        return (self.end - self.start) / _DAY

    def describe(self) -> str:
        return f"{self.start:%Y-%m-%d %H:%M} to {self.end:%Y-%m-%d %H:%M} UTC"


@functools.cache
def _file_span(ticker: str) -> tuple[datetime, datetime]:
    """(first candle start, last candle end) of one bundled file."""
    text = (bundled_data() / f"{ticker}-{BUNDLED_RESOLUTION}.csv").read_text(encoding="utf-8")
    rows = [line for line in text.splitlines()[1:] if line.strip()]
    if not rows:
        raise InvalidInput(f"the bundled candles of {ticker} are empty")
    first, last = (_started(row) for row in (rows[0], rows[-1]))
    return first, last + _HOUR


def _started(row: str) -> datetime:
    return datetime.strptime(row.split(",", 1)[0], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def available(markets: Sequence[str] | None = None) -> PaperWindow:
    """The widest window the bundled data allows for ``markets`` (all bundled: None)."""
    spans = [_file_span(m) for m in (markets or bundled_markets())]
    first_day = max(first for first, _ in spans).replace(hour=0, minute=0, second=0) + _DAY
    return PaperWindow(first_day + WARMUP_DAYS * _DAY, min(end for _, end in spans))


def choose(
    markets: Sequence[str],
    *,
    days: int | None,
    start: datetime | None,
    end: datetime | None,
) -> PaperWindow:
    """The window asked for: ``start``..``end``; one of them and ``days``; or the
    last ``days`` (default :data:`PAPER_DAYS`) of the data. Times are floored to
    the hour. A window outside the data is refused in one line naming the range."""
    limits = available(markets)
    if start is not None and end is not None and days is not None:
        raise InvalidInput("give --from and --to, or one of them with --days, not all three")
    length = (days or PAPER_DAYS) * _DAY
    if start is not None and end is not None:
        window = (start, end)
    elif start is not None:
        window = (start, start + length)
    elif end is not None:
        window = (end - length, end)
    else:
        window = (limits.end - length, limits.end)
    chosen = PaperWindow(*(_hour(moment) for moment in window))
    if chosen.end <= chosen.start:
        raise InvalidInput(f"the replay window {chosen.describe()} is empty")
    if chosen.start < limits.start or chosen.end > limits.end:
        raise InvalidInput(
            f"the replay window {chosen.describe()} is outside the bundled data of "
            f"{', '.join(markets)}: {limits.describe()} (after {WARMUP_DAYS} days of warm-up)"
        )
    return chosen


def parse_moment(text: str) -> datetime:
    """A ``--from``/``--to`` value: ``2025-03-01`` or ``2025-03-01T12:00`` (UTC unless
    a zone is given)."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            f"{text[:40]!r} is not a date like 2025-03-01 or 2025-03-01T12:00"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def help_text() -> str:
    """The window help for ``run --help``: the default and the available range."""
    try:
        span = available()
    except (OSError, InvalidInput):
        return "Paper: the replay window (bundled data unavailable)."
    return (
        f"Paper: days replayed (default {PAPER_DAYS}, ending where the data ends). "
        f"Bundled data allows {span.start:%Y-%m-%d} to {span.end:%Y-%m-%d %H:%M} UTC."
    )
