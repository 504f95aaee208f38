"""The strategy runner evaluates every closed candle once, oldest first, and never
the candle still forming."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import ClassVar

from dydx_trader.app.market_clock import MarketTimeClock
from dydx_trader.app.strategy_runner import StrategyAssignment, StrategyRunner
from dydx_trader.domain.signal import Action, Signal
from dydx_trader.domain.venue import Candle, CandleResolution
from dydx_trader.strategies.base import Explanation, build_signal
from dydx_trader.strategies.candles import Candles

T0 = datetime(2025, 5, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class EveryCandle:
    """BUY on every candle it is shown; remembers the newest close it saw."""

    name: ClassVar[str] = "every_candle"
    seen: list[float]
    min_candles: int = 1
    lookback: int = 5
    emits_stops: bool = False

    def verdict(self, candles: Candles) -> tuple[Action, Decimal]:
        return Action.BUY, Decimal(1)

    def evaluate(self, market: str, candles: Candles, now: datetime) -> Signal:
        self.seen.append(float(candles.close[-1]))
        return build_signal(self.name, "p", market, candles, now, Action.BUY, Decimal(1), None)

    def explain(self, candles: Candles) -> Explanation:
        raise NotImplementedError


def candle(hour: int) -> Candle:
    price = Decimal(100 + hour)
    return Candle("ETH-USD", CandleResolution.ONE_HOUR, T0 + hour * HOUR, price, price, price,
                  price, Decimal(1), Decimal(0), 0)  # fmt: skip


class Series:
    def __init__(self, hours: int) -> None:
        self.candles = [candle(h) for h in range(hours)]

    def __call__(self, market: str, resolution: CandleResolution) -> list[Candle]:
        return self.candles


def runner(
    series: Series, clock: MarketTimeClock, seen: list[float]
) -> tuple[StrategyRunner, list[Signal]]:
    submitted: list[Signal] = []

    async def submit(signal: Signal) -> None:
        submitted.append(signal)

    assignment = StrategyAssignment(EveryCandle(seen), "ETH-USD", CandleResolution.ONE_HOUR)  # type: ignore[arg-type]
    return StrategyRunner([assignment], series, submit, clock), submitted


async def test_tick_when_several_candles_closed_since_last_then_each_evaluated_oldest_first() -> (
    None
):
    series = Series(4)  # candles 0..3; at 03:00 candle 2 has closed, candle 3 is forming
    clock = MarketTimeClock(T0 + 3 * HOUR)
    seen: list[float] = []
    run, submitted = runner(series, clock, seen)
    await run.tick()  # first tick: only the newest closed candle
    series.candles += [candle(4), candle(5), candle(6)]
    clock.set(T0 + 6 * HOUR)

    await run.tick()
    await run.tick()  # nothing new closed: nothing evaluated again

    assert seen == [102.0, 103.0, 104.0, 105.0]
    assert [s.created_at for s in submitted] == [T0 + h * HOUR for h in (3, 4, 5, 6)]
    assert run.candles_evaluated == 4 and run.signals_emitted == 4


async def test_tick_when_newest_candle_still_forming_then_not_read() -> None:
    series = Series(3)
    clock = MarketTimeClock(T0 + 2 * HOUR + timedelta(minutes=59))
    seen: list[float] = []
    run, _ = runner(series, clock, seen)

    await run.tick()

    assert seen == [101.0]  # candle 2 closes at 03:00


def test_market_clock_when_set_earlier_then_ignored(  # a clock never goes backwards
) -> None:
    clock = MarketTimeClock(T0)
    clock.set(T0 + HOUR)
    clock.set(T0)

    assert clock.now() == T0 + HOUR and clock.monotonic() == (T0 + HOUR).timestamp()
