"""R08: fills delivered twice and in any order leave the same journal state."""

from __future__ import annotations

import tempfile
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from order_testdata import short_term_intent

from dydx_trader.adapters.journal import Journal
from dydx_trader.domain.order import OrderState

QUANTITY = 100


@st.composite
def deliveries(draw: st.DrawFn) -> tuple[list[int], list[int]]:
    """Fill sizes summing to at most QUANTITY, and a delivery order with duplicates."""
    sizes = draw(st.lists(st.integers(1, 30), min_size=1, max_size=8))
    kept: list[int] = []
    for size in sizes:
        if sum(kept) + size <= QUANTITY:
            kept.append(size)
    indexes = list(range(len(kept)))
    repeated = draw(st.lists(st.sampled_from(indexes), max_size=10))
    order = draw(st.permutations(indexes + repeated))
    return kept, order


def _apply(sizes: list[int], order: list[int]) -> tuple[OrderState, int, list[str]]:
    with tempfile.TemporaryDirectory() as directory:
        with Journal.open(Path(directory) / "j.sqlite3", fsync=False) as journal:
            intent = short_term_intent(quantums=QUANTITY)
            journal.record_intent(intent)
            journal.transition(intent.client_id, OrderState.SUBMITTED, "code 0")
            for index in order:
                journal.record_fill(
                    intent.client_id,
                    f"fill-{index}",
                    quantums=sizes[index],
                    size=Decimal(sizes[index]),
                    price=Decimal("10.5"),
                    fee=Decimal(0),
                )
            final = journal.order(intent.client_id)
            fill_ids = sorted(f.fill_id for f in journal.fills(intent.client_id))
            return final.state, final.filled_quantums, fill_ids


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(deliveries())
def test_record_fill_when_duplicated_and_permuted_then_same_final_state(
    delivery: tuple[list[int], list[int]],
) -> None:
    sizes, order = delivery
    state, filled, fill_ids = _apply(sizes, order)
    assert (state, filled, fill_ids) == _apply(sizes, sorted(set(order)))
    assert filled == sum(sizes)
    assert (state is OrderState.FILLED) == (filled == QUANTITY)
