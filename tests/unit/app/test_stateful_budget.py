"""The chain's stateful-order block rate limit, kept on the trader's side."""

from __future__ import annotations

from dydx_trader.app.stateful_budget import StatefulOrderBudget


def _spent(budget: StatefulOrderBudget, height: int, count: int) -> None:
    for _ in range(count):
        assert budget.allows(height)
        budget.spend(height)


def test_allows_when_two_attempted_in_a_block_then_a_third_waits_for_the_next() -> None:
    budget = StatefulOrderBudget()
    _spent(budget, 100, 2)

    assert not budget.allows(100)
    assert budget.allows(101)


def test_allows_when_twenty_in_a_hundred_blocks_then_none_until_the_window_moves() -> None:
    budget = StatefulOrderBudget()
    for height in range(100, 120):
        _spent(budget, height, 1)

    assert not budget.allows(150)
    assert not budget.allows(199)
    assert budget.allows(200)  # the attempt at height 100 has left the window


def test_allows_when_a_lagging_view_repeats_a_height_then_it_shares_that_block() -> None:
    budget = StatefulOrderBudget()
    _spent(budget, 100, 2)

    assert not budget.allows(100)  # the same (old) height read again: no new allowance
