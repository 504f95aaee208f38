"""Settler: settlement never gives up. Transient venue failures are waited out
(honouring Retry-After), faults are reported and the order kept, a missed
deadline is reported once, and every order is settled exactly once."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import pytest

from dydx_trader.adapters.journal import Journal
from dydx_trader.app.executor import OrderExecutor
from dydx_trader.app.reconciler import OrderReconciler, Settlement
from dydx_trader.app.settlement import Settler
from dydx_trader.domain.broadcast import Accepted, Unknown
from dydx_trader.domain.errors import (
    MalformedPayload,
    OrderFollowUpFault,
    OrderOutcomeUnknown,
    StaleMarketData,
    VenueFailure,
    VenueUnavailable,
)
from dydx_trader.domain.order import OrderIntent, OrderState
from dydx_trader.domain.venue import IndexerOrderStatus, OrderStatusUpdate, SubaccountUpdate
from kit.indexer_reads import BTC, FakeMonotonic, FlakyJournal, PagingIndexer, intent
from kit.venue import FakeSender

S = IndexerOrderStatus
CONFIRM_TIMEOUT_S = 60.0


def unavailable(status: int, **numbers: int) -> VenueUnavailable:
    return VenueUnavailable(
        f"indexer failed (HTTP {status})", status=status, failure=VenueFailure.TRANSIENT, **numbers
    )


class Recorder:
    """The Settler's callbacks and waits, as lists."""

    def __init__(self) -> None:
        self.settled: list[Settlement] = []
        self.unsettled: list[tuple[int, str]] = []
        self.faults: list[tuple[int, Exception]] = []
        self.waits: list[float] = []

    def on_settled(self, settlement: Settlement) -> None:
        self.settled.append(settlement)

    def on_unsettled(self, order_intent: OrderIntent, reason: str) -> None:
        self.unsettled.append((order_intent.client_id, reason))

    def on_fault(self, order_intent: OrderIntent, error: Exception) -> None:
        self.faults.append((order_intent.client_id, error))

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        await asyncio.sleep(0)


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    return Journal.open(tmp_path / "journal.sqlite3", fsync=False)


def settler(
    journal: Journal,
    venue: PagingIndexer,
    recorder: Recorder,
    clock: FakeMonotonic,
    **options: float,
) -> Settler:
    return Settler(
        OrderReconciler(venue, journal, lambda _: BTC),
        journal,
        confirm_timeout_s=CONFIRM_TIMEOUT_S,
        clock=clock,
        on_settled=recorder.on_settled,
        on_unsettled=recorder.on_unsettled,
        on_fault=recorder.on_fault,
        poll_interval_s=options.get("poll_interval_s", 0.001),
        reconcile_interval_s=options.get("reconcile_interval_s", 0.002),
        sleep=recorder.sleep,
    )


def in_flight(journal: Journal, order_intent: OrderIntent) -> OrderIntent:
    journal.record_intent(order_intent)
    journal.transition(order_intent.client_id, OrderState.IN_FLIGHT_UNKNOWN, "answer lost")
    return order_intent


async def until(condition: object, *, limit_s: float = 10.0) -> None:
    """Yield to the loop until ``condition()`` holds (a guard, not a timing check)."""
    async with asyncio.timeout(limit_s):
        while not condition():  # type: ignore[operator]
            await asyncio.sleep(0.001)


async def test_follow_when_indexer_answers_503s_then_429_then_settles_with_fills_once(
    journal: Journal,
) -> None:
    order_intent = in_flight(journal, intent("t1", quantums=2_000_000, good_til_block=110))
    venue = PagingIndexer(height=101)
    listed = venue.show(order_intent, S.FILLED, Decimal("0.0002"))
    venue.fill(listed.order_id, Decimal("0.0001"))
    venue.fill(listed.order_id, Decimal("0.0001"))
    venue.fail_next(unavailable(503), unavailable(503), unavailable(503))
    venue.fail_next(unavailable(429, retry_after_ms=4_000))
    recorder = Recorder()
    run = settler(journal, venue, recorder, FakeMonotonic())

    run.follow(order_intent)
    await run.settle_all()

    (settlement,) = recorder.settled
    assert settlement.order.state is OrderState.FILLED and len(settlement.fills) == 2
    assert recorder.faults == [] and recorder.unsettled == []
    assert len(recorder.waits) == 4 and recorder.waits[-1] >= 4.0  # Retry-After is ms
    assert run.following == ()


