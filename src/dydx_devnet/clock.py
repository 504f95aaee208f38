"""The manual clock: blocks on request, for a deterministic lockstep replay.

With ``EngineConfig(clock="manual")`` no timer produces blocks. A driver (the
paper-trading replay) moves market time itself, and only once it has finished
reacting to the last candle:

* :meth:`ManualClock.advance_to` produces blocks up to a market time: one at
  every multiple of ``block_seconds`` (default ``EngineConfig.manual_block_s``)
  on the way, one at each corner (open, extremes, close) of the replayed
  candles' price paths, so oracle prices walk through every candle's
  open/high/low/close instead of jumping, and one at the target itself;
* :meth:`ManualClock.advance_blocks` produces ``n`` blocks ``block_seconds``
  apart (to let short-term orders reach their good-til-block).

Each block is the full block transition (prices, expiry, stateful placement,
resting fills, funding, liquidations, events), so candles closed up to the
block time are on ``/v4/candles`` and ``v4_candles``. Block times depend only
on the data, the seed and the requests: the same calls give the same chain.
Over HTTP: ``GET``/``POST /devnet/clock`` (:mod:`dydx_devnet.control_api`).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from dydx_devnet import shapes
from dydx_devnet.blocks import BlockProducer
from dydx_devnet.markets import REPLAYED_TICKERS
from dydx_devnet.replay import HOUR_MS, from_ms, to_ms
from dydx_devnet.state import EngineState

MAX_BLOCKS_PER_CALL = 200_000


class ClockModeError(RuntimeError):
    """The devnet runs a timer clock; blocks cannot be produced on request."""


@dataclass(frozen=True)
class ClockState:
    """Where the chain is after an advance: height, block time (ms), blocks produced."""

    height: int
    block_time_ms: int
    blocks: int

    @property
    def block_time(self) -> datetime:
        return from_ms(self.block_time_ms)


class ManualClock:
    """Produces blocks at chosen market times; thread-safe, one advance at a time."""

    def __init__(self, state: EngineState, blocks: BlockProducer) -> None:
        self._state = state
        self._blocks = blocks
        self._advancing = threading.Lock()

    @property
    def manual(self) -> bool:
        return self._state.config.manual

    def advance_to(self, when: datetime | int, *, block_seconds: int | None = None) -> ClockState:
        """Blocks up to market time ``when`` (aware datetime or epoch ms), the last at ``when``.

        Raises :class:`ClockModeError` on a timer clock and ``ValueError`` for a
        time before the current block, past the bundled data, or too many blocks away.
        """
        self._require_manual()
        target = when if isinstance(when, int) else _aware_ms(when)
        step_s = self._state.config.manual_block_s if block_seconds is None else block_seconds
        _check_step(step_s)
        with self._advancing:
            times = self.block_times(target, step_s * 1000)
            return self._produce(times)

    def advance_blocks(self, count: int, block_seconds: float = 1.0) -> ClockState:
        """``count`` blocks, each ``block_seconds`` of market time after the previous."""
        self._require_manual()
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 10_000:
            raise ValueError(f"advance_blocks must be a whole number in 1..10000, got {count!r}")
        if isinstance(block_seconds, bool) or not isinstance(block_seconds, int | float):
            raise ValueError(f"block_seconds must be a number, got {block_seconds!r}")
        step_ms = round(block_seconds * 1000)
        if not 1 <= step_ms <= 86_400_000:
            raise ValueError(f"block_seconds must be in [0.001, 86400], got {block_seconds!r}")
        with self._advancing:
            start = self._state.block_time_ms
            return self._produce([start + step_ms * k for k in range(1, count + 1)])

    def block_times(self, target_ms: int, step_ms: int) -> list[int]:
        """The block times ``advance_to(target_ms)`` would produce, in order."""
        state = self._state
        now = state.block_time_ms
        if target_ms < now:
            raise ValueError(
                f"advance_to {shapes.iso(target_ms)} is before the current block time "
                f"{shapes.iso(now)}"
            )
        replay = state.replay
        assert replay is not None
        data_end = min((p.end_ms for p in replay.paths.values()), default=target_ms)
        if target_ms - replay.shift_ms > data_end:
            raise ValueError(
                f"advance_to {shapes.iso(target_ms)} is past the bundled data, which ends at "
                f"{shapes.iso(data_end + replay.shift_ms)}"
            )
        if (target_ms - now) // step_ms > MAX_BLOCKS_PER_CALL:
            raise ValueError(f"advance_to {shapes.iso(target_ms)} is too far for one call")
        times = set(range(now - now % step_ms + step_ms, target_ms + 1, step_ms))
        for path in replay.paths.values():
            first = path.index_at(now - replay.shift_ms)
            last = path.index_at(target_ms - replay.shift_ms)
            for index in range(first, last + 1):
                start = path.candles[index].started_ms + replay.shift_ms
                for offset, _ in path.vertices(index):
                    times.add(start + offset)
        times.add(target_ms)
        return sorted(t for t in times if now < t <= target_ms)

    def _produce(self, times: list[int]) -> ClockState:
        state = self._state
        produced = 0
        for block_ms in times:
            with state.lock:  # block by block: others may read in between
                # A block made meanwhile by Engine.advance_block must not be undone.
                if block_ms > state.block_time_ms:
                    self._blocks.advance(block_ms)
                    produced += 1
        with state.lock:
            return ClockState(state.height, state.block_time_ms, produced)

    def _require_manual(self) -> None:
        if not self.manual:
            raise ClockModeError(
                "the devnet runs a timer clock; start it with clock 'manual' to drive blocks"
            )

    def status(self) -> dict[str, Any]:
        """The JSON of ``GET /devnet/clock``: height, block time, replay window, data."""
        state = self._state
        with state.lock:
            replay = state.replay
            assert replay is not None
            window = replay.window
            return {
                "mode": state.config.clock,
                "height": state.height,
                "block_time": shapes.iso(state.block_time_ms),
                "block_time_ms": state.block_time_ms,
                "replay": {
                    "start": shapes.iso(window.start_ms),
                    "end": None if window.end_ms is None else shapes.iso(window.end_ms),
                    "finished": replay.finished(state.block_time_ms),
                    "shift_ms": window.shift_ms,
                },
                "markets": {
                    ticker: {"first_candle": shapes.iso(first), "last_candle": shapes.iso(last)}
                    for ticker, (first, last) in window.data.items()
                },
                "bundled_markets": list(REPLAYED_TICKERS),
            }


def _aware_ms(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError(f"advance_to needs a timezone-aware time, got {moment.isoformat()}")
    return to_ms(moment.astimezone(UTC))


def _check_step(seconds: Any) -> None:
    if isinstance(seconds, bool) or not isinstance(seconds, int) or not 1 <= seconds <= 3600:
        raise ValueError(f"block_seconds must be whole seconds in 1..3600, got {seconds!r}")
    if (HOUR_MS // 1000) % seconds:
        raise ValueError(f"block_seconds must divide an hour, got {seconds}")
