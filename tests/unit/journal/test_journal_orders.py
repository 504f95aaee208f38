"""The journal's order records: intent first, FSM-checked transitions, idempotent fills."""

from __future__ import annotations

import hashlib
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest
from order_testdata import ADDRESS, short_term_intent

from dydx_trader.adapters.journal import Journal
from dydx_trader.domain.errors import (
    ClientIdConflict,
    IllegalStateTransition,
    InvalidInput,
    JournalUnavailable,
    UnknownOrder,
)
from dydx_trader.domain.order import (
    IN_FLIGHT_STATES,
    OrderState,
    derive_client_id,
)

S = OrderState


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    opened = Journal.open(tmp_path / "journal.sqlite3")
    yield opened  # type: ignore[misc]
    opened.close()


def test_record_intent_when_new_then_pending_submit_with_history(journal: Journal) -> None:
    intent = short_term_intent()
    order = journal.record_intent(intent)
    assert order.state is S.PENDING_SUBMIT and order.filled_quantums == 0
    assert journal.order(intent.client_id) == order
    assert journal.order_by_signal("sig-1") == order
    [first] = journal.order_history(intent.client_id)
    assert (first.from_state, first.to_state) == (None, S.PENDING_SUBMIT)


def test_record_intent_when_same_intent_again_then_no_change(journal: Journal) -> None:
    intent = short_term_intent()
    journal.record_intent(intent)
    journal.transition(intent.client_id, S.SUBMITTED, "code 0")
    again = journal.record_intent(intent)
    assert again.state is S.SUBMITTED
    assert len(journal.order_history(intent.client_id)) == 2


def test_record_intent_when_client_id_held_by_other_intent_then_conflict(journal: Journal) -> None:
    journal.record_intent(short_term_intent(quantums=1_000_000))
    with pytest.raises(ClientIdConflict):
        journal.record_intent(short_term_intent(quantums=2_000_000))


def test_record_intent_when_signal_already_has_an_order_then_conflict(journal: Journal) -> None:
    journal.record_intent(short_term_intent())
    with pytest.raises(ClientIdConflict, match="reuse it"):
        journal.record_intent(short_term_intent(nonce=1))


def _colliding_signal_ids() -> tuple[str, str]:
    """Two signal ids whose derived client ids collide (a birthday search, ~80k hashes)."""
    seen: dict[bytes, str] = {}
    index = 0
    while True:
        signal_id = f"s{index}"
        # The documented derivation, inlined for speed; checked against the real one below.
        prefix = hashlib.sha256(f"{ADDRESS}|0|{signal_id}".encode()).digest()[:4]
        if prefix in seen:
            first = seen[prefix]
            assert derive_client_id(ADDRESS, 0, first) == derive_client_id(ADDRESS, 0, signal_id)
            return first, signal_id
        seen[prefix] = signal_id
        index += 1


def test_record_intent_when_derived_ids_collide_then_detected_and_next_nonce_works(
    journal: Journal,
) -> None:
    first, second = _colliding_signal_ids()
    journal.record_intent(short_term_intent(first))
    with pytest.raises(ClientIdConflict, match="nonce"):
        journal.record_intent(short_term_intent(second))
    order = journal.record_intent(short_term_intent(second, nonce=1))
    assert order.client_id != journal.order_by_signal(first).client_id  # type: ignore[union-attr]


def test_transition_when_legal_then_state_and_history_recorded(journal: Journal) -> None:
    intent = short_term_intent()
    journal.record_intent(intent)
    journal.transition(intent.client_id, S.IN_FLIGHT_UNKNOWN, "timeout", waited_ms=5000)
    order = journal.transition(intent.client_id, S.EXPIRED, "gtb passed", height=111)
    assert order.state is S.EXPIRED
    history = journal.order_history(intent.client_id)
    assert [h.to_state for h in history] == [S.PENDING_SUBMIT, S.IN_FLIGHT_UNKNOWN, S.EXPIRED]
    assert history[1].numbers == {"waited_ms": 5000} and history[2].reason == "gtb passed"


def test_transition_when_illegal_then_raises_and_nothing_written(journal: Journal) -> None:
    intent = short_term_intent()
    journal.record_intent(intent)
    journal.transition(intent.client_id, S.REJECTED, "code 2001")
    with pytest.raises(IllegalStateTransition):
        journal.transition(intent.client_id, S.OPEN, "late event")
    assert journal.order(intent.client_id).state is S.REJECTED
    assert len(journal.order_history(intent.client_id)) == 2