async def test_follow_when_fill_malformed_then_fault_reported_once_and_order_kept(
    journal: Journal,
) -> None:
    order_intent = in_flight(journal, intent("t2", quantums=1_000_000, good_til_block=110))
    venue = PagingIndexer(height=111)
    listed = venue.show(order_intent, S.FILLED, Decimal("0.0001"))
    venue.fill(listed.order_id, Decimal("0.000100000001"), fill_id="bad", height=105)
    recorder = Recorder()
    run = settler(journal, venue, recorder, FakeMonotonic())

    run.follow(order_intent)
    await until(lambda: venue.calls["height"] >= 5)

    assert [type(error) for _, error in recorder.faults] == [MalformedPayload]
    assert run.following == (order_intent.client_id,) and recorder.settled == []
    assert journal.order(order_intent.client_id).state is OrderState.IN_FLIGHT_UNKNOWN
    venue.fills.clear()  # the indexer corrects itself
    venue.fill(listed.order_id, Decimal("0.0001"), height=105)
    await run.settle_all()
    assert [s.order.state for s in recorder.settled] == [OrderState.FILLED]


async def test_follow_when_deadline_passes_then_unsettled_once_then_settles_later(
    journal: Journal,
) -> None:
    order_intent = in_flight(journal, intent("t3", good_til_block=110))
    venue = PagingIndexer(height=101)
    clock = FakeMonotonic()
    recorder = Recorder()
    run = settler(journal, venue, recorder, clock)

    run.follow(order_intent)
    await until(lambda: venue.calls["height"] >= 2)
    clock.now += CONFIRM_TIMEOUT_S
    await until(lambda: venue.calls["height"] >= 10)
    venue.height = 111
    await run.settle_all()

    ((client_id, reason),) = recorder.unsettled
    assert client_id == order_intent.client_id
    assert "not settled within 60 s" in reason and "IN_FLIGHT_UNKNOWN" in reason
    assert [s.order.state for s in recorder.settled] == [OrderState.EXPIRED]


async def test_follow_when_called_twice_then_one_read_loop_and_one_settlement(
    journal: Journal,
) -> None:
    order_intent = in_flight(journal, intent("t4", good_til_block=110))
    venue = PagingIndexer(height=111)
    recorder = Recorder()
    run = settler(journal, venue, recorder, FakeMonotonic())

    run.follow(order_intent)
    run.follow(order_intent)
    await run.settle_all()
    run.follow(order_intent)
    await run.settle_all()

    assert len(recorder.settled) == 1


async def test_follow_when_read_times_out_then_waited_out_not_a_fault(journal: Journal) -> None:
    order_intent = in_flight(journal, intent("t5", good_til_block=110))
    venue = PagingIndexer(height=111)
    venue.fail_next(TimeoutError())
    recorder = Recorder()
    run = settler(journal, venue, recorder, FakeMonotonic())

    run.follow(order_intent)
    await run.settle_all()

    assert recorder.faults == [] and len(recorder.settled) == 1


async def test_follow_when_market_data_stale_then_waited_out_not_a_fault(journal: Journal) -> None:
    order_intent = in_flight(journal, intent("t6", good_til_block=110))
    venue = PagingIndexer(height=111)
    venue.fail_next(StaleMarketData("market parameters are 3600.0 s old (at most 120 s)"))
    recorder = Recorder()
    run = settler(journal, venue, recorder, FakeMonotonic())

    run.follow(order_intent)
    await run.settle_all()

    assert recorder.faults == [] and len(recorder.settled) == 1


async def test_follow_when_stream_news_and_poll_slow_then_reads_at_once(journal: Journal) -> None:
    order_intent = in_flight(journal, intent("t6", good_til_block=110))
    venue = PagingIndexer(height=101)
    recorder = Recorder()
    run = settler(journal, venue, recorder, FakeMonotonic(), poll_interval_s=30)
    run.follow(order_intent)
    await until(lambda: venue.calls["height"] == 1)

    venue.height = 111
    run.notify()

    await asyncio.wait_for(run.settle_all(), timeout=10)
    assert [s.order.state for s in recorder.settled] == [OrderState.EXPIRED]


async def test_follow_when_news_names_one_order_then_only_that_one_reads_again(
    journal: Journal,
) -> None:
    named = in_flight(journal, intent("t6a", good_til_block=110))
    other = in_flight(journal, intent("t6b", good_til_block=110))
    venue = PagingIndexer(height=101)
    recorder = Recorder()
    run = settler(journal, venue, recorder, FakeMonotonic(), poll_interval_s=30)
    run.follow(named)
    run.follow(other)
    await until(lambda: venue.calls["height"] >= 1 and venue.calls["orders"] == 2)

    venue.height = 111
    news = OrderStatusUpdate(
        "venue-id", "BTC-USD", S.BEST_EFFORT_CANCELED, client_id=named.client_id
    )
    run.notify(SubaccountUpdate(orders=(news,)))
    await until(lambda: len(recorder.settled) == 1)

    assert recorder.settled[0].order.intent.client_id == named.client_id
    assert run.following == (other.client_id,)  # not woken: it waits for its poll
    run.notify()  # news naming no order wakes every order
    await asyncio.wait_for(run.settle_all(), timeout=10)
    assert len(recorder.settled) == 2


