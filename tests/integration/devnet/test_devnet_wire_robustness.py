"""Bad input gets the real API's error answers, and the devnet keeps serving."""

from __future__ import annotations

import asyncio
import random
from decimal import Decimal
from typing import Any

import aiohttp
import grpc
import pytest
from dydx_v4_client import OrderFlags
from dydx_v4_client.node.message import order as build_order
from dydx_v4_client.node.message import order_id as build_order_id
from google.protobuf.any_pb2 import Any as AnyProto
from v4_proto.cosmos.bank.v1beta1.tx_pb2 import MsgSend
from v4_proto.cosmos.staking.v1beta1.tx_pb2 import MsgDelegate
from v4_proto.cosmos.tx.v1beta1 import service_pb2, service_pb2_grpc
from v4_proto.dydxprotocol.clob.order_pb2 import Order

from dydx_devnet.demo import DEMO_ADDRESS
from dydx_devnet.server import Devnet

LIMIT_MSG = "limit must be a positive integer that is not greater than max: 1000"
SUBACCOUNT_MSG = "subaccountNumber must be a non-negative integer less than 128001"
TICKER_MSG = "ticker must be a valid ticker (BTC-USD, etc)"


async def get(devnet: Devnet, path: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as session, session.get(devnet.indexer_url + path) as r:
        return r.status, await r.json()


async def post(devnet: Devnet, path: str, data: bytes) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as session:
        headers = {"Content-Type": "application/json"}
        async with session.post(devnet.indexer_url + path, data=data, headers=headers) as r:
            return r.status, await r.json()


def faucet_body(amount: bytes, number: bytes = b"0") -> bytes:
    return b'{"address": "%s", "subaccountNumber": %s, "amount": %s}' % (
        DEMO_ADDRESS.encode(),
        number,
        amount,
    )


def messages(body: Any) -> list[str]:
    return [error["msg"] for error in body["errors"]]


@pytest.mark.parametrize(
    ("path", "status", "msg"),
    [
        ("/v4/perpetualMarkets?ticker=NOPE-USD", 400, TICKER_MSG),
        ("/v4/perpetualMarkets?limit=0", 400, LIMIT_MSG),
        ("/v4/perpetualMarkets?limit=1001", 400, LIMIT_MSG),
        ("/v4/perpetualMarkets?limit=abc", 400, LIMIT_MSG),
        ("/v4/perpetualMarkets?limit=" + "9" * 400, 400, LIMIT_MSG),
        ("/v4/candles/perpetualMarkets/NOPE-USD?resolution=1MIN", 400, TICKER_MSG),
        ("/v4/trades/perpetualMarket/NOPE-USD", 400, TICKER_MSG),
        (
            "/v4/orderbooks/perpetualMarket/NOPE-USD",
            404,
            "NOPE-USD not found in tickers of type perpetual",
        ),
        (
            f"/v4/addresses/{DEMO_ADDRESS}/subaccountNumber/128001",
            400,
            SUBACCOUNT_MSG,
        ),
        (
            f"/v4/addresses/{DEMO_ADDRESS}/subaccountNumber/{'1' * 60}",
            400,
            SUBACCOUNT_MSG,
        ),
        (f"/v4/addresses/{DEMO_ADDRESS}/subaccountNumber/-1", 400, SUBACCOUNT_MSG),
        ("/v4/addresses/not-an-address!/subaccountNumber/0", 400, None),
        (f"/v4/fills?address={DEMO_ADDRESS}&subaccountNumber=0&limit=-5", 400, LIMIT_MSG),
        (
            f"/v4/fills?address={DEMO_ADDRESS}&subaccountNumber=0&market=BTC-USD",
            400,
            "marketType must be provided if market is provided",
        ),
        (
            f"/v4/fills?address={DEMO_ADDRESS}&subaccountNumber=0&market=NOPE&marketType=PERPETUAL",
            404,
            "NOPE not found in markets of type PERPETUAL",
        ),
        ("/v4/orders?subaccountNumber=0", 400, "address must be a valid dydx address"),
        (f"/v4/orders?address={DEMO_ADDRESS}&subaccountNumber=0&side=UP", 400, None),
        (f"/v4/orders?address={DEMO_ADDRESS}&subaccountNumber=0&status=NOPE", 400, None),
        ("/v4/orders/not-a-uuid", 400, "orderId must be a valid UUID"),
        (
            "/v4/orders/4a0cba49-1f14-4d0c-9df5-4a5c1bd1b1a3",
            404,
            "Unable to find order id 4a0cba49-1f14-4d0c-9df5-4a5c1bd1b1a3",
        ),
        (
            "/v4/candles/perpetualMarkets/BTC-USD?resolution=2MINS",
            400,
            None,
        ),
        ("/v4/candles/perpetualMarkets/BTC-USD?resolution=1MIN&fromISO=yesterday", 400, None),
        ("/v4/nothingHere", 404, "Not Found"),
    ],
)
async def test_indexer_when_bad_request_then_real_error_body_and_keeps_serving(
    devnet: Devnet, path: str, status: int, msg: str | None
) -> None:
    got_status, body = await get(devnet, path)

    assert got_status == status
    assert isinstance(body["errors"], list) and body["errors"]
    if msg is not None:
        assert messages(body) == [msg]
    assert (await get(devnet, "/v4/height"))[0] == 200


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        (b"{not json", "Malformed JSON"),
        (b"\xff\xfe", "Malformed JSON"),
        (b'{"amount": ' + b"9" * 5000 + b"}", "Malformed JSON"),
        (b"[1, 2]", "body must be a JSON object"),
        (b'{"address": "dydx1nope", "subaccountNumber": 0, "amount": 5}', "address"),
        (
            faucet_body(b"5", b"-1"),
            "subaccountNumber",
        ),
        (
            faucet_body(b"-5"),
            "amount must be a positive number",
        ),
        (
            b'{"address": "'
            + DEMO_ADDRESS.encode()
            + b'", "subaccountNumber": 0, "amount": 1e400}',
            "amount",
        ),
        (
            b'{"address": "'
            + DEMO_ADDRESS.encode()
            + b'", "subaccountNumber": 0, "amount": "NaN"}',
            "amount must be a positive number",
        ),
        (
            b'{"address": "'
            + DEMO_ADDRESS.encode()
            + b'", "subaccountNumber": 0, "amount": 0.0000001}',
            "at most 6 decimals",
        ),
    ],
)
async def test_faucet_when_bad_body_then_400_and_nothing_funded(
    devnet: Devnet, payload: bytes, fragment: str
) -> None:
    status, body = await post(devnet, "/faucet/tokens", payload)

    assert status == 400
    assert fragment in " ".join(messages(body)) + " " + " ".join(
        str(e.get("param", "")) for e in body["errors"]
    )
    assert (await get(devnet, f"/v4/addresses/{DEMO_ADDRESS}/subaccountNumber/0"))[0] == 404


