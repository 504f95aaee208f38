"""Chain queries from the devnet's state, in the chain's shapes, through the official client."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import grpc
import pytest
from dydx_v4_client.node.message import subaccount
from official_client_helpers import BUY, ioc, market
from v4_proto.cosmos.base.query.v1beta1.pagination_pb2 import PageRequest
from v4_proto.dydxprotocol.subaccounts import query_pb2 as sa_query
from v4_proto.dydxprotocol.subaccounts import query_pb2_grpc as sa_grpc

from dydx_devnet.bank import USDC_DENOM
from dydx_devnet.demo import DEMO_ADDRESS_2


async def _indexed_with_position(demo_trader: Any, ticker: str) -> dict[str, Any]:
    """The indexer's subaccount once it shows ``ticker``'s position: the chain applies a
    CheckTx fill at once, the indexer with the next block."""
    deadline = asyncio.get_running_loop().time() + 30.0
    while True:
        reply = await demo_trader.indexer.account.get_subaccount(demo_trader.address, 0)
        found: dict[str, Any] = reply["subaccount"]
        if ticker in found.get("openPerpetualPositions", {}):
            return found
        assert asyncio.get_running_loop().time() < deadline, "the indexer never showed the fill"
        await asyncio.sleep(0.2)


def _int(serializable: bytes) -> int:
    """A dydx SerializableInt (big.Int GobEncode) back to an int."""
    if not serializable:
        return 0
    magnitude = int.from_bytes(serializable[1:], "big")
    return -magnitude if serializable[0] & 1 else magnitude


async def test_subaccount_when_queried_then_usdc_and_positions_in_chain_units(
    demo_trader: Any,
) -> None:
    m = await market(demo_trader, "BTC-USD")
    _, response = await ioc(demo_trader, m, BUY, Decimal(m["stepSize"]) * 3)
    assert response.tx_response.code == 0

    sub = await demo_trader.node.get_subaccount(demo_trader.address, 0)

    assert (sub.id.owner, sub.id.number, sub.margin_enabled) == (demo_trader.address, 0, True)
    (usdc,) = sub.asset_positions
    indexer = await _indexed_with_position(demo_trader, "BTC-USD")
    usdc_size = Decimal(indexer["assetPositions"]["USDC"]["size"])
    assert (usdc.asset_id, _int(usdc.quantums)) == (0, int(usdc_size * 1_000_000))
    (btc,) = sub.perpetual_positions
    assert btc.perpetual_id == int(m["clobPairId"])
    assert _int(btc.quantums) == 3 * m["stepBaseQuantums"]


async def test_subaccount_when_never_funded_then_the_empty_default(demo_trader: Any) -> None:
    sub = await demo_trader.node.get_subaccount(DEMO_ADDRESS_2, 7)

    assert (sub.id.owner, sub.id.number) == (DEMO_ADDRESS_2, 7)
    assert list(sub.asset_positions) == [] and list(sub.perpetual_positions) == []


async def test_subaccount_all_when_paged_then_next_key_continues_where_it_stopped(
    demo_trader: Any,
) -> None:
    for number in (1, 2, 3):
        demo_trader.devnet.fund(demo_trader.address, 10, subaccount_number=number)
    stub = sa_grpc.QueryStub(demo_trader.node.channel)

    first = stub.SubaccountAll(
        sa_query.QueryAllSubaccountRequest(pagination=PageRequest(limit=3, count_total=True))
    )
    rest = stub.SubaccountAll(
        sa_query.QueryAllSubaccountRequest(pagination=PageRequest(key=first.pagination.next_key))
    )

    assert first.pagination.total == 4
    numbers = [s.id.number for s in first.subaccount] + [s.id.number for s in rest.subaccount]
    assert numbers == [0, 1, 2, 3]
    assert rest.pagination.next_key == b""


async def test_gating_when_no_negative_tnc_seen_then_never_blocked(demo_trader: Any) -> None:
    status = await demo_trader.node.get_withdrawal_and_transfer_gating_status(0)

    assert status.negative_tnc_subaccount_seen_at_block == 0
    assert status.withdrawals_and_transfers_unblocked_at_block == 0


async def test_gating_when_negative_tnc_seen_then_blocked_until_fifty_blocks_later(
    demo_trader: Any,
) -> None:
    engine = demo_trader.devnet.engine
    with engine.lock:
        seen = engine.height
        engine.state.negative_tnc_seen[0] = seen

    status = await demo_trader.node.get_withdrawal_and_transfer_gating_status(0)

    assert status.negative_tnc_subaccount_seen_at_block == seen
    assert status.withdrawals_and_transfers_unblocked_at_block == seen + 50
    with pytest.raises(grpc.RpcError) as caught:
        await demo_trader.node.withdraw(
            demo_trader.wallet, subaccount(demo_trader.address, 0), demo_trader.address, 0, 10**6
        )
    assert "WithdrawalsAndTransfersBlocked" in str(caught.value.details())


async def test_withdrawal_capacity_when_usdc_then_hourly_and_daily_baselines(
    demo_trader: Any,
) -> None:
    usdc = await demo_trader.node.get_withdrawal_capacity_by_denom(USDC_DENOM)
    other = await demo_trader.node.get_withdrawal_capacity_by_denom("usdc")

    hourly, daily = usdc.limiter_capacity_list
    assert (hourly.limiter.period.seconds, daily.limiter.period.seconds) == (3600, 86_400)
    assert (hourly.limiter.baseline_tvl_ppm, daily.limiter.baseline_tvl_ppm) == (10_000, 100_000)
    # Far below the TVL floors: each capacity is its baseline minimum.
    assert _int(hourly.capacity) == 1_000_000 * 10**6
    assert _int(daily.capacity) == 10_000_000 * 10**6
    assert list(other.limiter_capacity_list) == []


async def test_user_stats_when_traded_then_taker_notional_is_the_fills_quote(
    demo_trader: Any,
) -> None:
    m = await market(demo_trader, "ETH-USD")
    _, response = await ioc(demo_trader, m, BUY, Decimal(m["stepSize"]) * 20)
    assert response.tx_response.code == 0
    await demo_trader.devnet.wait_blocks(2)  # fills are indexed with their block
    fills = (await demo_trader.indexer.account.get_subaccount_fills(demo_trader.address, 0))[
        "fills"
    ]
    expected = sum(int(Decimal(f["price"]) * Decimal(f["size"]) * 1_000_000) for f in fills)

    stats = await demo_trader.node.get_user_stats(demo_trader.address)

    assert (stats.stats.taker_notional, stats.stats.maker_notional) == (expected, 0)
    assert expected > 0


async def test_create_market_permissionless_when_pair_listed_then_prices_error(
    demo_trader: Any,
) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        await demo_trader.node.create_market_permissionless(
            demo_trader.wallet, "ETH-USD", demo_trader.address, 0
        )

    assert "ETH-USD: Market params pair already exists" in str(caught.value.details())


async def test_bridge_when_queried_then_no_delayed_messages(demo_trader: Any) -> None:
    response = await demo_trader.node.get_delayed_complete_bridge_messages()

    assert list(response.messages) == []


async def test_compliance_screen_when_any_address_then_compliant(demo_trader: Any) -> None:
    body = await demo_trader.indexer.utility.compliance_screen(demo_trader.address)

    assert body == {"status": "COMPLIANT"}
