"""Stateful orders through the Sequencer against the devnet's node: a code-32 sequence
mismatch injected over ``POST /devnet/faults`` is recovered by signing the same order
(the same client id) again at the chain's sequence."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from dydx_devnet.demo import DEMO_ADDRESS, DEMO_MNEMONIC
from dydx_devnet.server import Devnet, DevnetConfig
from dydx_trader.adapters.dydx.indexer import IndexerGateway
from dydx_trader.adapters.dydx.network import network_profile
from dydx_trader.adapters.dydx.node import NodeGateway
from dydx_trader.adapters.dydx.order_gateway import OrderGateway
from dydx_trader.adapters.journal import Journal
from dydx_trader.app.reconciler import OrderReconciler
from dydx_trader.app.sequencer import Sequencer
from dydx_trader.app.stateful_orders import StatefulOrders
from dydx_trader.bootstrap import signing_sender
from dydx_trader.domain.broadcast import Accepted
from dydx_trader.domain.market import MarketSpec
from dydx_trader.domain.order import (
    ConditionType,
    OrderFlags,
    OrderIntent,
    OrderState,
    TimeInForce,
    derive_client_id,
)
from dydx_trader.domain.side import Side
from dydx_trader.secrets import Secret

MARKET = "BTC-USD"


@pytest.fixture
async def devnet() -> AsyncIterator[Devnet]:
    config = DevnetConfig(indexer_port=0, grpc_port=0, block_time=0.05, seed=1,
                          markets=(MARKET,))  # fmt: skip
    async with Devnet(config) as running:
        running.fund_demo(Decimal(10_000))
        yield running


async def _long(sender: OrderGateway, node: NodeGateway, spec: MarketSpec) -> None:
    """A small long, so the reduce-only stop has a position to protect."""
    worst = spec.require_oracle_price() * Decimal("1.02")
    intent = OrderIntent(
        signal_id="entry",
        address=DEMO_ADDRESS,
        subaccount_number=0,
        market=MARKET,
        clob_pair_id=spec.clob_pair_id,
        side=Side.BUY,
        quantums=spec.step_base_quantums * 10,
        subticks=spec.price_to_subticks(worst, Side.BUY),
        time_in_force=TimeInForce.IOC,
        reduce_only=False,
        order_flags=OrderFlags.SHORT_TERM,
        client_id=derive_client_id(DEMO_ADDRESS, 0, "entry"),
        good_til_block=await node.latest_block_height() + 10,
    )
    assert isinstance(await sender.broadcast(sender.sign(intent)), Accepted)


def _stop_loss(spec: MarketSpec, good_til_block_time: int) -> OrderIntent:
    trigger = spec.require_oracle_price() * Decimal("0.8")
    return OrderIntent(
        signal_id="stop",
        address=DEMO_ADDRESS,
        subaccount_number=0,
        market=MARKET,
        clob_pair_id=spec.clob_pair_id,
        side=Side.SELL,
        quantums=spec.step_base_quantums * 10,
        subticks=spec.price_to_subticks(trigger * Decimal("0.98"), Side.SELL),
        time_in_force=TimeInForce.IOC,
        reduce_only=True,
        order_flags=OrderFlags.CONDITIONAL,
        client_id=derive_client_id(DEMO_ADDRESS, 0, "stop"),
        good_til_block_time=good_til_block_time,
        condition_type=ConditionType.STOP_LOSS,
        trigger_subticks=spec.price_to_subticks(trigger, Side.BUY),
    )


async def test_stop_loss_when_sequence_mismatch_injected_then_same_client_id_placed_once(
    devnet: Devnet, tmp_path: Path
) -> None:
    node = await NodeGateway.connect(network_profile("devnet", grpc_address=devnet.grpc_address))
    indexer = IndexerGateway(devnet.indexer_url)
    journal = Journal.open(tmp_path / "journal.sqlite3")
    try:
        sender = await signing_sender(node, Secret(DEMO_MNEMONIC), DEMO_ADDRESS, timeout_s=5)
        spec = (await indexer.get_markets())[MARKET]
        await _long(sender, node, spec)
        await devnet.wait_blocks(2)
        orders = StatefulOrders(
            Sequencer(sender), journal, journal, OrderReconciler(indexer, journal, lambda _: spec)
        )
        before = await sender.committed_sequence()
        async with httpx.AsyncClient(base_url=devnet.indexer_url) as http:
            armed = await http.post("/devnet/faults", json={"sequence_mismatch_next_broadcasts": 2})
        intent = _stop_loss(spec, int(devnet.engine.block_time.timestamp()) + 3600)

        placed = await orders.place(intent)
        await devnet.wait_blocks(3)
        on_venue = [
            o for o in await indexer.get_orders(DEMO_ADDRESS, 0) if o.client_id == intent.client_id
        ]
        history = journal.order_history(intent.client_id)
        settled = await orders.settle_once(intent)
        journaled = journal.order(intent.client_id)
    finally:
        journal.close()
        await indexer.close()
        await node.close()

    assert armed.status_code == 200
    assert placed.client_id == intent.client_id and placed.state is OrderState.SUBMITTED
    assert len(on_venue) == 1 and on_venue[0].status.value == "UNTRIGGERED"
    # Two other transactions took the next sequences: the third signing landed.
    accepted = [step.numbers for step in history if step.reason == "accepted by CheckTx"]
    assert len(accepted) == 1 and int(accepted[0]["sequence"]) == before + 2
    assert settled is None and journaled.state is OrderState.UNTRIGGERED
