"""Settlement against the devnet over loopback, through the trader built by the
composition root: a lost broadcast answer then indexer 503s still settles the
fill; an unfilled IOC is final only past its good-til-block; an order placed by
another client on our subaccount is found at start and on the account stream,
and recorded in the journal."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

from dydx_v4_client import OrderFlags
from dydx_v4_client.node.client import NodeClient
from dydx_v4_client.node.message import order as build_order
from dydx_v4_client.node.message import order_id as build_order_id
from dydx_v4_client.wallet import Wallet
from e2e_harness import SignalFactory, journal_at, settings_for, start_trader
from v4_proto.dydxprotocol.clob.order_pb2 import Order as ChainOrder

from dydx_devnet.demo import DEMO_MNEMONIC
from dydx_devnet.server import Devnet
from dydx_trader.adapters.dydx.indexer import IndexerGateway
from dydx_trader.bootstrap import Trader
from dydx_trader.config import Settings
from dydx_trader.domain.order import OrderState
from dydx_trader.domain.side import Side
from dydx_trader.domain.signal import HintKind, SizingHint

SMALL = SizingHint(HintKind.NOTIONAL_USDC, Decimal(200))


async def test_settle_when_answer_lost_and_indexer_fails_then_filled_with_fills(
    devnet: Devnet, trader: Trader, settings: Settings, make_signal: SignalFactory
) -> None:
    devnet.faults.drop_next_broadcast_responses(1)
    result = await trader.submit(make_signal("BUY", sizing=SMALL, id="lost-then-503"))
    devnet.faults.fail_next_indexer_requests(8)

    await asyncio.wait_for(trader.wait_settled(), timeout=60)

    assert result.order is not None and result.order.state is OrderState.IN_FLIGHT_UNKNOWN
    assert devnet.faults.state()["fail_next_indexer_requests"] == []  # all 8 503s were met
    with journal_at(settings) as journal:
        order = journal.order(result.order.client_id)
        assert order.state is OrderState.FILLED
        assert order.filled_quantums == result.order.intent.quantums
        assert journal.fills(order.client_id) and journal.in_flight_orders() == []
    assert trader.status().reserved == () and trader.status().trading_state.value == "ACTIVE"


async def test_settle_when_ioc_finds_no_liquidity_then_final_only_past_good_til_block(
    devnet: Devnet, tmp_path: Path, make_signal: SignalFactory
) -> None:
    # A worst price a tenth of a basis point through the oracle never reaches the book.
    settings = settings_for(tmp_path / "journal.sqlite3", execution={"slippage_bps": "0.1"})
    trader = await start_trader(devnet, settings)
    try:
        result = await trader.submit(make_signal("BUY", sizing=SMALL, id="unfillable-ioc"))
        await asyncio.wait_for(trader.wait_settled(), timeout=60)
        height = (await IndexerGateway(devnet.indexer_url).get_height()).height
    finally:
        await trader.stop()

    assert result.order is not None and result.order.state is OrderState.SUBMITTED
    intent = result.order.intent
    with journal_at(settings) as journal:
        order = journal.order(intent.client_id)
        assert order.state in {OrderState.BEST_EFFORT_CANCELED, OrderState.EXPIRED}
        assert order.filled_quantums == 0 and journal.fills(intent.client_id) == []
    assert intent.good_til_block is not None and height > intent.good_til_block


async def _place_foreign_order(devnet: Devnet, address: str, client_id: int) -> None:
    """Another client (a manual trade, another bot) rests a BUY on our subaccount."""
    node = await NodeClient.connect(devnet.network().node)
    wallet = await Wallet.from_mnemonic(node, DEMO_MNEMONIC, address)
    indexer = IndexerGateway(devnet.indexer_url)
    try:
        spec = (await indexer.get_markets())["ETH-USD"]
    finally:
        await indexer.close()
    height = await node.latest_block_height()
    resting = build_order(
        build_order_id(address, 0, client_id, spec.clob_pair_id, OrderFlags.SHORT_TERM),
        ChainOrder.Side.SIDE_BUY,
        quantums=spec.step_base_quantums,
        subticks=spec.price_to_subticks(spec.require_oracle_price() * Decimal("0.9"), Side.BUY),
        time_in_force=ChainOrder.TimeInForce.TIME_IN_FORCE_UNSPECIFIED,
        reduce_only=False,
        good_til_block=height + 15,
    )
    answer = await node.place_order(wallet, resting)
    assert answer.tx_response.code == 0


async def test_foreign_order_when_placed_while_running_then_seen_on_the_stream_and_journaled(
    devnet: Devnet, tmp_path: Path
) -> None:
    settings = settings_for(tmp_path / "journal.sqlite3")
    trader = await start_trader(devnet, settings, follow_streams=True)
    try:
        await asyncio.sleep(0.5)  # the account stream subscribes
        await _place_foreign_order(devnet, trader.status().owner.address, 4242)
        with journal_at(settings) as journal:
            async with asyncio.timeout(30):
                while not journal.foreign_activity():
                    await asyncio.sleep(0.05)
            (record,) = journal.foreign_activity()
    finally:
        await trader.stop()

    assert (record.kind, record.market, record.details["client_id"]) == ("order", "ETH-USD", "4242")


async def test_foreign_order_when_placed_before_start_then_found_by_the_start_up_scan(
    devnet: Devnet, tmp_path: Path
) -> None:
    address = devnet.fund_demo(Decimal(10_000))
    await _place_foreign_order(devnet, address, 4343)
    settings = settings_for(tmp_path / "journal.sqlite3")

    trader = await start_trader(devnet, settings, fund=False)
    await trader.stop()

    with journal_at(settings) as journal:
        orders = [r for r in journal.foreign_activity() if r.kind == "order"]
    assert [r.details["client_id"] for r in orders] == ["4343"]
