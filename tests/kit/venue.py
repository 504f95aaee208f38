"""Scripted fakes for the executor: an order sender and the indexer's view of orders.

``FakeSender`` answers every broadcast with one scripted outcome and notes
whether the intent was journaled before it was sent; ``FakeVenue`` shows the
orders and fills a test puts on it, at a height the test moves.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from dydx_trader.app.ports import OrderJournal
from dydx_trader.domain.broadcast import BroadcastOutcome, SignedOrder
from dydx_trader.domain.order import OrderIntent, OrderState
from dydx_trader.domain.side import Side
from dydx_trader.domain.venue import IndexerFill, IndexerHeight, IndexerOrder, IndexerOrderStatus
from kit.markets import make_market

NOW = datetime(2026, 1, 1, tzinfo=UTC)
BTC = make_market(
    "BTC-USD",
    oracle_price=Decimal(65_000),
    imf=Decimal("0.05"),
    atomic_resolution=-10,
    clob_pair_id=0,
)


class FakeSender:
    """Signs by naming the client id; answers every broadcast with ``outcome`` (or
    raises ``failure`` once set), noting whether the order was journaled first."""

    def __init__(self, outcome: BroadcastOutcome, journal: OrderJournal | None = None) -> None:
        self.outcome = outcome
        self.journal = journal
        self.sent: list[SignedOrder] = []
        self.journaled_before_send: list[bool] = []
        self.failure: Exception | None = None

    def sign(self, intent: OrderIntent) -> SignedOrder:
        return SignedOrder(f"tx-{intent.client_id}".encode(), f"HASH{intent.client_id}")

    async def broadcast(self, signed: SignedOrder) -> BroadcastOutcome:
        self.sent.append(signed)
        if self.journal is not None:
            client_id = int(signed.tx_hash.removeprefix("HASH"))
            state = self.journal.order(client_id).state
            self.journaled_before_send.append(state is OrderState.PENDING_SUBMIT)
        if self.failure is not None:
            raise self.failure
        return self.outcome


class FakeVenue:
    def __init__(self, height: int) -> None:
        self.height = height
        self.orders: list[IndexerOrder] = []
        self.fills: list[IndexerFill] = []

    async def get_height(self) -> IndexerHeight:
        return IndexerHeight(self.height, NOW)

    async def get_orders(self, address: str, n: int, **_: object) -> tuple[IndexerOrder, ...]:
        return tuple(self.orders)

    async def get_fills(self, address: str, n: int, **_: object) -> tuple[IndexerFill, ...]:
        return tuple(self.fills)

    def show(self, intent: OrderIntent, status: str, filled: Decimal) -> None:
        """The indexer lists ``intent``'s order in ``status`` with ``filled`` base units."""
        self.orders = [
            IndexerOrder(
                order_id="uuid-1",
                client_id=intent.client_id,
                ticker=intent.market,
                clob_pair_id=intent.clob_pair_id,
                side=intent.side,
                size=BTC.quantums_to_size(intent.quantums),
                total_filled=filled,
                price=BTC.subticks_to_price(intent.subticks),
                order_type="LIMIT",
                status=IndexerOrderStatus(status),
                time_in_force="IOC",
                reduce_only=False,
                post_only=False,
                order_flags=0,
            )
        ]

    def fill(self, fill_id: str, size: Decimal) -> None:
        self.fills.append(
            IndexerFill(
                fill_id=fill_id,
                ticker="BTC-USD",
                side=Side.BUY,
                liquidity="TAKER",
                fill_type="LIMIT",
                price=Decimal(65_010),
                size=size,
                fee=Decimal("0.5"),
                created_at=NOW,
                created_at_height=self.height,
                order_id="uuid-1",
            )
        )