def _stub(devnet: Devnet) -> tuple[grpc.Channel, Any]:
    channel = grpc.insecure_channel(devnet.grpc_address)
    return channel, service_pb2_grpc.ServiceStub(channel)


@pytest.mark.parametrize(
    "tx_bytes",
    [b"\x00\x01garbage\xff", b"\x0a\x05hello", bytes(range(256)), b"\x12\x03\x0a\x01\x00"],
)
async def test_broadcast_when_garbage_bytes_then_sdk_tx_decode_error_code_2(
    devnet: Devnet, tx_bytes: bytes
) -> None:
    channel, stub = _stub(devnet)
    with channel:
        response = stub.BroadcastTx(
            service_pb2.BroadcastTxRequest(tx_bytes=tx_bytes, mode=service_pb2.BROADCAST_MODE_SYNC)
        )

        assert response.tx_response.codespace == "sdk"
        assert response.tx_response.code in (2, 15, 18)  # decode / no signatures / no messages
        if tx_bytes == b"\x00\x01garbage\xff":
            assert response.tx_response.code == 2
            assert response.tx_response.raw_log.endswith("tx parse error")
        # The server kept serving.
        again = stub.BroadcastTx(
            service_pb2.BroadcastTxRequest(tx_bytes=b"\x00", mode=service_pb2.BROADCAST_MODE_SYNC)
        )
        assert again.tx_response.code == 2