def test_transition_when_order_unknown_then_unknown_order(journal: Journal) -> None:
    with pytest.raises(UnknownOrder):
        journal.transition(12345, S.OPEN, "?")


def test_record_fill_when_applied_twice_then_counted_once(journal: Journal) -> None:
    intent = short_term_intent(quantums=1_000)
    journal.record_intent(intent)
    kwargs = dict(
        quantums=400, size=Decimal("0.0004"), price=Decimal("65000.5"), fee=Decimal("0.013")
    )
    assert journal.record_fill(intent.client_id, "f1", **kwargs) is True  # type: ignore[arg-type]
    assert journal.record_fill(intent.client_id, "f1", **kwargs) is False  # type: ignore[arg-type]
    order = journal.order(intent.client_id)
    assert (order.state, order.filled_quantums) == (S.PARTIALLY_FILLED, 400)
    journal.record_fill(
        intent.client_id,
        "f2",
        quantums=600,
        size=Decimal("0.0006"),
        price=Decimal(65001),
        fee=Decimal("0.02"),
    )
    assert journal.order(intent.client_id).state is S.FILLED


def test_record_fill_when_same_fill_id_for_other_order_then_refused(journal: Journal) -> None:
    a, b = short_term_intent("a"), short_term_intent("b")
    journal.record_intent(a)
    journal.record_intent(b)
    journal.record_fill(
        a.client_id, "f1", quantums=1, size=Decimal(1), price=Decimal(1), fee=Decimal(0)
    )
    with pytest.raises(InvalidInput):
        journal.record_fill(
            b.client_id, "f1", quantums=1, size=Decimal(1), price=Decimal(1), fee=Decimal(0)
        )


def test_record_fill_when_it_would_overfill_then_nothing_written(journal: Journal) -> None:
    intent = short_term_intent(quantums=1_000)
    journal.record_intent(intent)
    with pytest.raises(IllegalStateTransition):
        journal.record_fill(
            intent.client_id,
            "f1",
            quantums=1_001,
            size=Decimal(1),
            price=Decimal(1),
            fee=Decimal(0),
        )
    # The fill id is still free: nothing of the failed write remains.
    assert (
        journal.record_fill(
            intent.client_id, "f1", quantums=10, size=Decimal(1), price=Decimal(1), fee=Decimal(0)
        )
        is True
    )


def test_record_fill_when_price_is_nan_then_invalid_input(journal: Journal) -> None:
    intent = short_term_intent()
    journal.record_intent(intent)
    with pytest.raises(InvalidInput):
        journal.record_fill(
            intent.client_id,
            "f1",
            quantums=1,
            size=Decimal(1),
            price=Decimal("NaN"),
            fee=Decimal(0),
        )


def test_fills_when_stored_then_money_is_text_not_real(journal: Journal) -> None:
    intent = short_term_intent()
    journal.record_intent(intent)
    journal.record_fill(
        intent.client_id,
        "f1",
        quantums=10,
        size=Decimal("0.00001"),
        price=Decimal("65000.123456789"),
        fee=Decimal("0.1"),
    )
    journal.close()
    conn = sqlite3.connect(journal.path)
    row = conn.execute(
        "SELECT typeof(price), price, typeof(size), typeof(fee), typeof(quantums) FROM fills"
    ).fetchone()
    conn.close()
    assert row == ("text", "65000.123456789", "text", "text", "text")


def test_in_flight_orders_when_mixed_states_then_only_unsettled(journal: Journal) -> None:
    paths = {
        "pending": [],
        "submitted": [S.SUBMITTED],
        "unknown": [S.IN_FLIGHT_UNKNOWN],
        "open": [S.SUBMITTED, S.OPEN],
        "untriggered": [S.SUBMITTED, S.UNTRIGGERED],
        "partial": [S.SUBMITTED, S.OPEN, "fill"],
        "rejected": [S.REJECTED],
        "expired": [S.IN_FLIGHT_UNKNOWN, S.EXPIRED],
        "canceled": [S.SUBMITTED, S.CANCELED],
        "bec": [S.SUBMITTED, S.BEST_EFFORT_CANCELED],
        "filled": [S.SUBMITTED, "fill_all"],
    }
    for signal_id, steps in paths.items():
        intent = short_term_intent(signal_id, quantums=100)
        journal.record_intent(intent)
        for step in steps:
            if step == "fill":
                journal.record_fill(
                    intent.client_id,
                    signal_id,
                    quantums=10,
                    size=Decimal(1),
                    price=Decimal(1),
                    fee=Decimal(0),
                )
            elif step == "fill_all":
                journal.record_fill(
                    intent.client_id,
                    signal_id,
                    quantums=100,
                    size=Decimal(1),
                    price=Decimal(1),
                    fee=Decimal(0),
                )
            else:
                journal.transition(intent.client_id, step, "test")  # type: ignore[arg-type]
    in_flight = {o.intent.signal_id: o.state for o in journal.in_flight_orders()}
    assert set(in_flight) == {"pending", "submitted", "unknown", "open", "untriggered", "partial"}
    assert set(in_flight.values()) == IN_FLIGHT_STATES


