"""Drawdown, Sharpe and returns from the marked-to-market equity samples.

Samples are ``(time, equity USDC)`` in time order, one per replay step (a
candle close). Percentages are fractions of 1 (0.05 = 5 %).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

ZERO = Decimal(0)
SECONDS_PER_YEAR = 365 * 86_400


@dataclass(frozen=True, slots=True)
class Drawdown:
    """The deepest fall from a running peak: ``amount`` USDC, ``fraction`` of the
    peak, from the peak's time to the trough's (both ``None`` with no fall)."""

    amount: Decimal
    fraction: Decimal
    peak_at: datetime | None
    trough_at: datetime | None


def max_drawdown(samples: Sequence[tuple[datetime, Decimal]]) -> Drawdown:
    """The largest peak-to-trough fall of equity over ``samples``."""
    worst = Drawdown(ZERO, ZERO, None, None)
    peak: tuple[datetime, Decimal] | None = None
    for at, equity in samples:
        if peak is None or equity > peak[1]:
            peak = (at, equity)
            continue
        fall = peak[1] - equity
        if fall > worst.amount and peak[1] > 0:
            worst = Drawdown(fall, fall / peak[1], peak[0], at)
    return worst


def step_returns(samples: Sequence[tuple[datetime, Decimal]]) -> list[Decimal]:
    """Each sample's equity change as a fraction of the one before (skipping
    any step from equity <= 0)."""
    return [
        (now - before) / before
        for (_, before), (_, now) in itertools.pairwise(samples)
        if before > 0
    ]


def sharpe(returns: Sequence[Decimal], period_s: int) -> Decimal | None:
    """Annualized Sharpe ratio of per-period ``returns`` (risk-free rate 0):
    mean / standard deviation (sample) x sqrt(periods per year). ``None`` with
    fewer than two returns or none varying."""
    if len(returns) < 2 or period_s <= 0:
        return None
    mean = sum(returns, ZERO) / len(returns)
    variance = sum(((r - mean) ** 2 for r in returns), ZERO) / (len(returns) - 1)
    if variance <= 0:
        return None
    periods = Decimal(SECONDS_PER_YEAR) / Decimal(period_s)
    return mean / variance.sqrt() * periods.sqrt()


def total_return(start: Decimal, end: Decimal) -> Decimal | None:
    """``end / start - 1``; ``None`` when ``start`` is not positive."""
    return end / start - 1 if start > 0 else None


def buy_and_hold(prices: dict[str, tuple[Decimal, Decimal]]) -> dict[str, Decimal]:
    """Each market's price change over the session (``start``, ``end`` USDC) as a
    fraction, and ``"equal_weight"``: the start equity split equally across them,
    held unlevered."""
    changes = {m: end / start - 1 for m, (start, end) in sorted(prices.items()) if start > 0}
    if changes:
        changes["equal_weight"] = sum(changes.values(), ZERO) / len(changes)
    return changes


def drawdown_series(samples: Sequence[tuple[datetime, Decimal]]) -> list[Decimal]:
    """Each sample's fall below the running peak of equity, as a fraction of that
    peak (0 at a new peak; 0 while the peak is not positive)."""
    series = []
    peak: Decimal | None = None
    for _, equity in samples:
        peak = equity if peak is None else max(peak, equity)
        series.append((peak - equity) / peak if peak > 0 else ZERO)
    return series
