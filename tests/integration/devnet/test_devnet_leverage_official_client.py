"""User-set leverage through the unmodified official client 1.1.5 on v4-proto 9.6.1."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from importlib.metadata import version
from typing import Any

from official_client_helpers import BUY, ioc, market, stateful_order
from v4_proto.dydxprotocol.clob import query_pb2 as clob_query
from v4_proto.dydxprotocol.clob import query_pb2_grpc as clob_grpc
from v4_proto.dydxprotocol.clob.tx_pb2 import LeverageEntry, MsgUpdateLeverage
from v4_proto.dydxprotocol.subaccounts.subaccount_pb2 import SubaccountId


def test_installed_protobufs_when_imported_then_client_1_1_5_runs_on_v4_proto_9_6_1() -> None:
    assert version("dydx-v4-client") == "1.1.5"
    assert version("v4-proto") == "9.6.1"


async def _set_leverage(trader: Any, clob_pair_id: int, imf_ppm: int) -> Any:
    message = MsgUpdateLeverage(
        subaccount_id=SubaccountId(owner=trader.address, number=0),
        clob_pair_leverage=[LeverageEntry(clob_pair_id=clob_pair_id, custom_imf_ppm=imf_ppm)],
    )
    response = await trader.node.broadcast_message(trader.wallet, message)
    height = trader.devnet.engine.height
    while trader.devnet.engine.height <= height:  # sequenced: wait for its block
        await asyncio.sleep(0.02)
    return response


async def test_update_leverage_when_broadcast_then_query_answers_the_setting(
    demo_trader: Any,
) -> None:
    response = await _set_leverage(demo_trader, 0, 500_000)

    assert response.tx_response.code == 0
    stub = clob_grpc.QueryStub(demo_trader.node.channel)
    answer = stub.Leverage(clob_query.QueryLeverageRequest(owner=demo_trader.address, number=0))
    assert [(e.clob_pair_id, e.custom_imf_ppm) for e in answer.clob_pair_leverage] == [(0, 500_000)]


async def test_update_leverage_when_beyond_market_maximum_then_subaccounts_code_701(
    demo_trader: Any,
) -> None:
    response = await _set_leverage(demo_trader, 0, 10_000)  # 100x on a 50x market

    assert (response.tx_response.code, response.tx_response.codespace) == (701, "subaccounts")


async def test_stateful_order_when_above_user_leverage_then_chain_code_3007(
    demo_trader: Any,
) -> None:
    assert (await _set_leverage(demo_trader, 0, 1_000_000)).tx_response.code == 0  # 1x
    m = await market(demo_trader)
    oracle = Decimal(m["oraclePrice"])
    size = (Decimal(15_000) / oracle).quantize(Decimal("0.0001"))  # 1.5x of 10 000 USDC

    response = await demo_trader.node.place_order(
        demo_trader.wallet,
        stateful_order(demo_trader, m, BUY, size, oracle * Decimal("0.99")),
    )

    assert response.tx_response.code == 3007
    assert response.tx_response.codespace == "clob"
    assert "Stateful order collateralization check failed" in response.tx_response.raw_log


async def test_ioc_when_above_user_leverage_then_code_0_and_match_cancels_undercollateralized(
    demo_trader: Any,
) -> None:
    assert (await _set_leverage(demo_trader, 0, 1_000_000)).tx_response.code == 0  # 1x
    m = await market(demo_trader)
    size = (Decimal(15_000) / Decimal(m["oraclePrice"])).quantize(Decimal("0.0001"))

    order, response = await ioc(demo_trader, m, BUY, size)

    assert response.tx_response.code == 0
    engine = demo_trader.devnet.engine
    state = engine.state.orders[
        (demo_trader.address, 0, order.order_id.client_id, 0, order.order_id.clob_pair_id)
    ]
    assert state.removal_reason == "ORDER_REMOVAL_REASON_UNDERCOLLATERALIZED"
    assert 0 < state.filled < order.quantums
