"""Candles of devnet markets, in the indexer's resolutions.

Replayed markets take their candles in closed form from the replay's price
path (:class:`~dydx_devnet.replay.PricePath`): history before genesis and the
live partial candle alike, the hourly ones equal to the bundled data. Other
markets record their oracle price once per block into base buckets and
aggregate on demand. Prices are oracle integers; volumes Decimal base units
and USDC.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from dydx_devnet.replay import PricePath

RESOLUTION_MS: Final[dict[str, int]] = {
    "1MIN": 60_000,
    "5MINS": 300_000,
    "15MINS": 900_000,
    "30MINS": 1_800_000,
    "1HOUR": 3_600_000,
    "4HOURS": 14_400_000,
    "1DAY": 86_400_000,
}

_MAX_BUCKETS: Final = 20_000


@dataclass(frozen=True, slots=True)
class Bar:
    """One candle: ``started_ms`` chain time; prices oracle integers."""

    started_ms: int
    open: int
    high: int
    low: int
    close: int
    base_volume: Decimal
    usd_volume: Decimal
    trades: int


class SampledCandles:
    """Per-block oracle samples of one market, bucketed at ``bucket_ms``."""

    def __init__(self, bucket_ms: int) -> None:
        self.bucket_ms = bucket_ms
        self._starts: list[int] = []
        self._bars: dict[int, list[int]] = {}  # start -> [o, h, l, c, trades]
        self._volume: dict[int, tuple[Decimal, Decimal]] = {}

    def record(self, chain_ms: int, value: int) -> None:
        start = chain_ms - chain_ms % self.bucket_ms
        bar = self._bars.get(start)
        if bar is None:
            self._bars[start] = [value, value, value, value, 0]
            self._starts.append(start)
            if len(self._starts) > _MAX_BUCKETS:
                dropped = self._starts.pop(0)
                self._bars.pop(dropped, None)
                self._volume.pop(dropped, None)
            return
        if value > bar[1]:
            bar[1] = value
        elif value < bar[2]:
            bar[2] = value
        bar[3] = value

    def add_trade(self, chain_ms: int, base: Decimal, usd: Decimal) -> None:
        start = chain_ms - chain_ms % self.bucket_ms
        bar = self._bars.get(start)
        if bar is None:
            return
        bar[4] += 1
        old_base, old_usd = self._volume.get(start, (Decimal(0), Decimal(0)))
        self._volume[start] = (old_base + base, old_usd + usd)

    def bars(self, resolution_ms: int, from_ms: int, to_ms: int) -> list[Bar]:
        """Bars of ``resolution_ms`` starting within ``[from_ms, to_ms]``, oldest first."""
        grouped: dict[int, list[int]] = {}
        volumes: dict[int, tuple[Decimal, Decimal]] = {}
        for start in self._starts:
            group = start - start % resolution_ms
            if group < from_ms - from_ms % resolution_ms or group > to_ms:
                continue
            o, h, low, c, trades = self._bars[start]
            current = grouped.get(group)
            if current is None:
                grouped[group] = [o, h, low, c, trades]
            else:
                current[1] = max(current[1], h)
                current[2] = min(current[2], low)
                current[3] = c
                current[4] += trades
            base, usd = self._volume.get(start, (Decimal(0), Decimal(0)))
            vb, vu = volumes.get(group, (Decimal(0), Decimal(0)))
            volumes[group] = (vb + base, vu + usd)
        return [
            Bar(group, v[0], v[1], v[2], v[3], volumes[group][0], volumes[group][1], v[4])
            for group, v in sorted(grouped.items())
        ]


def path_bars(
    path: PricePath,
    shift_ms: int,
    resolution_ms: int,
    from_ms: int,
    to_ms: int,
    now_ms: int,
    oracle_scale: int,
) -> list[Bar]:
    """Closed-form bars of a replayed market, oldest first.

    ``shift_ms`` converts data time to chain time; bars start within
    ``[from_ms, to_ms]`` (chain time), never after ``now_ms``, and the bar
    holding ``now_ms`` is partial. ``oracle_scale`` is the price exponent, to
    value USD volume at the bar's mid price.
    """
    first = max(from_ms, path.first_ms + shift_ms)
    start = first - first % resolution_ms
    if start < path.first_ms + shift_ms:
        start += resolution_ms
    last = min(to_ms, now_ms)
    bars: list[Bar] = []
    while start <= last:
        end = min(start + resolution_ms, now_ms)
        data_start, data_end = start - shift_ms, end - shift_ms
        o, h, low, c = path.ohlc(data_start, data_end)
        base = path.base_volume(data_start, data_end)
        mid = Decimal(o + c).scaleb(oracle_scale) / 2
        bars.append(Bar(start, o, h, low, c, base, base * mid, 0))
        start += resolution_ms
    return bars
