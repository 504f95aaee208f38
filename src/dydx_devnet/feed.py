"""Indexer events on their way to the listeners (the WebSocket).

:class:`EventFeed` turns book changes of watched markets into ``v4_orderbook``
deltas and hands every event to the listeners, in order, synchronously.

A lagging indexer publishes late: ``v4_subaccounts`` updates and
``v4_block_height`` messages newer than the indexer's height are held and
released, in their original order, as the indexer catches up. With a fill
delay of ``k`` blocks, the fills of an account update travel as a separate
update that waits ``k`` blocks longer (the order and position updates of the
same moment go ahead), as when the indexer's fill processing trails.
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from dydx_devnet import shapes
from dydx_devnet.book import Book
from dydx_devnet.markets import MarketState

log = logging.getLogger(__name__)

_HELD_CHANNELS = ("v4_subaccounts", "v4_block_height")


@dataclass(frozen=True)
class DevnetEvent:
    """One indexer WebSocket update: ``contents`` is the ``channel_data`` body.

    ``id`` is the subscription id (``"address/n"``, a ticker,
    ``"TICKER/RESOLUTION"``) or ``None`` for ``v4_markets`` and ``v4_block_height``.
    """

    channel: str
    id: str | None
    contents: dict[str, Any]


class EventFeed:
    """Listeners, watched ids, the order-book deltas sent so far, and held events."""

    def __init__(self, markets: Mapping[str, MarketState], books: Mapping[str, Book]) -> None:
        self._markets = markets
        self._books = books
        self.listeners: list[Callable[[DevnetEvent], None]] = []
        self.watched: set[tuple[str, str]] = set()
        self._sent_books: dict[str, tuple[dict[str, str], dict[str, str]]] = {}
        self._held: list[tuple[int, int, DevnetEvent]] = []  # heap of (release, order, event)
        self._sequence = 0

    # -- order books ---------------------------------------------------------------------

    def watch(self, channel: str, channel_id: str) -> None:
        """Produce events for a ``v4_orderbook`` ticker or a ``v4_candles`` id."""
        self.watched.add((channel, channel_id))
        if channel == "v4_orderbook" and channel_id in self._books:
            self._sent_books[channel_id] = (
                self._levels(channel_id, True),
                self._levels(channel_id, False),
            )

    def _levels(self, ticker: str, bids: bool) -> dict[str, str]:
        """One side of ``ticker``'s aggregated book: price -> size, as the indexer prints them."""
        market, book = self._markets[ticker], self._books[ticker]
        return {
            shapes.price(market, p): shapes.size(market, q) for p, q in book.aggregated(bids=bids)
        }

    def book_events(self, touched: set[str]) -> list[DevnetEvent]:
        """``v4_orderbook`` deltas of the watched markets among ``touched``."""
        events = []
        for ticker in sorted(touched):
            if ("v4_orderbook", ticker) not in self.watched:
                continue
            old_bids, old_asks = self._sent_books.get(ticker, ({}, {}))
            new_bids, new_asks = self._levels(ticker, True), self._levels(ticker, False)
            contents: dict[str, Any] = {}
            for name, old, new in (("bids", old_bids, new_bids), ("asks", old_asks, new_asks)):
                delta = [[p, s] for p, s in new.items() if old.get(p) != s]
                delta += [[p, "0"] for p in old if p not in new]
                if delta:
                    contents[name] = delta
            self._sent_books[ticker] = (new_bids, new_asks)
            if contents:
                events.append(DevnetEvent("v4_orderbook", ticker, contents))
        return events

    # -- publishing ------------------------------------------------------------------------

    def publish(self, events: list[DevnetEvent], indexed_height: int, fill_delay: int) -> None:
        """Hold what the indexer has not reached yet, then deliver what it has, in order.

        ``indexed_height`` is the indexer's height; ``fill_delay`` holds fills
        that many blocks longer.
        """
        for event in events:
            for release, part in self._parts(event, fill_delay):
                self._sequence += 1
                heapq.heappush(self._held, (release, self._sequence, part))
        due = []
        while self._held and self._held[0][0] <= indexed_height:
            due.append(heapq.heappop(self._held))
        for _, _, event in sorted(due, key=lambda item: item[1]):
            self._deliver(event)

    @property
    def held(self) -> int:
        """How many events wait for the indexer to catch up."""
        return len(self._held)

    @staticmethod
    def _parts(event: DevnetEvent, fill_delay: int) -> list[tuple[int, DevnetEvent]]:
        """``(release height, event)`` pieces of ``event``; 0 = deliver now."""
        if event.channel not in _HELD_CHANNELS:
            return [(0, event)]
        height = int(event.contents["blockHeight"])
        fills = event.contents.get("fills") if event.channel == "v4_subaccounts" else None
        if not fills or fill_delay == 0:
            return [(height, event)]
        rest = {k: v for k, v in event.contents.items() if k != "fills"}
        parts = []
        if set(rest) != {"blockHeight"}:
            parts.append((height, DevnetEvent(event.channel, event.id, rest)))
        fill_part = {"fills": fills, "blockHeight": event.contents["blockHeight"]}
        parts.append((height + fill_delay, DevnetEvent(event.channel, event.id, fill_part)))
        return parts

    def _deliver(self, event: DevnetEvent) -> None:
        for listener in list(self.listeners):
            try:
                listener(event)
            except Exception:  # a broken subscriber must not fail the transaction
                log.exception("devnet event listener failed on %s", event.channel)
