"""Settlement against the devnet over loopback, through the real adapters and the
official client: a lost broadcast answer then indexer 503s still settles the fill;
an unfilled IOC is final only past its good-til-block; an order placed by another
client on our subaccount is found by the foreign-activity monitor."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal

from conftest import SignalFactory
from dydx_v4_client import OrderFlags
from dydx_v4_client.node.client import NodeClient
from dydx_v4_client.node.message import order as build_order
from dydx_v4_client.node.message import order_id as build_order_id
from dydx_v4_client.wallet import Wallet
from v4_proto.dydxprotocol.clob.order_pb2 import Order as ChainOrder

from dydx_devnet.demo import DEMO_MNEMONIC
from dydx_devnet.server import Devnet
from dydx_trader.adapters.dydx.stream import IndexerFeed
from dydx_trader.app.executor import Settlement
from dydx_trader.app.foreign_activity import ForeignActivityMonitor
from dydx_trader.app.settlement import Settler
from dydx_trader.bootstrap import Trader
from dydx_trader.domain.order import OrderIntent, OrderState
from dydx_trader.domain.side import Side
from dydx_trader.domain.signal import SizingHint, SizingKind

SMALL = SizingHint(SizingKind.NOTIONAL_USDC, Decimal(200))


class Outcomes:
    """What a Settler reported."""

    def __init__(self) -> None:
        self.settled: list[Settlement] = []
        self.unsettled: list[str] = []
        self.faults: list[Exception] = []

    def settler(self, trader: Trader) -> Settler:
        return Settler(
            trader.executor,
            trader.journal,
            confirm_timeout_s=60,
            clock=time.monotonic,
            on_settled=self.settled.append,
            on_unsettled=lambda intent, reason: self.unsettled.append(reason),
            on_fault=lambda intent, error: self.faults.append(error),
            poll_interval_s=0.05,
            max_backoff_s=0.5,
        )


class ForeignRecords:
    def __init__(self) -> None:
        self.records: dict[str, tuple[str, str, Mapping[str, str], int | None]] = {}

    def record_foreign_activity(
        self, kind: str, venue_id: str, market: str, details: Mapping[str, str], height: int | None
    ) -> bool:
        new = venue_id not in self.records
        self.records.setdefault(venue_id, (kind, market, dict(details), height))
        return new


async def buy_intent(trader: Trader, make_signal: SignalFactory, signal_id: str) -> OrderIntent:
    preview = await trader.preview(make_signal("BUY", sizing=SMALL, id=signal_id))
    assert preview.intent is not None, preview.decision
    return preview.intent


async def test_settle_when_answer_lost_and_indexer_fails_then_filled_with_fills(
    devnet: Devnet, trader: Trader, make_signal: SignalFactory
) -> None:
    order_intent = await buy_intent(trader, make_signal, "lost-then-503")
    devnet.faults.drop_next_broadcast_responses(1)
    order = await trader.executor.submit(order_intent)
    devnet.faults.fail_next_indexer_requests(8)
    outcomes = Outcomes()
    settler = outcomes.settler(trader)

    settler.follow(order_intent)
    await asyncio.wait_for(settler.settle_all(), timeout=60)

    assert order.state is OrderState.IN_FLIGHT_UNKNOWN
    (settlement,) = outcomes.settled
    assert settlement.order.state is OrderState.FILLED
    assert settlement.fills and settlement.order.filled_quantums == order_intent.quantums
    assert devnet.faults.state()["fail_next_indexer_requests"] == []  # all 8 503s were met
    assert outcomes.faults == [] and outcomes.unsettled == []
    assert trader.journal.in_flight_orders() == []


async def test_settle_when_ioc_finds_no_liquidity_then_final_only_past_good_til_block(
    trader: Trader, make_signal: SignalFactory
) -> None:
    order_intent = await buy_intent(trader, make_signal, "unfillable-ioc")
    spec = trader.market_data.market("ETH-USD")
    far_below = spec.price_to_subticks(spec.require_oracle_price() / 2, Side.BUY)
    unfillable = replace(order_intent, subticks=far_below)
    outcomes = Outcomes()
    settler = outcomes.settler(trader)

    order = await trader.executor.submit(unfillable)
    settler.follow(unfillable)
    await asyncio.wait_for(settler.settle_all(), timeout=60)

    assert order.state is OrderState.SUBMITTED
    (settlement,) = outcomes.settled
    assert settlement.order.state in {OrderState.BEST_EFFORT_CANCELED, OrderState.EXPIRED}
    assert settlement.order.filled_quantums == 0 and settlement.fills == ()
    assert unfillable.good_til_block is not None
    assert settlement.height > unfillable.good_til_block


async def test_foreign_order_when_placed_by_another_client_then_found_by_scan_and_stream(
    devnet: Devnet, trader: Trader
) -> None:
    records = ForeignRecords()
    monitor = ForeignActivityMonitor(
        trader.indexer, trader.journal, records, address=trader.address, subaccount_number=0
    )
    subscribed = asyncio.Event()

    async def follow_stream() -> None:
        async for update in IndexerFeed(devnet.websocket_url).account_events(trader.address, 0):
            subscribed.set()  # the first update is the subscription's snapshot
            await monitor.check_update(update)

    following = asyncio.create_task(follow_stream())
    await asyncio.wait_for(subscribed.wait(), timeout=30)
    network = devnet.network()
    node = await NodeClient.connect(network.node)
    wallet = await Wallet.from_mnemonic(node, DEMO_MNEMONIC, trader.address)
    spec = trader.market_data.market("ETH-USD")
    height = await node.latest_block_height()
    resting = build_order(
        build_order_id(trader.address, 0, 4242, spec.clob_pair_id, OrderFlags.SHORT_TERM),
        ChainOrder.Side.SIDE_BUY,
        quantums=spec.step_base_quantums,
        subticks=spec.price_to_subticks(spec.require_oracle_price() * Decimal("0.9"), Side.BUY),
        time_in_force=ChainOrder.TimeInForce.TIME_IN_FORCE_UNSPECIFIED,
        reduce_only=False,
        good_til_block=height + 15,
    )
    answer = await node.place_order(wallet, resting)
    assert answer.tx_response.code == 0

    async with asyncio.timeout(30):
        while not any(kind == "order" for kind, *_ in records.records.values()):
            await asyncio.sleep(0.05)
    following.cancel()
    await asyncio.gather(following, return_exceptions=True)
    scanned = await ForeignActivityMonitor(
        trader.indexer,
        trader.journal,
        ForeignRecords(),
        address=trader.address,
        subaccount_number=0,
    ).scan()

    ((kind, market, details, _),) = records.records.values()
    assert (kind, market, details["client_id"]) == ("order", "ETH-USD", "4242")
    assert [a.details["client_id"] for a in scanned if a.kind == "order"] == ["4242"]
