"""The order FSM: only table edges, terminal states stay put, fills only grow (R20)."""

from __future__ import annotations

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from dydx_trader.domain.errors import IllegalStateTransition
from dydx_trader.domain.order import (
    IN_FLIGHT_STATES,
    TERMINAL_STATES,
    TRANSITIONS,
    Order,
    OrderState,
)
from kit.orders import short_term_intent

S = OrderState
# Edges out of terminal states that are documented as allowed (fill-after-cancel etc.).
DOCUMENTED_LATE_EDGES = {
    (S.CANCELED, S.FILLED),
    (S.EXPIRED, S.FILLED),
    (S.BEST_EFFORT_CANCELED, S.OPEN),
    (S.BEST_EFFORT_CANCELED, S.PARTIALLY_FILLED),
    (S.BEST_EFFORT_CANCELED, S.FILLED),
    (S.BEST_EFFORT_CANCELED, S.CANCELED),
    (S.BEST_EFFORT_CANCELED, S.EXPIRED),
}


def _order(state: OrderState, filled: int = 0) -> Order:
    return Order(short_term_intent(quantums=1_000), state, filled)


def test_table_when_read_then_every_state_has_a_row_and_states_partition() -> None:
    assert set(TRANSITIONS) == set(OrderState)
    assert not IN_FLIGHT_STATES & TERMINAL_STATES
    assert IN_FLIGHT_STATES | TERMINAL_STATES == set(OrderState)


def test_table_when_leaving_terminal_states_then_only_documented_edges() -> None:
    late = {(a, b) for a in TERMINAL_STATES for b in TRANSITIONS[a]}
    assert late == DOCUMENTED_LATE_EDGES


@pytest.mark.parametrize("current", list(OrderState))
@pytest.mark.parametrize("new", list(OrderState))
def test_moved_to_when_edge_not_in_table_then_raises(current: OrderState, new: OrderState) -> None:
    filled = 1_000 if current is S.FILLED else (500 if current is S.PARTIALLY_FILLED else 0)
    order = _order(current, filled)
    if new is current or new in TRANSITIONS[current]:
        if new is S.FILLED and order.remaining_quantums:
            with pytest.raises(IllegalStateTransition, match="unfilled"):
                order.moved_to(new)
            return
        if new is S.PARTIALLY_FILLED and not order.filled_quantums:
            with pytest.raises(IllegalStateTransition):
                order.moved_to(new)
            return
        assert order.moved_to(new).state is new
    else:
        with pytest.raises(IllegalStateTransition) as raised:
            order.moved_to(new)
        assert raised.value.numbers == {"current": current.value, "requested": new.value}


def test_moved_to_when_same_state_then_same_object() -> None:
    order = _order(S.OPEN)
    assert order.moved_to(S.OPEN) is order


def test_filled_by_when_fills_sum_to_quantity_then_filled() -> None:
    order = _order(S.SUBMITTED).filled_by(400)
    assert (order.state, order.filled_quantums) == (S.PARTIALLY_FILLED, 400)
    order = order.filled_by(600)
    assert (order.state, order.filled_quantums, order.remaining_quantums) == (S.FILLED, 1_000, 0)


def test_filled_by_when_it_would_overfill_then_raises() -> None:
    order = _order(S.OPEN).filled_by(900)
    with pytest.raises(IllegalStateTransition, match="overfill"):
        order.filled_by(101)


@pytest.mark.parametrize("state", [S.CANCELED, S.BEST_EFFORT_CANCELED, S.EXPIRED])
def test_filled_by_when_late_fill_on_removed_order_then_recorded_state_kept(
    state: OrderState,
) -> None:
    order = _order(state).filled_by(10)
    assert (order.state, order.filled_quantums) == (state, 10)
    assert order.filled_by(990).state is S.FILLED


@pytest.mark.parametrize("state", [S.REJECTED, S.FILLED])
def test_filled_by_when_order_rejected_or_filled_then_raises(state: OrderState) -> None:
    order = _order(state, 1_000 if state is S.FILLED else 0)
    with pytest.raises(IllegalStateTransition):
        order.filled_by(1)


class OrderMachine(RuleBasedStateMachine):
    """Random event sequences against a model: only table edges ever take effect."""

    def __init__(self) -> None:
        super().__init__()
        self.order = Order(short_term_intent(quantums=100))
        self.history: list[OrderState] = [self.order.state]
        self.max_filled = 0

    @rule(new=st.sampled_from(list(OrderState)))
    def move(self, new: OrderState) -> None:
        before = self.order
        legal = new is before.state or new in TRANSITIONS[before.state]
        try:
            self.order = before.moved_to(new)
        except IllegalStateTransition:
            assert self.order is before
            assert (
                not legal
                or (new is S.FILLED and before.remaining_quantums > 0)
                or (new is S.PARTIALLY_FILLED and before.filled_quantums == 0)
            )
            return
        assert legal
        self.history.append(self.order.state)

    @rule(quantums=st.integers(1, 60))
    def fill(self, quantums: int) -> None:
        before = self.order
        try:
            self.order = before.filled_by(quantums)
        except IllegalStateTransition:
            assert self.order is before
            assert before.filled_quantums + quantums > before.intent.quantums or before.state in (
                S.FILLED,
                S.REJECTED,
            )
            return
        after = self.order.state
        assert after is before.state or after in TRANSITIONS[before.state]
        self.history.append(after)

    @invariant()
    def filled_is_monotonic_and_bounded(self) -> None:
        assert self.max_filled <= self.order.filled_quantums <= self.order.intent.quantums
        self.max_filled = self.order.filled_quantums
        assert (self.order.state is S.FILLED) == (self.order.remaining_quantums == 0)

    @invariant()
    def terminal_states_only_leave_by_documented_edges(self) -> None:
        for a, b in zip(self.history, self.history[1:], strict=False):
            if a is not b and a in TERMINAL_STATES:
                assert (a, b) in DOCUMENTED_LATE_EDGES


OrderMachine.TestCase.settings = settings(max_examples=150, stateful_step_count=30, deadline=None)
TestOrderMachine = OrderMachine.TestCase
