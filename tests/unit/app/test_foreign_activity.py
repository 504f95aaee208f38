"""ForeignActivityMonitor: orders and fills on our subaccount that the journal does
not hold are found at reconcile and on the stream, recorded once, and logged."""

from __future__ import annotations

import logging
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from dydx_trader.adapters.journal import Journal
from dydx_trader.app.foreign_activity import ForeignActivityMonitor
from dydx_trader.domain.errors import VenueFailure, VenueUnavailable
from dydx_trader.domain.venue import IndexerOrderStatus, OrderStatusUpdate, SubaccountUpdate
from kit.indexer_reads import ADDRESS, ForeignJournal, PagingIndexer, intent

S = IndexerOrderStatus


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    return Journal.open(tmp_path / "journal.sqlite3", fsync=False)


def monitor(
    venue: PagingIndexer, journal: Journal, foreign: ForeignJournal
) -> ForeignActivityMonitor:
    return ForeignActivityMonitor(venue, journal, foreign, address=ADDRESS, subaccount_number=0)


async def test_scan_when_foreign_orders_and_fills_then_each_recorded_once_ours_never(
    journal: Journal, caplog: pytest.LogCaptureFixture
) -> None:
    ours = intent("ours")
    journal.record_intent(ours)
    venue = PagingIndexer(height=200)
    our_order = venue.show(ours, S.FILLED, Decimal("0.0002"))
    venue.fill(our_order.order_id, Decimal("0.0002"), fill_id="our-fill")
    web_trade = venue.show(intent("from-the-web"), S.FILLED, Decimal("0.0002"))
    venue.fill(web_trade.order_id, Decimal("0.0002"), fill_id="web-fill")
    venue.fill(None, Decimal("0.0001"), fill_id="liquidation")
    foreign = ForeignJournal()
    watcher = monitor(venue, journal, foreign)

    with caplog.at_level(logging.WARNING):
        found = await watcher.scan()
    again = await monitor(venue, journal, foreign).scan()

    assert sorted(a.venue_id for a in found) == sorted(
        [web_trade.order_id, "web-fill", "liquidation"]
    )
    assert set(foreign.records) == {web_trade.order_id, "web-fill", "liquidation"}
    kind, market, details, height = foreign.records["web-fill"]
    assert (kind, market, details["side"], details["size"], height) == (
        "fill",
        "BTC-USD",
        "BUY",
        "0.0002",
        200,
    )
    assert again == []  # recorded once, by the indexer's id
    assert "not placed by this trader" in caplog.text


async def test_scan_when_same_client_id_on_another_market_then_foreign(journal: Journal) -> None:
    ours = intent("ours")
    journal.record_intent(ours)
    venue = PagingIndexer(height=200)
    elsewhere = venue.show(ours, S.OPEN, order_id="other-market")
    venue.orders["other-market"] = replace(elsewhere, clob_pair_id=7, ticker="LINK-USD")
    foreign = ForeignJournal()

    found = await monitor(venue, journal, foreign).scan()

    assert [a.venue_id for a in found] == ["other-market"]


async def test_check_update_when_stream_shows_foreign_fill_then_order_resolved_and_recorded(
    journal: Journal,
) -> None:
    venue = PagingIndexer(height=200)
    bot = venue.show(intent("second-bot"), S.FILLED, Decimal("0.0001"))
    fill = venue.fill(bot.order_id, Decimal("0.0001"), fill_id="bot-fill")
    foreign = ForeignJournal()

    found = await monitor(venue, journal, foreign).check_update(SubaccountUpdate(fills=(fill,)))

    assert [a.venue_id for a in found] == ["bot-fill"]
    assert venue.calls["order"] == 1  # the fill's order, looked up once by id


async def test_check_update_when_sparse_update_of_our_order_then_no_request_nothing_recorded(
    journal: Journal,
) -> None:
    ours = intent("ours")
    journal.record_intent(ours)
    venue = PagingIndexer(height=200)
    listed = venue.show(ours, S.BEST_EFFORT_OPENED)
    fill = venue.fill(listed.order_id, Decimal("0.0001"))
    update = SubaccountUpdate(
        orders=(
            OrderStatusUpdate(
                order_id=listed.order_id,
                ticker="BTC-USD",
                status=S.BEST_EFFORT_OPENED,
                client_id=ours.client_id,
                clob_pair_id=0,
                order_flags=0,
            ),
        ),
        fills=(fill,),
    )
    foreign = ForeignJournal()

    found = await monitor(venue, journal, foreign).check_update(update)

    assert found == [] and foreign.records == {}
    assert sum(venue.calls.values()) == 0


async def test_on_subaccount_update_when_lookup_fails_then_logged_never_raised(
    journal: Journal, caplog: pytest.LogCaptureFixture
) -> None:
    venue = PagingIndexer(height=200)
    bot = venue.show(intent("second-bot"), S.FILLED, Decimal("0.0001"))
    fill = venue.fill(bot.order_id, Decimal("0.0001"))
    venue.fail_next(VenueUnavailable("indexer failed (HTTP 503)", failure=VenueFailure.TRANSIENT))
    watcher = monitor(venue, journal, ForeignJournal())

    with caplog.at_level(logging.WARNING):
        watcher.on_subaccount_update(SubaccountUpdate(fills=(fill,)))
        await watcher.drain()

    assert "HTTP 503" in caplog.text
