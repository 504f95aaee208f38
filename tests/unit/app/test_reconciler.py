"""OrderReconciler.settle_once: fills at processed heights only, IOC end states only
after good-til-block, malformed data refused, and reads that never lose an order
or a fill on a busy account."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from venue_fakes import BTC, FakeVenue, intent

from dydx_trader.adapters.journal import Journal
from dydx_trader.app.reconciler import OrderReconciler
from dydx_trader.domain.errors import JournalUnavailable, MalformedPayload
from dydx_trader.domain.order import OrderIntent, OrderState
from dydx_trader.domain.venue import IndexerHeight, IndexerOrder, IndexerOrderStatus

S = IndexerOrderStatus


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    return Journal.open(tmp_path / "journal.sqlite3", fsync=False)


@pytest.fixture
def venue() -> FakeVenue:
    return FakeVenue(height=101)


def submitted(journal: Journal, venue: FakeVenue, order_intent: OrderIntent) -> OrderReconciler:
    """A reconciler for ``order_intent``, sent and accepted by CheckTx."""
    journal.record_intent(order_intent)
    journal.transition(order_intent.client_id, OrderState.SUBMITTED, "accepted by CheckTx")
    return OrderReconciler(venue, journal, lambda _: BTC)


async def test_settle_once_when_best_effort_canceled_before_good_til_block_then_not_final(
    journal: Journal, venue: FakeVenue
) -> None:
    order_intent = intent("r1", quantums=2_000_000, good_til_block=110)
    reconciler = submitted(journal, venue, order_intent)
    listed = venue.show(order_intent, S.BEST_EFFORT_CANCELED, Decimal("0.0001"))
    venue.fill(listed.order_id, Decimal("0.0001"))

    early = await reconciler.settle_once(order_intent)
    venue.fill(listed.order_id, Decimal("0.0001"), height=104)  # the cancel did not hold
    venue.height = 111
    late = await reconciler.settle_once(order_intent)

    assert early is None
    assert journal.order(order_intent.client_id).state is OrderState.FILLED
    assert late is not None and late.order.filled_quantums == 2_000_000
    assert len(late.fills) == 2 and late.height == 111


async def test_settle_once_when_best_effort_canceled_past_good_til_block_then_final_with_fills(
    journal: Journal, venue: FakeVenue
) -> None:
    order_intent = intent("r2", quantums=2_000_000, good_til_block=110)
    reconciler = submitted(journal, venue, order_intent)
    listed = venue.show(order_intent, S.BEST_EFFORT_CANCELED, Decimal("0.0001"))
    venue.fill(listed.order_id, Decimal("0.0001"))
    venue.height = 111

    first = await reconciler.settle_once(order_intent)
    again = await reconciler.settle_once(order_intent)

    assert first is not None and first.order.state is OrderState.BEST_EFFORT_CANCELED
    assert again is not None and again.order.filled_quantums == 1_000_000
    assert len(journal.fills(order_intent.client_id)) == 1


async def test_settle_once_when_unfilled_ioc_vanishes_then_expired_only_past_good_til_block(
    journal: Journal, venue: FakeVenue
) -> None:
    order_intent = intent("r3", good_til_block=110)
    reconciler = submitted(journal, venue, order_intent)
    listed = venue.show(order_intent, S.BEST_EFFORT_OPENED)

    resting = await reconciler.settle_once(order_intent)
    venue.remove(listed.order_id)  # never stored: gone once it left the book
    gone_early = await reconciler.settle_once(order_intent)
    venue.height = 110
    at_good_til = await reconciler.settle_once(order_intent)
    venue.height = 111
    settled = await reconciler.settle_once(order_intent)

    assert resting is None and gone_early is None and at_good_til is None
    assert settled is not None and settled.order.state is OrderState.EXPIRED
    assert settled.order.filled_quantums == 0 and settled.fills == ()


async def test_settle_once_when_short_term_canceled_before_good_til_block_then_not_final(
    journal: Journal, venue: FakeVenue
) -> None:
    order_intent = intent("r4", good_til_block=110)
    reconciler = submitted(journal, venue, order_intent)
    venue.show(order_intent, S.CANCELED)

    early = await reconciler.settle_once(order_intent)
    venue.height = 111
    late = await reconciler.settle_once(order_intent)

    assert early is None
    assert late is not None and late.order.state is OrderState.CANCELED


async def test_settle_once_when_fill_above_read_height_then_not_counted_yet(
    journal: Journal, venue: FakeVenue
) -> None:
    order_intent = intent("r5", quantums=1_000_000, good_til_block=110)
    reconciler = submitted(journal, venue, order_intent)
    listed = venue.show(order_intent, S.BEST_EFFORT_OPENED, Decimal("0.0001"))
    venue.fill(listed.order_id, Decimal("0.0001"), height=102)  # optimistic, block 101 read

    before = await reconciler.settle_once(order_intent)
    venue.height = 102
    after = await reconciler.settle_once(order_intent)

    assert before is None
    assert after is not None and after.order.state is OrderState.FILLED


async def test_settle_once_when_indexer_counts_more_filled_than_fills_then_waits(
    journal: Journal, venue: FakeVenue
) -> None:
    order_intent = intent("r6", quantums=2_000_000, good_til_block=110)
    reconciler = submitted(journal, venue, order_intent)
    listed = venue.show(order_intent, S.CANCELED, Decimal("0.0002"))
    venue.fill(listed.order_id, Decimal("0.0001"))
    venue.height = 111

    missing = await reconciler.settle_once(order_intent)
    venue.fill(listed.order_id, Decimal("0.0001"), height=109)
    complete = await reconciler.settle_once(order_intent)

    assert missing is None
    assert complete is not None and complete.order.state is OrderState.FILLED


async def test_settle_once_when_fill_size_off_quantum_grid_then_malformed_and_still_in_flight(
    journal: Journal, venue: FakeVenue
) -> None:
    order_intent = intent("r7", quantums=1_000_000, good_til_block=110)
    reconciler = submitted(journal, venue, order_intent)
    listed = venue.show(order_intent, S.FILLED, Decimal("0.0001"))
    venue.fill(listed.order_id, Decimal("0.000100000001"))
    venue.height = 111

    with pytest.raises(MalformedPayload, match="not a whole number of quantums"):
        await reconciler.settle_once(order_intent)

    assert journal.order(order_intent.client_id).state is OrderState.SUBMITTED
    assert [o.client_id for o in journal.in_flight_orders()] == [order_intent.client_id]


async def test_settle_once_when_account_busy_then_order_and_fills_beyond_first_pages_found(
    journal: Journal, venue: FakeVenue
) -> None:
    order_intent = intent("r8", quantums=2_000_000, good_til_block=110)
    reconciler = submitted(journal, venue, order_intent)
    ours = venue.show(order_intent, S.FILLED, Decimal("0.0002"))
    venue.fill(ours.order_id, Decimal("0.0001"), height=100)
    venue.fill(ours.order_id, Decimal("0.0001"), height=101)
    for n in range(1_200):  # another strategy of ours, busy after it: newer orders and fills
        busy = intent(f"busy-{n}", quantums=1_000_000, good_til_block=120 + n)
        venue.show(busy, S.FILLED, Decimal("0.0001"))
        venue.fill(f"order-{busy.client_id}", Decimal("0.0001"), height=105 + n // 10)
    venue.height = 300

    settlement = await reconciler.settle_once(order_intent)

    assert settlement is not None and settlement.order.state is OrderState.FILLED
    assert [f.created_at_height for f in settlement.fills] == [100, 101]
    first_page = await venue.get_orders(order_intent.address, 0, ticker="BTC-USD")
    assert ours not in first_page  # the indexer's default page would have missed it


async def test_settle_once_when_order_flags_differ_then_not_taken_for_ours(
    journal: Journal, venue: FakeVenue
) -> None:
    order_intent = intent("r9", good_til_block=110)
    reconciler = submitted(journal, venue, order_intent)
    impostor = venue.show(order_intent, S.FILLED, Decimal("0.0002"))
    venue.orders[impostor.order_id] = replace(impostor, order_flags=64)
    venue.height = 111

    settlement = await reconciler.settle_once(order_intent)

    assert settlement is not None and settlement.order.state is OrderState.EXPIRED


class LockedForWrites:
    """The real journal, whose final-state writes fail while ``locked`` (another
    process holds its write lock past the busy timeout)."""

    def __init__(self, journal: Journal) -> None:
        self._journal = journal
        self.locked = True

    def __getattr__(self, name: str) -> object:
        return getattr(self._journal, name)

    def transition(
        self, client_id: int, state: OrderState, reason: str, **numbers: object
    ) -> object:
        if self.locked:
            raise JournalUnavailable(f"journal is not writable: database is locked ({state})")
        return self._journal.transition(client_id, state, reason, **numbers)


async def test_settle_once_when_the_final_state_cannot_be_written_then_raises_and_settles_later(
    journal: Journal, venue: FakeVenue
) -> None:
    # Found by the fault soak (seed 137): the write failed, the order counted as
    # settled, and a clean exit left it IN_FLIGHT_UNKNOWN in the journal.
    order_intent = intent("r-locked", good_til_block=110)
    submitted(journal, venue, order_intent)
    locked = LockedForWrites(journal)
    reconciler = OrderReconciler(venue, locked, lambda _: BTC)  # type: ignore[arg-type]
    venue.height = 111  # past good-til-block, never on the venue: EXPIRED

    with pytest.raises(JournalUnavailable):
        await reconciler.settle_once(order_intent)
    still = journal.order(order_intent.client_id).state
    locked.locked = False
    settled = await reconciler.settle_once(order_intent)

    assert still is OrderState.SUBMITTED
    assert settled is not None and settled.order.state is OrderState.EXPIRED


class ReplicaVenue(FakeVenue):
    """An indexer behind a load balancer: while ``behind`` is set, every read after
    the first height read comes from a replica at ``behind`` that has not seen
    ``hidden`` yet (its order and its fills)."""

    def __init__(self, height: int) -> None:
        super().__init__(height)
        self.behind: int | None = None
        self.hidden: set[str] = set()
        self._first = True

    async def get_height(self) -> IndexerHeight:
        read = await super().get_height()
        if self.behind is not None and not self._first:
            return IndexerHeight(self.behind, read.time)
        self._first = False
        return read

    async def get_orders(self, *args: Any, **kwargs: Any) -> tuple[IndexerOrder, ...]:
        found = await super().get_orders(*args, **kwargs)
        if self.behind is None:
            return found
        return tuple(order for order in found if order.order_id not in self.hidden)

    def catch_up(self) -> None:
        self.behind, self.hidden = None, set()


async def test_settle_once_when_the_indexer_answers_from_an_older_view_then_not_final_yet(
    journal: Journal,
) -> None:
    # Found by the fault soak (seed 318): the height read said past good-til-block,
    # the orders read came from a view that had not seen the order yet, and a
    # filled order was settled EXPIRED with none of its fills.
    venue = ReplicaVenue(height=111)
    order_intent = intent("r-replica", quantums=2_000_000, good_til_block=110)
    reconciler = submitted(journal, venue, order_intent)  # type: ignore[arg-type]
    listed = venue.show(order_intent, S.BEST_EFFORT_CANCELED, Decimal("0.0001"))
    venue.fill(listed.order_id, Decimal("0.0001"), height=105)
    venue.behind, venue.hidden = 104, {listed.order_id}

    early = await reconciler.settle_once(order_intent)
    venue.catch_up()
    settled = await reconciler.settle_once(order_intent)

    assert early is None
    assert settled is not None and settled.order.state is OrderState.BEST_EFFORT_CANCELED
    assert settled.order.filled_quantums == 1_000_000 and len(settled.fills) == 1
