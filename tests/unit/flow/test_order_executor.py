"""The executor journals before sending, never turns a lost answer into a
rejection, and settles every order from the indexer exactly once."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import pytest

from dydx_trader.adapters.journal import Journal
from dydx_trader.app.executor import OrderExecutor
from dydx_trader.domain.broadcast import (
    Accepted,
    Rejected,
    Unknown,
)
from dydx_trader.domain.errors import OrderOutcomeUnknown, VenueRejected
from dydx_trader.domain.order import OrderState
from kit.orders import short_term_intent
from kit.venue import BTC, FakeSender, FakeVenue


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    return Journal.open(tmp_path / "journal.sqlite3", fsync=False)


def executor(sender: FakeSender, venue: FakeVenue, journal: Journal) -> OrderExecutor:
    return OrderExecutor(
        sender, venue, journal, lambda _: BTC, poll_interval_s=0.001, settle_timeout_s=2
    )


async def test_lost_answer_then_in_flight_not_rejected_and_settled_filled_from_venue(
    journal: Journal,
) -> None:
    intent = short_term_intent("s1", quantums=2_000_000, good_til_block=110)
    sender = FakeSender(Unknown(OrderOutcomeUnknown("timeout")), journal)
    venue = FakeVenue(height=101)
    run = executor(sender, venue, journal)

    order = await run.submit(intent)

    assert order.state is OrderState.IN_FLIGHT_UNKNOWN
    assert sender.journaled_before_send == [True]
    venue.show(intent, "FILLED", Decimal("0.0002"))
    venue.fill("f1", Decimal("0.0001"))
    venue.fill("f2", Decimal("0.0001"))
    settlement = await run.settle(intent)
    assert settlement.order.state is OrderState.FILLED
    assert settlement.order.filled_quantums == 2_000_000
    assert len(sender.sent) == 1


async def test_rejected_code_then_rejected_and_settles_at_once_without_venue(
    journal: Journal,
) -> None:
    intent = short_term_intent("s2")
    rejected = Rejected(VenueRejected("undercollateralized", chain_code=3007, codespace="clob"))
    run = executor(FakeSender(rejected, journal), FakeVenue(height=101), journal)

    order = await run.submit(intent)
    settlement = await run.settle(intent)

    assert order.state is OrderState.REJECTED
    assert settlement.order.state is OrderState.REJECTED and settlement.fills == ()


async def test_never_seen_order_when_window_closed_then_expired_with_no_fill(
    journal: Journal,
) -> None:
    intent = short_term_intent("s3", good_til_block=110)
    run = executor(FakeSender(Accepted("HASH"), journal), FakeVenue(height=111), journal)
    await run.submit(intent)

    settlement = await run.settle(intent)

    assert settlement.order.state is OrderState.EXPIRED
    assert settlement.order.filled_quantums == 0


async def test_settle_polled_repeatedly_then_each_fill_recorded_once(journal: Journal) -> None:
    intent = short_term_intent("s4", quantums=2_000_000, good_til_block=110)
    venue = FakeVenue(height=101)
    run = executor(FakeSender(Accepted("HASH"), journal), venue, journal)
    await run.submit(intent)
    venue.show(intent, "BEST_EFFORT_CANCELED", Decimal("0.0001"))
    venue.fill("f1", Decimal("0.0001"))

    first = await run.settle(intent)
    again = await run.settle(intent)

    assert first.order.state is OrderState.BEST_EFFORT_CANCELED
    assert again.order.filled_quantums == 1_000_000
    assert len(journal.fills(intent.client_id)) == 1


async def test_reconcile_after_restart_then_in_flight_orders_settled_not_resent(
    journal: Journal,
) -> None:
    intent = short_term_intent("s5", good_til_block=110)
    journal.record_intent(intent)  # the process died before sending
    sender = FakeSender(Accepted("HASH"), journal)
    run = executor(sender, FakeVenue(height=120), journal)

    settled = await run.reconcile()

    assert [s.order.state for s in settled] == [OrderState.EXPIRED]
    assert sender.sent == [] and journal.in_flight_orders() == []


async def test_stream_news_when_poll_is_slow_then_settlement_wakes_at_once(
    journal: Journal,
) -> None:
    intent = short_term_intent("s6", quantums=1_000_000, good_til_block=110)
    venue = FakeVenue(height=101)
    sender = FakeSender(Accepted("HASH"), journal)
    run = OrderExecutor(sender, venue, journal, lambda _: BTC, poll_interval_s=30)
    await run.submit(intent)
    settling = asyncio.ensure_future(run.settle(intent))
    await asyncio.sleep(0.05)
    assert not settling.done()

    venue.show(intent, "FILLED", Decimal("0.0001"))
    venue.fill("f1", Decimal("0.0001"))
    run.notify()

    settlement = await asyncio.wait_for(settling, timeout=1)
    assert settlement.order.state is OrderState.FILLED
