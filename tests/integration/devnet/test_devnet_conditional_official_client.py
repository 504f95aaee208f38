"""The unmodified official client places, sees and cancels conditional orders on the devnet;
the oracle moving through a stop's trigger fills it in the block after."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
from dydx_v4_client import OrderFlags
from dydx_v4_client.indexer.rest.constants import OrderExecution, OrderType
from dydx_v4_client.node.market import Market
from official_client_helpers import BUY, IOC, SELL, ioc, market, new_order_id, subticks
from v4_proto.dydxprotocol.clob.order_pb2 import Order

STOP_LOSS = Order.ConditionType.CONDITION_TYPE_STOP_LOSS


async def _long(trader: Any, m: dict[str, Any], size: Decimal) -> None:
    _, response = await ioc(trader, m, BUY, size)
    assert response.tx_response.code == 0, response.tx_response.raw_log
    await trader.devnet.wait_blocks(2)


def _stop_loss(trader: Any, m: dict[str, Any], size: Decimal, trigger: Decimal) -> Order:
    """A reduce-only stop-market sell built with the client's own conditional builder.

    The condition type is passed explicitly: the client's ``calculate_condition_type``
    answers UNSPECIFIED for STOP_MARKET (trap T10), which the chain refuses (6000).
    """
    worst = trigger * Decimal("0.98")
    return Market(m).order(
        order_id=new_order_id(trader.address, m, OrderFlags.CONDITIONAL),
        order_type=OrderType.STOP_MARKET,
        side=SELL,
        size=float(size),
        price=float(worst),
        time_in_force=IOC,
        reduce_only=True,
        good_til_block_time=int(trader.devnet.engine.block_time.timestamp()) + 3600,
        execution=OrderExecution.IOC,
        condition_type=STOP_LOSS,
        conditional_order_trigger_subticks=subticks(trigger, m, up=True),
    )


async def _conditional_rows(trader: Any) -> list[dict[str, Any]]:
    rows = await trader.indexer.account.get_subaccount_orders(trader.address, 0)
    return [row for row in rows if row["orderFlags"] == "32"]


async def test_stop_loss_when_placed_by_the_official_client_then_untriggered_then_canceled(
    demo_trader: Any,
) -> None:
    m = await market(demo_trader)
    size = Decimal(m["stepSize"]) * 10
    await _long(demo_trader, m, size)
    trigger = Decimal(m["oraclePrice"]) * Decimal("0.8")
    stop = _stop_loss(demo_trader, m, size, trigger)

    placed = await demo_trader.node.place_order(demo_trader.wallet, stop)
    await demo_trader.devnet.wait_blocks(2)
    (row,) = await _conditional_rows(demo_trader)
    by_id = await demo_trader.indexer.account.get_order(row["id"])
    canceled = await demo_trader.node.cancel_order(
        demo_trader.wallet, stop.order_id, good_til_block_time=stop.good_til_block_time
    )
    await demo_trader.devnet.wait_blocks(2)
    (after,) = await _conditional_rows(demo_trader)

    assert placed.tx_response.code == 0, placed.tx_response.raw_log
    assert row["status"] == "UNTRIGGERED"
    assert (row["type"], row["reduceOnly"], row["timeInForce"]) == ("STOP_LIMIT", True, "IOC")
    assert Decimal(row["triggerPrice"]) == Decimal(stop.conditional_order_trigger_subticks).scaleb(
        m["quantumConversionExponent"] - 6 - m["atomicResolution"]
    )
    assert row["clientId"] == str(stop.order_id.client_id)
    assert by_id["status"] == "UNTRIGGERED" and "goodTilBlockTime" in by_id
    assert canceled.tx_response.code == 0, canceled.tx_response.raw_log
    assert after["status"] == "CANCELED"


async def test_stop_loss_when_oracle_moves_through_the_trigger_then_fills_in_the_next_block(
    demo_trader: Any,
) -> None:
    devnet = demo_trader.devnet
    m = await market(demo_trader)
    size = Decimal(m["stepSize"]) * 10
    oracle = Decimal(m["oraclePrice"])
    devnet.engine.set_oracle_price("BTC-USD", oracle)  # hold it still
    await _long(demo_trader, m, size)
    trigger = oracle * Decimal("0.95")
    stop = _stop_loss(demo_trader, m, size, trigger)
    placed = await demo_trader.node.place_order(demo_trader.wallet, stop)
    await devnet.wait_blocks(2)
    (untriggered,) = await _conditional_rows(demo_trader)

    devnet.engine.set_oracle_price("BTC-USD", trigger * Decimal("0.999"))
    # Blocks run every 50 ms: find the block the stop triggered in, then its fill.
    triggered_at = await _wait_for(demo_trader, lambda row: row["status"] != "UNTRIGGERED")
    filled = await _wait_for(demo_trader, lambda row: row["status"] == "FILLED")
    fills = await demo_trader.indexer.account.get_subaccount_fills(demo_trader.address, 0)
    stop_fills = [f for f in fills["fills"] if f.get("orderId") == untriggered["id"]]
    positions = await demo_trader.indexer.account.get_subaccount(demo_trader.address, 0)

    assert placed.tx_response.code == 0
    assert untriggered["status"] == "UNTRIGGERED"
    assert triggered_at["status"] in ("OPEN", "FILLED")
    assert filled["totalFilled"] == str(size.normalize())
    assert len(stop_fills) == 1 and stop_fills[0]["side"] == "SELL"
    fill_height = int(stop_fills[0]["createdAtHeight"])
    assert fill_height > int(triggered_at["updatedAtHeight"]) or triggered_at["status"] == "FILLED"
    assert "BTC-USD" not in positions["subaccount"]["openPerpetualPositions"]


async def _wait_for(trader: Any, done: Any, blocks: int = 40) -> dict[str, Any]:
    for _ in range(blocks):
        try:
            (row,) = await _conditional_rows(trader)
        except (ValueError, httpx.HTTPError):
            row = None
        if row is not None and done(row):
            return row
        await trader.devnet.wait_blocks(1)
    raise AssertionError("the conditional order never reached the expected state")


async def test_stateful_broadcast_when_sequence_fault_armed_then_code_32_and_sequence_moves_on(
    demo_trader: Any,
) -> None:
    devnet = demo_trader.devnet
    m = await market(demo_trader)
    size = Decimal(m["stepSize"]) * 10
    await _long(demo_trader, m, size)
    async with httpx.AsyncClient(base_url=devnet.indexer_url) as http:
        armed = await http.post("/devnet/faults", json={"sequence_mismatch_next_broadcasts": 1})
    stop = _stop_loss(demo_trader, m, size, Decimal(m["oraclePrice"]) * Decimal("0.8"))
    sequence = (await demo_trader.node.get_account(demo_trader.address)).sequence

    refused = await demo_trader.node.place_order(demo_trader.wallet, stop)
    await devnet.wait_blocks(2)
    # The client re-reads the committed sequence before each send: it has moved on.
    retried = await demo_trader.node.place_order(demo_trader.wallet, stop)

    assert armed.json()["sequence_mismatch_next_broadcasts"] == 1
    assert (refused.tx_response.codespace, refused.tx_response.code) == ("sdk", 32)
    assert refused.tx_response.raw_log.startswith(
        f"account sequence mismatch, expected {sequence + 1}, got {sequence}"
    )
    assert retried.tx_response.code == 0, retried.tx_response.raw_log
