"""``Candles``: one market's OHLCV series as numpy arrays, for indicator math.

This is the one place where prices become floats: TA-Lib works on float64
arrays, and indicator values are statistics, not money. Nothing here is used
to size or price an order; a strategy turns the last close back into a
``Decimal`` (see :func:`dydx_trader.strategies.base.float_to_decimal`).

Arrays run oldest first. ``timestamps`` are the candles' open times in whole
seconds since the Unix epoch (UTC, int64); prices are USDC per base unit,
``volume`` is in base units.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt

from dydx_trader.domain.errors import InvalidInput
from dydx_trader.domain.venue import Candle

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

CSV_HEADER = ("started_at", "open", "high", "low", "close", "base_volume")
# Candles looked at to find the series' interval (enough to step over a few gaps).
_INTERVAL_WINDOW = 64


@dataclass(frozen=True, slots=True, eq=False)
class Candles:
    """An OHLCV series, checked on construction (vectorized, no per-candle loop).

    Refused with :class:`InvalidInput`: arrays of different lengths or not
    one-dimensional, non-finite values, prices <= 0, ``low`` above
    ``min(open, close)`` or ``high`` below ``max(open, close)``, negative
    volume, timestamps not strictly increasing.
    """

    timestamps: IntArray
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray

    def __post_init__(self) -> None:
        n = len(self.timestamps)
        ts = np.ascontiguousarray(self.timestamps, dtype=np.int64)
        object.__setattr__(self, "timestamps", ts)
        for name in ("open", "high", "low", "close", "volume"):
            arr = np.ascontiguousarray(getattr(self, name), dtype=np.float64)
            if arr.ndim != 1 or len(arr) != n:
                raise InvalidInput(
                    f"candles: {name} has shape {arr.shape}, expected ({n},) like the timestamps"
                )
            if not np.isfinite(arr).all():
                raise InvalidInput(f"candles: {name} holds a NaN or infinite value")
            object.__setattr__(self, name, arr)
        if ts.ndim != 1:
            raise InvalidInput("candles: timestamps must be one-dimensional")
        if n and (self.low <= 0).any():
            raise InvalidInput("candles: a price is zero or negative")
        if (self.low > np.minimum(self.open, self.close)).any() or (
            self.high < np.maximum(self.open, self.close)
        ).any():
            bad = int(
                np.argmax(
                    (self.low > np.minimum(self.open, self.close))
                    | (self.high < np.maximum(self.open, self.close))
                )
            )
            raise InvalidInput(
                f"candles: candle {bad} (t={int(ts[bad])}) has low/open/close/high out of order"
            )
        if (self.volume < 0).any():
            raise InvalidInput("candles: a volume is negative")
        if n > 1 and (np.diff(ts) <= 0).any():
            raise InvalidInput("candles: timestamps are not strictly increasing (oldest first)")
        ts.flags.writeable = False
        for prices in (self.open, self.high, self.low, self.close, self.volume):
            prices.flags.writeable = False

    def __len__(self) -> int:
        return len(self.timestamps)

    def tail(self, count: int) -> Candles:
        """The newest ``count`` candles (views, no copy and no re-check)."""
        if count >= len(self):
            return self
        view = object.__new__(Candles)
        for name in ("timestamps", "open", "high", "low", "close", "volume"):
            object.__setattr__(view, name, getattr(self, name)[-count:])
        return view

    @property
    def last_started_at(self) -> datetime:
        """Open time of the newest candle (UTC)."""
        if not len(self):
            raise InvalidInput("candles: the series is empty")
        return datetime.fromtimestamp(int(self.timestamps[-1]), UTC)

    @property
    def interval_s(self) -> int | None:
        """Length of one candle in seconds: the smallest gap between consecutive open
        times among the newest candles (a missing candle only widens a gap). None
        with fewer than two candles."""
        recent = self.timestamps[-_INTERVAL_WINDOW:]
        return int(np.diff(recent).min()) if len(recent) > 1 else None

    @property
    def last_closed_at(self) -> datetime:
        """Close time of the newest candle (UTC): its open time plus :attr:`interval_s`
        (the open time itself when the interval is unknown: older, never newer)."""
        return self.last_started_at + timedelta(seconds=self.interval_s or 0)

    # -- builders ---------------------------------------------------------------

    @classmethod
    def from_arrays(
        cls,
        timestamps: Sequence[int] | IntArray,
        open: Sequence[float] | FloatArray,
        high: Sequence[float] | FloatArray,
        low: Sequence[float] | FloatArray,
        close: Sequence[float] | FloatArray,
        volume: Sequence[float] | FloatArray | None = None,
    ) -> Candles:
        """Candles from plain sequences; ``volume`` defaults to zeros."""
        vol = np.zeros(len(timestamps)) if volume is None else volume
        return cls(
            np.asarray(timestamps, dtype=np.int64),
            np.asarray(open, dtype=np.float64),
            np.asarray(high, dtype=np.float64),
            np.asarray(low, dtype=np.float64),
            np.asarray(close, dtype=np.float64),
            np.asarray(vol, dtype=np.float64),
        )

    @classmethod
    def from_candles(cls, candles: Iterable[Candle]) -> Candles:
        """From the dYdX adapter's :class:`Candle` values (sorted oldest first here)."""
        rows = sorted(candles, key=lambda c: c.started_at)
        return cls.from_arrays(
            [int(c.started_at.timestamp()) for c in rows],
            [float(c.open) for c in rows],
            [float(c.high) for c in rows],
            [float(c.low) for c in rows],
            [float(c.close) for c in rows],
            [float(c.base_volume) for c in rows],
        )

    @classmethod
    def from_indexer_objects(cls, objects: Iterable[Mapping[str, object]]) -> Candles:
        """From raw indexer ``CandleResponseObject`` dicts (decimal strings), any order."""
        rows = []
        for index, obj in enumerate(objects):
            try:
                rows.append(
                    (
                        _parse_time(str(obj["startedAt"])),
                        *(
                            _parse_number(str(obj[key]))
                            for key in ("open", "high", "low", "close", "baseTokenVolume")
                        ),
                    )
                )
            except (KeyError, TypeError) as exc:
                raise InvalidInput(f"candle {index}: missing or malformed field {exc}") from None
        rows.sort(key=lambda row: row[0])
        return _from_rows(rows)

    @classmethod
    def from_csv_text(cls, text: str, *, source: str = "csv") -> Candles:
        """From the market-data CSV format (header ``started_at,open,high,low,close,
        base_volume``; ISO-8601 UTC times ending in ``Z``; oldest first)."""
        reader = csv.reader(io.StringIO(text))
        header = next(reader, None)
        if header is None or tuple(h.strip() for h in header) != CSV_HEADER:
            raise InvalidInput(f"{source}: header must be {','.join(CSV_HEADER)}")
        rows = []
        for line_no, record in enumerate(reader, start=2):
            if not record:
                continue
            if len(record) != len(CSV_HEADER):
                raise InvalidInput(f"{source} line {line_no}: expected 6 fields, got {len(record)}")
            try:
                rows.append((_parse_time(record[0]), *(_parse_number(f) for f in record[1:])))
            except InvalidInput as exc:
                raise InvalidInput(f"{source} line {line_no}: {exc.message}") from None
        return _from_rows(rows)


def _from_rows(rows: Sequence[tuple[float, ...]]) -> Candles:
    if not rows:
        return Candles.from_arrays([], [], [], [], [], [])
    columns = list(zip(*rows, strict=True))
    return Candles.from_arrays(*columns)


def _parse_time(text: str) -> int:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(f"{text[:40]!r} is not an ISO-8601 time") from None
    if moment.tzinfo is None:
        raise InvalidInput(f"time {text[:40]!r} has no timezone (expected UTC, 'Z')")
    return int(moment.timestamp())


def _parse_number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InvalidInput(f"{text[:40]!r} is not a number") from None
    # "nan", "inf" and overflowing exponents ("1e999") all parse to non-finite floats.
    if not math.isfinite(value):
        raise InvalidInput(f"{text[:40]!r} is not a finite number")
    return value