def test_open_when_reopened_after_crash_then_in_flight_intent_still_there(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    first = Journal.open(path)
    intent = short_term_intent()
    first.record_intent(intent)
    # No close(): as if the process died right after journaling the intent.
    second = Journal.open(path)
    assert [o.intent for o in second.in_flight_orders()] == [intent]
    second.close()
    first.close()


def _fail_on_insert(path: Path, table: str) -> None:
    conn = sqlite3.connect(path)
    conn.execute(
        f"CREATE TRIGGER boom BEFORE INSERT ON {table} "
        "BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
    )
    conn.commit()
    conn.close()


def test_transition_when_history_insert_fails_then_state_rolled_back(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    journal = Journal.open(path)
    intent = short_term_intent()
    journal.record_intent(intent)
    _fail_on_insert(path, "order_transitions")
    with pytest.raises(JournalUnavailable, match="injected"):
        journal.transition(intent.client_id, S.SUBMITTED, "code 0")
    assert journal.order(intent.client_id).state is S.PENDING_SUBMIT
    journal.close()


def test_record_intent_when_history_insert_fails_then_no_order_row(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    journal = Journal.open(path)
    _fail_on_insert(path, "order_transitions")
    with pytest.raises(JournalUnavailable):
        journal.record_intent(short_term_intent())
    assert journal.order_by_signal("sig-1") is None
    journal.close()


def test_record_fill_when_order_update_fails_then_fill_not_recorded(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    journal = Journal.open(path)
    intent = short_term_intent(quantums=100)
    journal.record_intent(intent)
    _fail_on_insert(path, "order_transitions")
    with pytest.raises(JournalUnavailable):
        journal.record_fill(
            intent.client_id, "f1", quantums=10, size=Decimal(1), price=Decimal(1), fee=Decimal(0)
        )
    assert journal.order(intent.client_id).filled_quantums == 0
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT count(*) FROM fills").fetchone() == (0,)
    conn.close()
    journal.close()


def test_fills_when_recorded_then_read_back_exactly(journal: Journal) -> None:
    intent = short_term_intent(quantums=1_000)
    journal.record_intent(intent)
    journal.record_fill(
        intent.client_id,
        "f1",
        quantums=300,
        size=Decimal("0.0003"),
        price=Decimal("65000.1"),
        fee=Decimal("-0.0021"),
        height=120,
    )
    journal.record_fill(
        intent.client_id,
        "f0",
        quantums=200,
        size=Decimal("0.0002"),
        price=Decimal("65000.2"),
        fee=Decimal("0.01"),
    )
    fills = journal.fills(intent.client_id)
    assert [(f.fill_id, f.quantums, f.price, f.fee, f.height) for f in fills] == [
        ("f1", 300, Decimal("65000.1"), Decimal("-0.0021"), 120),
        ("f0", 200, Decimal("65000.2"), Decimal("0.01"), None),
    ]
    assert sum(f.quantums for f in fills) == journal.order(intent.client_id).filled_quantums


def test_recent_orders_when_several_then_newest_first(journal: Journal) -> None:
    for name in ("a", "b", "c"):
        journal.record_intent(short_term_intent(name))
    assert [o.intent.signal_id for o in journal.recent_orders(2)] == ["c", "b"]


async def test_journal_when_written_from_threads_concurrently_then_every_write_kept(
    journal: Journal,
) -> None:
    import asyncio

    intents = [short_term_intent(f"t{i}") for i in range(40)]
    await asyncio.gather(*(asyncio.to_thread(journal.record_intent, i) for i in intents))
    assert len(journal.in_flight_orders()) == 40
