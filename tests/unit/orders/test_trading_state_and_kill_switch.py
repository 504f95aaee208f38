"""TradingState transitions and the kill switch rules (pure)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, rule

from dydx_trader.domain.errors import IllegalStateTransition, InvalidInput, TradingHalted
from dydx_trader.domain.trading_state import (
    Authority,
    KillSwitch,
    KillSwitchLimits,
    OrderOutcome,
    TradingState,
    is_change,
    may_trade,
    require_allowed,
    stricter,
)

T = TradingState
SEVERITY = {T.ACTIVE: 0, T.REDUCING: 1, T.FLATTENING: 2, T.HALTED: 3}


@pytest.mark.parametrize("current", list(T))
@pytest.mark.parametrize("new", list(T))
def test_require_allowed_when_automatic_then_only_tightens(current: T, new: T) -> None:
    if SEVERITY[new] >= SEVERITY[current]:
        require_allowed(current, new, Authority.AUTOMATIC)
        assert is_change(current, new) is (new is not current)
    else:
        with pytest.raises(IllegalStateTransition, match="operator"):
            require_allowed(current, new, Authority.AUTOMATIC)


@pytest.mark.parametrize("current", list(T))
@pytest.mark.parametrize("new", list(T))
def test_require_allowed_when_operator_then_anything(current: T, new: T) -> None:
    require_allowed(current, new, Authority.OPERATOR)
    assert is_change(current, new) is (new is not current)


@pytest.mark.parametrize(
    ("state", "reduces", "allowed"),
    [
        (T.ACTIVE, False, True),
        (T.ACTIVE, True, True),
        (T.REDUCING, True, True),
        (T.REDUCING, False, False),
        (T.FLATTENING, True, True),
        (T.FLATTENING, False, False),
        (T.HALTED, True, False),
        (T.HALTED, False, False),
    ],
)
def test_may_trade_when_state_and_order_kind_then_expected(
    state: T, reduces: bool, allowed: bool
) -> None:
    refusal = may_trade(state, reduces)
    if allowed:
        assert refusal is None
    else:
        assert isinstance(refusal, TradingHalted)
        assert refusal.numbers["state"] == state.value


def test_stricter_when_compared_then_most_restrictive() -> None:
    assert stricter(T.ACTIVE, T.REDUCING) is T.REDUCING
    assert stricter(T.HALTED, T.REDUCING) is T.HALTED
    assert stricter(T.ACTIVE, T.ACTIVE) is T.ACTIVE


def _switch(**limits: object) -> KillSwitch:
    return KillSwitch(KillSwitchLimits(**limits))  # type: ignore[arg-type]


def test_record_equity_when_drawdown_reaches_limit_then_trips_halted() -> None:
    switch = _switch(max_drawdown=Decimal("0.1"), drawdown_window_s=100)
    assert switch.record_equity(0, Decimal(1000)) is None
    assert switch.record_equity(10000, Decimal(1100)) is None
    assert switch.record_equity(20000, Decimal("990.01")) is None  # 9.999 % below 1100
    trip = switch.record_equity(30000, Decimal(990))
    assert trip is not None and trip.state is T.HALTED and trip.rule == "drawdown"
    assert trip.numbers["peak"] == "1100" and trip.numbers["equity"] == "990"
    assert "10.00%" in trip.reason


def test_record_equity_when_peak_left_the_window_then_no_trip() -> None:
    switch = _switch(max_drawdown=Decimal("0.1"), drawdown_window_s=100)
    switch.record_equity(0, Decimal(2000))
    switch.record_equity(50000, Decimal(1000))  # trips, but the peak will age out
    assert switch.record_equity(151000, Decimal(950)) is None  # peak now 1000: 5 %


def test_record_equity_when_equity_not_positive_then_trips() -> None:
    trip = _switch().record_equity(0, Decimal(0))
    assert trip is not None and trip.rule == "equity"


def test_record_equity_when_time_goes_backwards_or_nan_then_invalid_input() -> None:
    switch = _switch()
    switch.record_equity(10000, Decimal(1))
    with pytest.raises(InvalidInput):
        switch.record_equity(9000, Decimal(1))
    with pytest.raises(InvalidInput):
        switch.record_equity(11000, Decimal("NaN"))


def test_record_outcome_when_rejections_in_a_row_then_trips_and_accept_resets() -> None:
    switch = _switch(max_consecutive_rejections=3, trip_state=T.REDUCING)
    assert switch.record_outcome(OrderOutcome.REJECTED) is None
    assert switch.record_outcome(OrderOutcome.REJECTED) is None
    assert switch.record_outcome(OrderOutcome.ACCEPTED) is None
    assert switch.record_outcome(OrderOutcome.REJECTED) is None
    assert switch.record_outcome(OrderOutcome.REJECTED) is None
    trip = switch.record_outcome(OrderOutcome.REJECTED)
    assert trip is not None and trip.state is T.REDUCING and trip.numbers["count"] == "3"


def test_record_outcome_when_unknown_in_a_row_then_trips() -> None:
    switch = _switch(max_consecutive_unknown=2)
    assert switch.record_outcome(OrderOutcome.UNKNOWN) is None
    trip = switch.record_outcome(OrderOutcome.UNKNOWN)
    assert trip is not None and trip.rule == "unknown"


def test_record_outcome_when_limit_is_zero_then_never_trips() -> None:
    switch = _switch(max_consecutive_rejections=0)
    assert all(switch.record_outcome(OrderOutcome.REJECTED) is None for _ in range(100))


@pytest.mark.parametrize(
    "limits",
    [
        {"max_drawdown": Decimal(0)},
        {"max_drawdown": Decimal("1.5")},
        {"max_drawdown": Decimal("NaN")},
        {"drawdown_window_s": 0},
        {"drawdown_window_s": 1.5},
        {"max_consecutive_rejections": -1},
        {"trip_state": T.ACTIVE},
    ],
)
def test_limits_when_out_of_range_then_invalid_input(limits: dict[str, object]) -> None:
    with pytest.raises(InvalidInput):
        KillSwitchLimits(**limits)  # type: ignore[arg-type]


@settings(max_examples=200)
@given(st.lists(st.integers(1, 10_000), min_size=1, max_size=40))
def test_record_equity_when_never_below_limit_then_never_trips(values: list[int]) -> None:
    switch = _switch(max_drawdown=Decimal("0.5"), drawdown_window_s=10**6)
    peak = 0
    for step, value in enumerate(values):
        peak = max(peak, value)
        trip = switch.record_equity(step * 1000, Decimal(value))
        assert (trip is not None) == (Decimal(peak - value) / peak >= Decimal("0.5"))


class AutomaticMachine(RuleBasedStateMachine):
    """Automatic changes never loosen the state, whatever the sequence."""

    def __init__(self) -> None:
        super().__init__()
        self.state = T.ACTIVE

    @rule(new=st.sampled_from(list(T)), by=st.sampled_from(list(Authority)))
    def change(self, new: T, by: Authority) -> None:
        try:
            require_allowed(self.state, new, by)
        except IllegalStateTransition:
            assert by is Authority.AUTOMATIC and SEVERITY[new] < SEVERITY[self.state]
            return
        if by is Authority.AUTOMATIC:
            assert SEVERITY[new] >= SEVERITY[self.state]
        self.state = new


AutomaticMachine.TestCase.settings = settings(max_examples=50, stateful_step_count=20)
TestAutomaticMachine = AutomaticMachine.TestCase
