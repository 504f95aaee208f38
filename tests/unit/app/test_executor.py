"""OrderExecutor.submit: the intent is journaled before the send, the send happens
once, and a failure anywhere raises a fault that says whether the order may be live."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import pytest

from dydx_trader.adapters.journal import Journal
from dydx_trader.app.executor import OrderExecutor, Settlement
from dydx_trader.domain.broadcast import Accepted, Rejected, Unknown
from dydx_trader.domain.errors import (
    ClientIdConflict,
    OrderFollowUpFault,
    OrderOutcomeUnknown,
    VenueRejected,
)
from dydx_trader.domain.order import OrderIntent, OrderState
from dydx_trader.domain.venue import IndexerOrderStatus
from kit.indexer_reads import BTC, FlakyJournal, PagingIndexer, intent
from kit.venue import FakeSender


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    return Journal.open(tmp_path / "journal.sqlite3", fsync=False)


def executor(sender: FakeSender, venue: PagingIndexer, journal: object) -> OrderExecutor:
    return OrderExecutor(sender, venue, journal, lambda _: BTC)  # type: ignore[arg-type]


async def settle(run: OrderExecutor, order_intent: OrderIntent) -> Settlement:
    """Read the venue until the order is final (what the Settler does, minus backoff)."""
    async with asyncio.timeout(2):
        while (settled := await run.settle_once(order_intent)) is None:
            await asyncio.sleep(0.001)
    return settled


async def test_submit_when_answer_lost_then_in_flight_unknown_and_settled_filled_from_venue(
    journal: Journal,
) -> None:
    order_intent = intent("s1", quantums=2_000_000, good_til_block=110)
    sender = FakeSender(Unknown(OrderOutcomeUnknown("timeout")), journal)
    venue = PagingIndexer(height=101)
    run = executor(sender, venue, journal)

    order = await run.submit(order_intent)

    assert order.state is OrderState.IN_FLIGHT_UNKNOWN
    assert sender.journaled_before_send == [True]
    listed = venue.show(order_intent, IndexerOrderStatus.FILLED, Decimal("0.0002"))
    venue.fill(listed.order_id, Decimal("0.0001"))
    venue.fill(listed.order_id, Decimal("0.0001"))
    venue.height = 102
    settlement = await settle(run, order_intent)
    assert settlement.order.state is OrderState.FILLED
    assert settlement.order.filled_quantums == 2_000_000
    assert len(settlement.fills) == 2 and settlement.height == 102
    assert len(sender.sent) == 1


async def test_submit_when_rejected_code_then_rejected_and_settles_at_once_without_venue(
    journal: Journal,
) -> None:
    order_intent = intent("s2")
    rejected = Rejected(VenueRejected("undercollateralized", chain_code=3007, codespace="clob"))
    venue = PagingIndexer(height=101)
    run = executor(FakeSender(rejected, journal), venue, journal)

    order = await run.submit(order_intent)
    settlement = await settle(run, order_intent)

    assert order.state is OrderState.REJECTED
    assert settlement.order.state is OrderState.REJECTED and settlement.fills == ()
    assert sum(venue.calls.values()) == 0


async def test_submit_when_called_twice_then_sent_once_and_stored_order_returned(
    journal: Journal,
) -> None:
    order_intent = intent("s3")
    sender = FakeSender(Accepted("HASH"), journal)
    run = executor(sender, PagingIndexer(height=101), journal)

    first = await run.submit(order_intent)
    second = await run.submit(order_intent)

    assert len(sender.sent) == 1
    assert first.state is second.state is OrderState.SUBMITTED


async def test_submit_when_stored_pending_and_good_til_block_ahead_then_sent_once(
    journal: Journal,
) -> None:
    order_intent = intent("s4", good_til_block=110)
    journal.record_intent(order_intent)  # journaled, then the process died before the send
    sender = FakeSender(Accepted("HASH"), journal)
    run = executor(sender, PagingIndexer(height=105), journal)

    order = await run.submit(order_intent)
    again = await run.submit(order_intent)

    assert len(sender.sent) == 1
    assert order.state is again.state is OrderState.SUBMITTED


async def test_submit_when_stored_pending_and_good_til_block_passed_then_nothing_sent(
    journal: Journal,
) -> None:
    order_intent = intent("s5", good_til_block=110)
    journal.record_intent(order_intent)
    sender = FakeSender(Accepted("HASH"), journal)
    run = executor(sender, PagingIndexer(height=110), journal)

    order = await run.submit(order_intent)

    assert sender.sent == []
    assert order.state is OrderState.PENDING_SUBMIT  # settled from the venue, never resent


async def test_submit_when_resend_refused_then_in_flight_unknown_never_rejected(
    journal: Journal,
) -> None:
    order_intent = intent("s6", good_til_block=110)
    journal.record_intent(order_intent)  # the first send's answer was never journaled
    refused = Rejected(VenueRejected("invalid replacement", chain_code=20, codespace="clob"))
    run = executor(FakeSender(refused, journal), PagingIndexer(height=105), journal)

    order = await run.submit(order_intent)

    assert order.state is OrderState.IN_FLIGHT_UNKNOWN
    assert "first send may have landed" in journal.order_history(order.client_id)[-1].reason


async def test_submit_when_journal_fails_after_broadcast_then_fault_sent_and_order_settles(
    journal: Journal,
) -> None:
    order_intent = intent("s7", quantums=1_000_000, good_til_block=110)
    flaky = FlakyJournal(journal)
    flaky.fail_transitions = 1  # the SUBMITTED write after the broadcast
    sender = FakeSender(Accepted("HASH"), journal)
    venue = PagingIndexer(height=101)
    run = executor(sender, venue, flaky)

    with pytest.raises(OrderFollowUpFault) as raised:
        await run.submit(order_intent)

    assert raised.value.sent is True and raised.value.client_id == order_intent.client_id
    assert "may be live" in str(raised.value)
    assert journal.order(order_intent.client_id).state is OrderState.PENDING_SUBMIT
    listed = venue.show(order_intent, IndexerOrderStatus.FILLED, Decimal("0.0001"))
    venue.fill(listed.order_id, Decimal("0.0001"))
    settlement = await run.settle_once(order_intent)
    assert settlement is not None and settlement.order.state is OrderState.FILLED
    assert len(sender.sent) == 1


async def test_submit_when_intent_cannot_be_journaled_then_fault_not_sent_and_nothing_sent(
    journal: Journal,
) -> None:
    flaky = FlakyJournal(journal)
    flaky.fail_intents = 1
    sender = FakeSender(Accepted("HASH"))
    run = executor(sender, PagingIndexer(height=101), flaky)

    with pytest.raises(OrderFollowUpFault) as raised:
        await run.submit(intent("s8"))

    assert raised.value.sent is False
    assert sender.sent == []


async def test_submit_when_broadcast_raises_then_fault_says_it_may_be_live(
    journal: Journal,
) -> None:
    sender = FakeSender(Accepted("HASH"), journal)
    sender.failure = RuntimeError("the channel broke mid-call")
    run = executor(sender, PagingIndexer(height=101), journal)

    with pytest.raises(OrderFollowUpFault) as raised:
        await run.submit(intent("s9"))

    assert raised.value.sent is True
    assert "the channel broke mid-call" in str(raised.value)


async def test_submit_when_client_id_held_by_another_intent_then_conflict_and_nothing_sent(
    journal: Journal,
) -> None:
    first = intent("s10", quantums=1_000_000)
    journal.record_intent(first)
    other = intent("s10", quantums=3_000_000)  # same signal id, so the same client id
    sender = FakeSender(Accepted("HASH"), journal)

    with pytest.raises(ClientIdConflict):
        await executor(sender, PagingIndexer(height=101), journal).submit(other)

    assert sender.sent == []