async def test_broadcast_when_block_mode_then_invalid_argument(devnet: Devnet) -> None:
    channel, stub = _stub(devnet)
    with channel, pytest.raises(grpc.RpcError) as caught:
        stub.BroadcastTx(
            service_pb2.BroadcastTxRequest(tx_bytes=b"x", mode=service_pb2.BROADCAST_MODE_BLOCK)
        )

    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_broadcast_when_message_is_one_the_devnet_does_not_execute_then_unknown_request(
    demo_trader: Any,
) -> None:
    message = MsgDelegate(delegator_address=DEMO_ADDRESS, validator_address=DEMO_ADDRESS)
    tx = demo_trader.node.builder.build(demo_trader.wallet, message)

    response = await demo_trader.node.broadcast(tx)

    assert (response.tx_response.code, response.tx_response.codespace) == (6, "sdk")
    assert "MsgDelegate" in response.tx_response.raw_log


async def test_broadcast_when_bank_send_has_no_coins_then_invalid_coins(
    demo_trader: Any,
) -> None:
    message = MsgSend(from_address=DEMO_ADDRESS, to_address=DEMO_ADDRESS)
    tx = demo_trader.node.builder.build(demo_trader.wallet, message)

    response = await demo_trader.node.broadcast(tx)

    assert (response.tx_response.code, response.tx_response.codespace) == (10, "sdk")
    assert "invalid coins" in response.tx_response.raw_log


async def test_broadcast_when_response_dropped_then_unavailable_but_order_was_applied(
    demo_trader: Any,
) -> None:
    devnet: Devnet = demo_trader.devnet
    m = (await demo_trader.indexer.markets.get_perpetual_markets("BTC-USD"))["markets"]["BTC-USD"]
    exponent = m["atomicResolution"] - m["quantumConversionExponent"] + 6
    worst = int((Decimal(m["oraclePrice"]) * Decimal("1.02")).scaleb(exponent))
    height = await demo_trader.node.latest_block_height()
    order = build_order(
        build_order_id(DEMO_ADDRESS, 0, random.randint(0, 2**32 - 1), 0, OrderFlags.SHORT_TERM),
        Order.Side.SIDE_BUY,
        quantums=m["stepBaseQuantums"],
        subticks=worst // m["subticksPerTick"] * m["subticksPerTick"],
        time_in_force=Order.TimeInForce.TIME_IN_FORCE_IOC,
        reduce_only=False,
        good_til_block=height + 10,
    )
    status, state = await post(devnet, "/devnet/faults", b'{"drop_next_broadcast_responses": 1}')
    assert status == 200 and state["drop_next_broadcast_responses"] == 1

    with pytest.raises(grpc.RpcError) as caught:
        await demo_trader.node.place_order(demo_trader.wallet, order)

    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    await devnet.wait_blocks(1)  # the fill is indexed with the next block
    fills = await demo_trader.indexer.account.get_subaccount_fills(DEMO_ADDRESS, 0)
    assert [f["size"] for f in fills["fills"]] == [m["stepSize"]]
    again = await demo_trader.node.place_order(demo_trader.wallet, order)  # same bytes
    assert (again.tx_response.codespace, again.tx_response.code) == ("sdk", 19)
    assert devnet.faults.state()["drop_next_broadcast_responses"] == 0


async def test_faults_when_bad_request_then_400_naming_the_problem(devnet: Devnet) -> None:
    status, body = await post(devnet, "/devnet/faults", b'{"explode": 1}')
    assert status == 400 and "unknown fault" in messages(body)[0]
    status, body = await post(devnet, "/devnet/faults", b'{"hold_indexer": -3}')
    assert status == 400 and "hold_indexer" in messages(body)[0]


