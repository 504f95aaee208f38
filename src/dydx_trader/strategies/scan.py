"""Run several strategies over many markets, one result per (market, strategy).

A strategy that cannot evaluate a market (too few candles, a bad series)
gives an error result with the reason instead of stopping the scan. A
composite whose members are also scanned reuses their signals rather than
evaluating them twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from dydx_trader.domain.errors import DydxTraderError
from dydx_trader.domain.signal import Signal
from dydx_trader.strategies.base import Explanation, Strategy
from dydx_trader.strategies.candles import Candles
from dydx_trader.strategies.composite import Composite


@dataclass(frozen=True, slots=True)
class ScanResult:
    """One strategy's verdict on one market: a signal (with, when asked for, the
    indicator values behind it), or why there is none."""

    market: str
    strategy: str
    signal: Signal | None
    error: str | None = None
    explanation: Explanation | None = None


def scan_market(
    strategies: Iterable[Strategy],
    market: str,
    candles: Candles,
    now: datetime,
    *,
    explain: bool = False,
) -> list[ScanResult]:
    """Evaluate every strategy on one market's candles (oldest first) at ``now``;
    with ``explain``, also each strategy's :class:`Explanation`."""
    done: dict[Strategy, Signal] = {}
    results = []
    for strategy in strategies:
        try:
            if isinstance(strategy, Composite) and all(m in done for m in strategy.members):
                signal = strategy.combine(
                    market, candles, now, tuple(done[m] for m in strategy.members)
                )
            else:
                signal = strategy.evaluate(market, candles, now)
        except DydxTraderError as exc:
            results.append(ScanResult(market, strategy.name, None, exc.message))
            continue
        done[strategy] = signal
        # The strategy just read these candles, so it can explain them.
        explanation = strategy.explain(candles) if explain else None
        results.append(ScanResult(market, strategy.name, signal, explanation=explanation))
    return results


def scan(
    strategies: Iterable[Strategy],
    candles_by_market: Mapping[str, Candles],
    now: datetime,
    *,
    explain: bool = False,
) -> list[ScanResult]:
    """:func:`scan_market` over every market, in the mapping's order."""
    chosen = tuple(strategies)
    results: list[ScanResult] = []
    for market, candles in candles_by_market.items():
        results.extend(scan_market(chosen, market, candles, now, explain=explain))
    return results
