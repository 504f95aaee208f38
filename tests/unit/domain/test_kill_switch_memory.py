"""The kill switch's memory value, its restore, and the rule that forgives unknown outcomes."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dydx_trader.domain.errors import InvalidInput
from dydx_trader.domain.trading_state import (
    KillSwitch,
    KillSwitchLimits,
    KillSwitchMemory,
    OrderOutcome,
)

Out = OrderOutcome


def _switch(**limits: object) -> KillSwitch:
    return KillSwitch(KillSwitchLimits(**limits))  # type: ignore[arg-type]


def test_memory_when_samples_fed_then_peak_and_its_time() -> None:
    switch = _switch()
    switch.record_equity(1_000, Decimal(500))
    switch.record_equity(2_000, Decimal(700))
    switch.record_equity(3_000, Decimal(600))

    assert switch.memory == KillSwitchMemory(peak=Decimal(700), peak_at_ms=2_000)


def test_restore_when_memory_given_then_same_answers_as_the_original() -> None:
    original = _switch(max_drawdown=Decimal("0.25"), max_consecutive_rejections=3)
    original.record_equity(0, Decimal(1_000))
    original.record_outcome(Out.REJECTED)
    original.record_outcome(Out.REJECTED)

    restored = KillSwitch(original.limits, original.memory)

    assert restored.record_equity(1_000, Decimal(750)) is not None
    assert restored.record_outcome(Out.REJECTED) is not None


def test_record_outcome_when_unknowns_interleave_with_accepted_then_still_trips() -> None:
    switch = _switch(max_consecutive_unknown=2)
    assert switch.record_outcome(Out.UNKNOWN) is None
    assert switch.record_outcome(Out.ACCEPTED) is None
    trip = switch.record_outcome(Out.UNKNOWN)
    assert trip is not None and trip.rule == "unknown"


def test_record_outcome_when_enough_accepted_in_a_row_then_unknowns_forgiven() -> None:
    switch = _switch(max_consecutive_unknown=2)
    switch.record_outcome(Out.UNKNOWN)
    switch.record_outcome(Out.ACCEPTED)
    switch.record_outcome(Out.ACCEPTED)

    assert switch.record_outcome(Out.UNKNOWN) is None
    assert switch.memory.unknown == 1


def test_record_outcome_when_unsettled_then_counted_like_unknown() -> None:
    switch = _switch(max_consecutive_unknown=2)
    switch.record_outcome(Out.UNKNOWN)
    trip = switch.record_outcome(Out.UNSETTLED)
    assert trip is not None and "could not be settled" in trip.reason


def test_record_outcome_when_rejection_between_unknowns_then_neither_count_resets() -> None:
    switch = _switch(max_consecutive_unknown=2, max_consecutive_rejections=5)
    switch.record_outcome(Out.UNKNOWN)
    switch.record_outcome(Out.REJECTED)
    trip = switch.record_outcome(Out.UNKNOWN)
    assert trip is not None and trip.rule == "unknown"


@settings(max_examples=200)
@given(st.lists(st.sampled_from(list(Out)), max_size=60))
def test_record_outcome_when_any_sequence_then_never_more_unknowns_than_limit_untripped(
    outcomes: list[OrderOutcome],
) -> None:
    limit = 3
    switch = _switch(max_consecutive_unknown=limit, max_consecutive_rejections=0)
    # The reference rule: unknowns since the last run of `limit` accepted sends.
    pending, streak = 0, 0
    for outcome in outcomes:
        trip = switch.record_outcome(outcome)
        if outcome is Out.ACCEPTED:
            streak += 1
            if streak >= limit:
                pending = 0
        else:
            streak = 0
            if outcome is not Out.REJECTED:
                pending += 1
        assert (trip is not None) == (outcome is not Out.ACCEPTED and pending >= limit
                                      and outcome is not Out.REJECTED)  # fmt: skip


@pytest.mark.parametrize(
    "fields",
    [
        {"peak": Decimal(1)},
        {"peak_at_ms": 5},
        {"peak": Decimal("NaN"), "peak_at_ms": 5},
        {"rejections": -1},
        {"unknown": True},
        {"clean_streak": 1.5},
    ],
)
def test_memory_when_malformed_then_invalid_input(fields: dict[str, object]) -> None:
    with pytest.raises(InvalidInput):
        KillSwitchMemory(**fields)  # type: ignore[arg-type]
