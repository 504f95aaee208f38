"""The kill switch's rolling peak equals the naive maximum over the window."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from dydx_trader.domain.trading_state import KillSwitch, KillSwitchLimits

samples = st.lists(
    st.tuples(st.integers(0, 5_000), st.integers(1, 20_000)), min_size=1, max_size=60
)


@settings(max_examples=200, deadline=None)
@given(samples)
def test_trips_when_naive_window_peak_says_so(steps: list[tuple[int, int]]) -> None:
    limits = KillSwitchLimits(max_drawdown=Decimal("0.2"), drawdown_window_s=3)
    switch = KillSwitch(limits)
    history: list[tuple[int, Decimal]] = []
    at = 0
    for gap, cents in steps:
        at += gap
        equity = Decimal(cents) / 100
        history.append((at, equity))
        peak = max(v for t, v in history if t >= at - 3_000)
        expected = (peak - equity) / peak >= limits.max_drawdown

        trip = switch.record_equity(at, equity)

        assert (trip is not None) == expected