async def test_follow_when_just_sent_then_first_read_waits_for_news(journal: Journal) -> None:
    order_intent = in_flight(journal, intent("t6c", good_til_block=110))
    venue = PagingIndexer(height=111)
    recorder = Recorder()
    run = settler(journal, venue, recorder, FakeMonotonic(), poll_interval_s=30)

    run.follow(order_intent, just_sent=True)
    await asyncio.sleep(0.01)
    reads_before_news = venue.calls["orders"]
    run.notify()
    await asyncio.wait_for(run.settle_all(), timeout=10)

    assert reads_before_news == 0
    assert [s.order.state for s in recorder.settled] == [OrderState.EXPIRED]


async def test_reconcile_when_orders_left_in_flight_then_each_settled_before_return(
    journal: Journal,
) -> None:
    filled = in_flight(journal, intent("t7", quantums=1_000_000, good_til_block=110))
    expired = in_flight(journal, intent("t8", good_til_block=110))
    venue = PagingIndexer(height=111)
    listed = venue.show(filled, S.FILLED, Decimal("0.0001"))
    venue.fill(listed.order_id, Decimal("0.0001"), height=105)
    recorder = Recorder()

    settled = await settler(journal, venue, recorder, FakeMonotonic()).reconcile()

    assert sorted(s.order.state for s in settled) == [OrderState.EXPIRED, OrderState.FILLED]
    assert journal.in_flight_orders() == [] and len(recorder.settled) == 2
    assert {s.order.client_id for s in settled} == {filled.client_id, expired.client_id}


async def test_reconcile_when_an_order_cannot_settle_then_error_names_it_and_keeps_following(
    journal: Journal,
) -> None:
    order_intent = in_flight(journal, intent("t9", good_til_block=110))
    venue = PagingIndexer(height=111)
    venue.fail_next(*(unavailable(503) for _ in range(1_000)))
    clock = FakeMonotonic()
    recorder = Recorder()
    run = settler(journal, venue, recorder, clock)

    reconciling = asyncio.ensure_future(run.reconcile())
    await until(lambda: venue.calls["height"] >= 3)
    clock.now += CONFIRM_TIMEOUT_S
    with pytest.raises(OrderOutcomeUnknown) as raised:
        await asyncio.wait_for(reconciling, timeout=10)

    message = str(raised.value)
    assert f"order {order_intent.client_id} (BTC-USD, signal t9)" in message
    assert "HTTP 503" in message
    assert run.following == (order_intent.client_id,)
    venue.recover()
    await run.settle_all()
    assert [s.order.state for s in recorder.settled] == [OrderState.EXPIRED]


async def test_follow_when_journal_failed_after_broadcast_then_settler_still_settles(
    journal: Journal,
) -> None:
    order_intent = intent("t10", quantums=1_000_000, good_til_block=110)
    flaky = FlakyJournal(journal)
    flaky.fail_transitions = 1
    venue = PagingIndexer(height=101)
    executor = OrderExecutor(FakeSender(Accepted("HASH")), venue, flaky, lambda _: BTC)
    recorder = Recorder()
    run = settler(journal, venue, recorder, FakeMonotonic())
    with pytest.raises(OrderFollowUpFault) as raised:
        await executor.submit(order_intent)
    assert raised.value.sent

    run.follow(order_intent)  # what the caller does with a fault that says "sent"
    listed = venue.show(order_intent, S.FILLED, Decimal("0.0001"))
    venue.fill(listed.order_id, Decimal("0.0001"))
    await run.settle_all()

    assert [s.order.state for s in recorder.settled] == [OrderState.FILLED]


async def test_follow_when_answer_lost_and_order_never_reached_book_then_expired_not_resent(
    journal: Journal,
) -> None:
    order_intent = intent("t11", good_til_block=110)
    sender = FakeSender(Unknown(OrderOutcomeUnknown("no answer")))
    venue = PagingIndexer(height=101)
    await OrderExecutor(sender, venue, journal, lambda _: BTC).submit(order_intent)
    recorder = Recorder()
    run = settler(journal, venue, recorder, FakeMonotonic())

    run.follow(order_intent)
    venue.height = 111
    await run.settle_all()

    assert [s.order.state for s in recorder.settled] == [OrderState.EXPIRED]
    assert len(sender.sent) == 1


async def test_sweep_when_venue_moved_then_every_order_reads_it_once_before_return(
    journal: Journal,
) -> None:
    order_intent = in_flight(journal, intent("t9", good_til_block=110))
    venue = PagingIndexer(height=101)
    recorder = Recorder()
    # No poll to speak of: only the sweep makes the order read the venue again.
    run = settler(journal, venue, recorder, FakeMonotonic(), poll_interval_s=600)
    run.follow(order_intent)
    await run.sweep()
    assert recorder.settled == [] and run.following == (order_intent.client_id,)

    venue.height = 111  # the good-til-block has passed: the order expired
    await run.sweep()

    assert [s.order.state for s in recorder.settled] == [OrderState.EXPIRED]
    assert run.following == ()