async def test_hold_indexer_when_set_then_indexer_height_trails_the_chain(devnet: Devnet) -> None:
    devnet.faults.hold_indexer(5)
    await devnet.wait_blocks(6)

    _, body = await get(devnet, "/v4/height")

    assert devnet.engine is not None
    assert int(body["height"]) <= devnet.engine.height - 5
    devnet.faults.release_indexer()


def test_unpacked_any_when_type_unknown_then_decode_error() -> None:
    from v4_proto.cosmos.tx.v1beta1.tx_pb2 import TxBody, TxRaw

    from dydx_devnet.tx import TxRejected, decode

    body = TxBody(messages=[AnyProto(type_url="/acme.Boom", value=b"")])
    raw = TxRaw(body_bytes=body.SerializeToString(), signatures=[b"x" * 64])

    with pytest.raises(TxRejected) as caught:
        decode(raw.SerializeToString())

    assert (caught.value.result.code, caught.value.result.codespace) == (2, "sdk")


async def test_indexer_when_fault_armed_then_503_once_then_serves_again(devnet: Devnet) -> None:
    devnet.faults.fail_next_indexer_requests(1)

    failed = await get(devnet, "/v4/height")
    recovered = await get(devnet, "/v4/height")

    assert failed == (503, {"errors": [{"msg": "Service Unavailable"}]})
    assert recovered[0] == 200


async def test_simulate_when_valid_order_then_gas_and_when_bad_signature_then_error(
    demo_trader: Any,
) -> None:
    from dydx_v4_client.key_pair import KeyPair
    from dydx_v4_client.wallet import Wallet
    from v4_proto.dydxprotocol.clob.tx_pb2 import MsgPlaceOrder

    from dydx_devnet.demo import DEMO_MNEMONIC

    m = (await demo_trader.indexer.markets.get_perpetual_markets("BTC-USD"))["markets"]["BTC-USD"]
    height = await demo_trader.node.latest_block_height()
    order = build_order(
        build_order_id(DEMO_ADDRESS, 0, 99, 0, OrderFlags.SHORT_TERM),
        Order.Side.SIDE_BUY,
        quantums=m["stepBaseQuantums"],
        subticks=m["subticksPerTick"],
        time_in_force=Order.TimeInForce.TIME_IN_FORCE_IOC,
        reduce_only=False,
        good_til_block=height + 10,
    )
    good = demo_trader.node.builder.build(demo_trader.wallet, MsgPlaceOrder(order=order))
    bad_wallet = Wallet(KeyPair.from_mnemonic(DEMO_MNEMONIC), 999, 0)
    bad = demo_trader.node.builder.build(bad_wallet, MsgPlaceOrder(order=order))

    simulated = await demo_trader.node.simulate(good)
    with pytest.raises(grpc.RpcError) as caught:
        await demo_trader.node.simulate(bad)

    assert simulated.gas_info.gas_used > 0
    assert "signature verification failed" in (caught.value.details() or "")
    fills = await demo_trader.indexer.account.get_subaccount_fills(DEMO_ADDRESS, 0)
    orders = await demo_trader.indexer.account.get_subaccount_orders(DEMO_ADDRESS, 0)
    assert fills["fills"] == [] and orders == []  # simulation changed nothing


