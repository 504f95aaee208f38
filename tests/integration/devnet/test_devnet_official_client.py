"""The unmodified official dYdX client trades against the devnet over loopback."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import grpc
import httpx
import pytest
from dydx_v4_client.faucet_client import FaucetClient
from dydx_v4_client.indexer.rest.indexer_client import IndexerClient
from dydx_v4_client.key_pair import KeyPair
from dydx_v4_client.node.client import NodeClient
from dydx_v4_client.node.message import order as build_order
from dydx_v4_client.wallet import Wallet
from official_client_helpers import (
    BUY,
    GTT,
    IOC,
    ioc,
    market,
    new_order_id,
    quantums,
    stateful_order,
    subticks,
)
from v4_proto.cosmos.tx.v1beta1 import service_pb2, service_pb2_grpc

from dydx_devnet.demo import DEMO_ADDRESS, DEMO_ADDRESS_2, DEMO_MNEMONIC, DEMO_MNEMONIC_2
from dydx_devnet.server import Devnet, DevnetConfig


async def test_faucet_client_when_filling_then_subaccount_equity_is_the_amount(
    devnet: Devnet,
) -> None:
    network = devnet.network()
    faucet = FaucetClient(devnet.faucet_url, api_timeout=5)

    response = await faucet.fill(DEMO_ADDRESS_2, 0, 2500)

    assert response.status_code == 202
    indexer = IndexerClient(network.rest_indexer, api_timeout=5)
    body = await indexer.account.get_subaccount(DEMO_ADDRESS_2, 0)
    sub = body["subaccount"]
    assert sub["equity"] == "2500"
    assert sub["freeCollateral"] == "2500"
    assert sub["assetPositions"]["USDC"] == {
        "size": "2500",
        "symbol": "USDC",
        "side": "LONG",
        "assetId": "0",
        "subaccountNumber": 0,
    }
    node = await NodeClient.connect(network.node)
    account = await node.get_account(DEMO_ADDRESS_2)
    assert account.address == DEMO_ADDRESS_2
    assert account.sequence == 0


async def test_subaccount_when_never_funded_then_404_with_indexer_error_body(
    devnet: Devnet,
) -> None:
    indexer = IndexerClient(devnet.indexer_url, api_timeout=5)

    with pytest.raises(httpx.HTTPStatusError) as caught:
        await indexer.account.get_subaccount(DEMO_ADDRESS_2, 3)

    assert caught.value.response.status_code == 404
    assert caught.value.response.json() == {
        "errors": [
            {"msg": f"No subaccount found with address {DEMO_ADDRESS_2} and subaccountNumber 3"}
        ]
    }


async def test_wallet_when_address_never_funded_then_account_query_not_found(
    devnet: Devnet,
) -> None:
    node = await NodeClient.connect(devnet.network().node)

    with pytest.raises(grpc.RpcError) as caught:
        await Wallet.from_mnemonic(node, DEMO_MNEMONIC_2, DEMO_ADDRESS_2)

    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


async def test_reads_when_devnet_running_then_markets_height_candles_and_node_agree(
    demo_trader: Any,
) -> None:
    m = await market(demo_trader)
    assert m["ticker"] == "BTC-USD" and m["status"] == "ACTIVE"
    assert Decimal(m["oraclePrice"]) > 0

    indexer_height = int((await demo_trader.indexer.utility.get_height())["height"])
    node_height = await demo_trader.node.latest_block_height()
    assert 1 <= indexer_height <= node_height

    candles = await demo_trader.indexer.markets.get_perpetual_market_candles(
        "BTC-USD", "1HOUR", limit=3
    )
    rows = candles["candles"]
    assert len(rows) == 3
    assert rows[0]["startedAt"] > rows[1]["startedAt"]  # newest first, as the indexer
    for row in rows:
        assert Decimal(row["low"]) <= Decimal(row["open"]) <= Decimal(row["high"])

    info = await demo_trader.node.get_node_info()
    assert info.default_node_info.network == demo_trader.network.node.chain_id
    pairs = await demo_trader.node.get_clob_pairs()
    listed = (await demo_trader.indexer.markets.get_perpetual_markets())["markets"]
    assert {pair.id for pair in pairs.clob_pair} == {int(x["clobPairId"]) for x in listed.values()}
    btc_pair = next(pair for pair in pairs.clob_pair if pair.id == int(m["clobPairId"]))
    assert btc_pair.step_base_quantums == m["stepBaseQuantums"]
    assert btc_pair.subticks_per_tick == m["subticksPerTick"]
    price = await demo_trader.node.get_price(int(m["clobPairId"]))
    node_price = Decimal(price.price).scaleb(price.exponent)
    # Blocks move the oracle every 50 ms; the two reads are a few blocks apart at most.
    assert abs(node_price / Decimal(m["oraclePrice"]) - 1) < Decimal("0.01")


async def test_ioc_buy_when_worst_price_above_book_then_fill_position_and_equity_change(
    demo_trader: Any,
) -> None:
    m = await market(demo_trader)
    size = Decimal(m["stepSize"]) * 10

    order, response = await ioc(demo_trader, m, BUY, size)
    await demo_trader.devnet.wait_blocks(1)  # CheckTx fills are indexed with the next block

    assert response.tx_response.code == 0, response.tx_response.raw_log
    fills = (await demo_trader.indexer.account.get_subaccount_fills(demo_trader.address, 0))[
        "fills"
    ]
    assert len(fills) >= 1
    fill = fills[0]
    assert fill["side"] == "BUY" and fill["liquidity"] == "TAKER" and fill["market"] == "BTC-USD"
    filled = sum(Decimal(f["size"]) for f in fills)
    assert filled == size
    worst = Decimal(order.subticks).scaleb(
        m["quantumConversionExponent"] - 6 - m["atomicResolution"]
    )
    assert all(Decimal(f["price"]) <= worst for f in fills)
    assert all(Decimal(f["fee"]) > 0 for f in fills)  # taker pays

    sub = (await demo_trader.indexer.account.get_subaccount(demo_trader.address, 0))["subaccount"]
    position = sub["openPerpetualPositions"]["BTC-USD"]
    assert position["side"] == "LONG" and Decimal(position["size"]) == size
    # Buying above the oracle and paying the fee costs equity; margin is now in use.
    assert Decimal(sub["equity"]) < Decimal(10_000)
    assert Decimal(sub["freeCollateral"]) < Decimal(sub["equity"])


async def test_resting_short_term_order_when_placed_then_best_effort_opened_and_404_once_cancelled(
    demo_trader: Any,
) -> None:
    m = await market(demo_trader)
    height = await demo_trader.node.latest_block_height()
    oid = new_order_id(demo_trader.address, m)
    far_below = Decimal(m["oraclePrice"]) * Decimal("0.9")
    order = build_order(
        oid,
        BUY,
        quantums=quantums(Decimal(m["stepSize"]), m),
        subticks=subticks(far_below, m, up=False),
        time_in_force=GTT,
        reduce_only=False,
        good_til_block=height + 15,
    )

    placed = await demo_trader.node.place_order(demo_trader.wallet, order)

    assert placed.tx_response.code == 0, placed.tx_response.raw_log
    resting = await demo_trader.indexer.account.get_subaccount_orders(
        demo_trader.address, 0, status="BEST_EFFORT_OPENED"
    )
    assert [o["clientId"] for o in resting] == [str(oid.client_id)]
    assert (resting[0]["timeInForce"], resting[0]["goodTilBlock"]) == ("GTT", str(height + 15))
    assert resting[0]["totalFilled"] == "0" and "createdAtHeight" not in resting[0]

    cancelled = await demo_trader.node.cancel_order(
        demo_trader.wallet, oid, good_til_block=height + 16
    )
    await demo_trader.devnet.wait_blocks(1)

    assert cancelled.tx_response.code == 0, cancelled.tx_response.raw_log
    # Never filled, so never stored: the real indexer has nothing left to show.
    with pytest.raises(httpx.HTTPStatusError) as caught:
        await demo_trader.indexer.account.get_order(resting[0]["id"])
    assert caught.value.response.status_code == 404
    assert await demo_trader.indexer.account.get_subaccount_orders(demo_trader.address, 0) == []


async def test_order_when_size_off_the_step_then_chain_code_12(demo_trader: Any) -> None:
    m = await market(demo_trader)
    height = await demo_trader.node.latest_block_height()
    order = build_order(
        new_order_id(demo_trader.address, m),
        BUY,
        quantums=m["stepBaseQuantums"] + 1,
        subticks=subticks(Decimal(m["oraclePrice"]), m, up=True),
        time_in_force=IOC,
        reduce_only=False,
        good_til_block=height + 10,
    )

    response = await demo_trader.node.place_order(demo_trader.wallet, order)

    assert response.tx_response.code == 12
    assert response.tx_response.codespace == "clob"
    assert "StepBaseQuantums" in response.tx_response.raw_log


async def test_stateful_order_when_undercollateralized_then_chain_code_3007(
    demo_trader: Any,
) -> None:
    m = await market(demo_trader)
    # 10,000 USDC cannot carry 100 BTC at 2 % initial margin (about 120,000 USDC).
    order = stateful_order(demo_trader, m, BUY, Decimal(100), Decimal(m["oraclePrice"]))

    response = await demo_trader.node.place_order(demo_trader.wallet, order)

    assert response.tx_response.code == 3007
    assert response.tx_response.codespace == "clob"


async def test_reduce_only_when_it_would_increase_the_position_then_chain_code_2001(
    demo_trader: Any,
) -> None:
    m = await market(demo_trader)
    _, opened = await ioc(demo_trader, m, BUY, Decimal(m["stepSize"]) * 2)
    assert opened.tx_response.code == 0

    _, response = await ioc(demo_trader, m, BUY, Decimal(m["stepSize"]), reduce_only=True)

    assert response.tx_response.code == 2001
    assert response.tx_response.codespace == "clob"


async def test_short_term_order_when_good_til_block_beyond_window_then_chain_code_11(
    demo_trader: Any,
) -> None:
    m = await market(demo_trader)
    height = await demo_trader.node.latest_block_height()
    order = build_order(
        new_order_id(demo_trader.address, m),
        BUY,
        quantums=m["stepBaseQuantums"],
        subticks=subticks(Decimal(m["oraclePrice"]), m, up=True),
        time_in_force=IOC,
        reduce_only=False,
        good_til_block=height + 500,
    )

    response = await demo_trader.node.place_order(demo_trader.wallet, order)

    assert response.tx_response.code == 11
    assert response.tx_response.codespace == "clob"


async def test_order_when_signed_for_wrong_account_number_then_sdk_unauthorized(
    demo_trader: Any,
) -> None:
    m = await market(demo_trader)
    bad_wallet = Wallet(KeyPair.from_mnemonic(DEMO_MNEMONIC), 4242, 0)
    height = await demo_trader.node.latest_block_height()
    order = build_order(
        new_order_id(demo_trader.address, m),
        BUY,
        quantums=m["stepBaseQuantums"],
        subticks=subticks(Decimal(m["oraclePrice"]), m, up=True),
        time_in_force=IOC,
        reduce_only=False,
        good_til_block=height + 10,
    )

    response = await demo_trader.node.place_order(bad_wallet, order)

    assert response.tx_response.code == 4
    assert response.tx_response.codespace == "sdk"
    assert response.tx_response.raw_log.startswith("signature verification failed")
    fills = await demo_trader.indexer.account.get_subaccount_fills(demo_trader.address, 0)
    assert fills["fills"] == []


async def test_order_when_signature_bytes_tampered_then_sdk_unauthorized(
    demo_trader: Any,
) -> None:
    m = await market(demo_trader)
    height = await demo_trader.node.latest_block_height()
    order = build_order(
        new_order_id(demo_trader.address, m),
        BUY,
        quantums=m["stepBaseQuantums"],
        subticks=subticks(Decimal(m["oraclePrice"]), m, up=True),
        time_in_force=IOC,
        reduce_only=False,
        good_til_block=height + 10,
    )
    from v4_proto.dydxprotocol.clob.tx_pb2 import MsgPlaceOrder

    tx = demo_trader.node.builder.build(demo_trader.wallet, MsgPlaceOrder(order=order))
    signature = bytearray(tx.signatures[0])
    signature[5] ^= 0x01
    tx.signatures[0] = bytes(signature)

    response = await demo_trader.node.broadcast(tx)

    assert (response.tx_response.code, response.tx_response.codespace) == (4, "sdk")


async def test_order_when_signed_by_another_key_then_sdk_invalid_pubkey(
    demo_trader: Any,
) -> None:
    m = await market(demo_trader)
    demo_trader.devnet.fund(DEMO_ADDRESS_2, 100)
    other = await Wallet.from_mnemonic(demo_trader.node, DEMO_MNEMONIC_2, DEMO_ADDRESS_2)
    height = await demo_trader.node.latest_block_height()
    # An order for the demo account's subaccount, signed by the second key.
    order = build_order(
        new_order_id(demo_trader.address, m),
        BUY,
        quantums=m["stepBaseQuantums"],
        subticks=subticks(Decimal(m["oraclePrice"]), m, up=True),
        time_in_force=IOC,
        reduce_only=False,
        good_til_block=height + 10,
    )

    response = await demo_trader.node.place_order(other, order)

    assert (response.tx_response.code, response.tx_response.codespace) == (8, "sdk")


async def test_stateful_orders_when_two_in_one_block_then_sequence_mismatch_code_32() -> None:
    config = DevnetConfig(indexer_port=0, grpc_port=0, auto_blocks=False, markets=("BTC-USD",))
    async with Devnet(config) as devnet:
        devnet.fund(DEMO_ADDRESS, 10_000)
        network = devnet.network()
        node = await NodeClient.connect(network.node)
        trader = SimpleNamespace(
            devnet=devnet,
            node=node,
            wallet=await Wallet.from_mnemonic(node, DEMO_MNEMONIC, DEMO_ADDRESS),
            address=DEMO_ADDRESS,
            indexer=IndexerClient(network.rest_indexer, api_timeout=5),
        )
        m = await market(trader)
        below = Decimal(m["oraclePrice"]) * Decimal("0.8")
        first = stateful_order(trader, m, BUY, Decimal(m["stepSize"]), below)
        second = stateful_order(trader, m, BUY, Decimal(m["stepSize"]), below)

        # No block between them: the client re-reads the committed sequence (0) both times.
        r1 = await node.place_order(trader.wallet, first)
        r2 = await node.place_order(trader.wallet, second)

        assert r1.tx_response.code == 0, r1.tx_response.raw_log
        assert (r2.tx_response.code, r2.tx_response.codespace) == (32, "sdk")
        assert r2.tx_response.raw_log == (
            "account sequence mismatch, expected 1, got 0: incorrect account sequence"
        )

        stub = service_pb2_grpc.ServiceStub(network.node.channel)
        request = service_pb2.GetTxRequest(hash=r1.tx_response.txhash)
        with pytest.raises(grpc.RpcError) as pending:
            stub.GetTx(request)  # accepted by CheckTx, not yet in a block
        assert pending.value.code() == grpc.StatusCode.NOT_FOUND

        await devnet.advance_blocks(1)
        included = stub.GetTx(request)
        assert included.tx_response.height == devnet.engine.height
        assert included.tx_response.txhash == r1.tx_response.txhash
        assert included.tx.body.messages[0].type_url == "/dydxprotocol.clob.MsgPlaceOrder"
        r3 = await node.place_order(trader.wallet, second)
        assert r3.tx_response.code == 0, r3.tx_response.raw_log
        assert (await node.get_account(DEMO_ADDRESS)).sequence == 1  # not yet committed
        await devnet.advance_blocks(1)
        assert (await node.get_account(DEMO_ADDRESS)).sequence == 2


async def test_short_term_orders_when_sent_back_to_back_then_sequence_is_not_checked(
    demo_trader: Any,
) -> None:
    m = await market(demo_trader)
    for _ in range(3):
        _, response = await ioc(demo_trader, m, BUY, Decimal(m["stepSize"]))
        assert response.tx_response.code == 0, response.tx_response.raw_log
    account = await demo_trader.node.get_account(demo_trader.address)
    assert account.sequence == 0
    # Short-term orders are gossiped, never included in blocks as transactions.
    await demo_trader.devnet.wait_blocks(2)
    stub = service_pb2_grpc.ServiceStub(demo_trader.network.node.channel)
    with pytest.raises(grpc.RpcError) as caught:
        stub.GetTx(service_pb2.GetTxRequest(hash=response.tx_response.txhash))
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
