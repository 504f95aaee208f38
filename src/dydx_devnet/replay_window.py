"""Which stretch of the bundled data a devnet replays, and how chain time maps to it.

* Timer clock: genesis is ``genesis_time`` (or now) and the data is shifted by
  a whole number of days so that genesis falls ``warmup_days`` after the first
  full day of data, at genesis's time of day; hour and day boundaries line up.
  The replay ends where the shortest series ends.
* Manual clock: chain time *is* the data's time (no shift). Genesis is
  ``replay_start``, by default ``warmup_days`` after the first full day of
  data; the end is ``replay_end``, ``replay_start + replay_days``, or the end
  of the data. Everything before the start is candle history for indicators.

All times are integer milliseconds since the Unix epoch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from dydx_devnet.config import EngineConfig
from dydx_devnet.replay import DAY_MS, HOUR_MS, PricePath, from_ms, to_ms


@dataclass(frozen=True)
class ReplayWindow:
    """Genesis and end of the replay in chain time, and the data shift.

    ``data`` maps each replayed ticker to ``(first candle start, last candle
    start)`` in data time. ``end_ms`` is ``None`` without replayed markets.
    """

    start_ms: int
    end_ms: int | None
    shift_ms: int
    data: dict[str, tuple[int, int]] = field(default_factory=dict)


def replay_window(config: EngineConfig, paths: dict[str, PricePath]) -> ReplayWindow:
    """The window ``config`` asks for over ``paths``; ``ValueError`` names what is wrong."""
    data = {t: (p.first_ms, p.end_ms - HOUR_MS) for t, p in paths.items()}
    if config.manual:
        return _manual(config, paths, data)
    genesis = config.genesis_time or datetime.now(UTC).replace(microsecond=0)
    genesis_ms = to_ms(genesis)
    if not paths:
        return ReplayWindow(genesis_ms, None, 0, data)
    first_full_day = max(p.first_ms for p in paths.values()) // DAY_MS * DAY_MS + DAY_MS
    shift = genesis_ms // DAY_MS * DAY_MS - (first_full_day + config.warmup_days * DAY_MS)
    data_end = min(p.end_ms for p in paths.values())
    return ReplayWindow(genesis_ms, data_end + shift, shift, data)


def _manual(
    config: EngineConfig, paths: dict[str, PricePath], data: dict[str, tuple[int, int]]
) -> ReplayWindow:
    if not paths:
        raise ValueError("a manual clock replays bundled candles, and no listed market has any")
    first_full_day = max(p.first_ms for p in paths.values()) // DAY_MS * DAY_MS + DAY_MS
    earliest = first_full_day + config.warmup_days * DAY_MS
    data_end = min(p.end_ms for p in paths.values())
    span = f"the data allows {_iso(earliest)} to {_iso(data_end)} with {config.warmup_days} "
    span += "days of warm-up"
    start = earliest if config.replay_start is None else to_ms(config.replay_start)
    if start < earliest:
        raise ValueError(f"replay start {_iso(start)} is too early: {span}")
    if config.replay_end is not None:
        end = to_ms(config.replay_end)
    elif config.replay_days is not None:
        end = start + config.replay_days * DAY_MS
    else:
        end = data_end
    if end > data_end:
        raise ValueError(f"replay end {_iso(end)} is past the bundled data: {span}")
    if end <= start:
        raise ValueError(f"replay end {_iso(end)} is not after its start {_iso(start)}")
    return ReplayWindow(start, end, 0, data)


def _iso(ms: int) -> str:
    return from_ms(ms).strftime("%Y-%m-%dT%H:%MZ")