async def test_indexer_when_fuzzed_queries_then_never_500_and_always_json(
    roomy_devnet: Devnet,
) -> None:
    devnet = roomy_devnet
    rng = random.Random(7)
    values = [
        "",
        "0",
        "-1",
        "1.5",
        "1e9",
        "9" * 300,
        "NaN",
        "true",
        "BTC-USD",
        "NOPE",
        "%00",
        "%ff%fe",
        "dydx1",
        DEMO_ADDRESS,
        "😀",
        "a" * 2000,
        "BTC-USD/1MIN",
        "2024-01-01T00:00:00Z",
        "OPEN,FILLED",
    ]
    names = [
        "address",
        "subaccountNumber",
        "limit",
        "ticker",
        "market",
        "marketType",
        "status",
        "side",
        "type",
        "resolution",
        "fromISO",
        "toISO",
        "page",
        "createdBeforeOrAtHeight",
        "goodTilBlockBeforeOrAt",
        "returnLatestOrders",
    ]
    paths = [
        "/v4/perpetualMarkets",
        "/v4/perpetualPositions",
        "/v4/assetPositions",
        "/v4/orders",
        "/v4/fills",
        "/v4/height",
        "/v4/time",
        "/v4/candles/perpetualMarkets/{v}",
        "/v4/orderbooks/perpetualMarket/{v}",
        "/v4/trades/perpetualMarket/{v}",
        "/v4/addresses/{v}",
        "/v4/addresses/{v}/subaccountNumber/{v}",
        "/v4/orders/{v}",
    ]
    devnet.fund(DEMO_ADDRESS, 100)
    async with aiohttp.ClientSession() as session:
        for _ in range(250):
            path = rng.choice(paths).replace("{v}", rng.choice(values) or "x")
            query = "&".join(
                f"{rng.choice(names)}={rng.choice(values)}" for _ in range(rng.randint(0, 4))
            )
            url = devnet.indexer_url + path + ("?" + query if query else "")
            async with session.get(url) as response:
                body = await response.json(content_type=None)
                assert response.status in (200, 400, 404), (url, response.status, body)
                if response.status != 200:
                    assert body["errors"][0]["msg"], url


async def test_broadcast_when_response_delayed_past_deadline_then_deadline_but_applied(
    demo_trader: Any,
) -> None:
    from v4_proto.dydxprotocol.clob.tx_pb2 import MsgPlaceOrder

    devnet: Devnet = demo_trader.devnet
    m = (await demo_trader.indexer.markets.get_perpetual_markets("BTC-USD"))["markets"]["BTC-USD"]
    exponent = m["atomicResolution"] - m["quantumConversionExponent"] + 6
    worst = int((Decimal(m["oraclePrice"]) * Decimal("1.02")).scaleb(exponent))
    height = await demo_trader.node.latest_block_height()
    order = build_order(
        build_order_id(DEMO_ADDRESS, 0, 4242, 0, OrderFlags.SHORT_TERM),
        Order.Side.SIDE_BUY,
        quantums=m["stepBaseQuantums"],
        subticks=worst // m["subticksPerTick"] * m["subticksPerTick"],
        time_in_force=Order.TimeInForce.TIME_IN_FORCE_IOC,
        reduce_only=False,
        good_til_block=height + 10,
    )
    tx = demo_trader.node.builder.build(demo_trader.wallet, MsgPlaceOrder(order=order))
    status, state = await post(
        devnet,
        "/devnet/faults",
        b'{"delay_next_broadcast_responses": {"count": 1, "seconds": 0.6}}',
    )
    assert status == 200
    assert state["delay_next_broadcast_responses"] == {"count": 1, "seconds": 0.6}
    request = service_pb2.BroadcastTxRequest(
        tx_bytes=tx.SerializeToString(), mode=service_pb2.BROADCAST_MODE_SYNC
    )
    channel, stub = _stub(devnet)

    def send() -> None:
        with channel:
            stub.BroadcastTx(request, timeout=0.2)

    with pytest.raises(grpc.RpcError) as caught:
        await asyncio.to_thread(send)

    assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    fills = await demo_trader.indexer.account.get_subaccount_fills(DEMO_ADDRESS, 0)
    assert [f["size"] for f in fills["fills"]] == [m["stepSize"]]


async def test_faucet_when_body_oversized_or_wrong_method_then_json_error(devnet: Devnet) -> None:
    big = await post(devnet, "/faucet/tokens", b'{"pad": "' + b"x" * 200_000 + b'"}')
    async with aiohttp.ClientSession() as session:
        async with session.get(devnet.indexer_url + "/faucet/tokens") as response:
            wrong_method = (response.status, await response.json())

    assert big[0] == 413 and big[1]["errors"][0]["msg"]
    assert wrong_method[0] == 405 and wrong_method[1]["errors"][0]["msg"] == "Method Not Allowed"
    assert (await get(devnet, "/v4/height"))[0] == 200
