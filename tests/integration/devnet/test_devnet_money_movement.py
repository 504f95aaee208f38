"""Money movement on the devnet, driven by the unmodified official client.

Deposits, withdrawals, subaccount transfers and bank sends run as ``x/sending``
and ``x/bank`` run them, pay gas from the wallet's USDC, and are indexed on
``/v4/transfers`` and ``v4_subaccounts``.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import aiohttp
import grpc
import httpx
import pytest
from dydx_v4_client.faucet_client import FaucetClient
from dydx_v4_client.node.client import NodeClient
from dydx_v4_client.node.message import deposit, subaccount
from dydx_v4_client.wallet import Wallet
from official_client_helpers import BUY, ioc, market

from dydx_devnet.bank import FAUCET_ADDRESS, NATIVE_DENOM, USDC_DENOM
from dydx_devnet.demo import DEMO_ADDRESS_2, DEMO_MNEMONIC_2

USDC = 1_000_000  # quote quantums per USDC


async def bank_usdc(trader: Any, address: str | None = None) -> int:
    response = await trader.node.get_account_balance(address or trader.address, USDC_DENOM)
    return int(response.balance.amount)


async def equity(trader: Any, number: int = 0) -> Decimal:
    body = await trader.indexer.account.get_subaccount(trader.address, number)
    return Decimal(body["subaccount"]["equity"])


def assert_ok(response: Any) -> None:
    assert response.tx_response.code == 0, response.tx_response.raw_log


async def test_deposit_when_wallet_holds_usdc_then_subaccount_credited_fee_paid_and_indexed(
    demo_trader: Any,
) -> None:
    wallet_before = await bank_usdc(demo_trader)

    response = await demo_trader.node.deposit(
        demo_trader.wallet, demo_trader.address, subaccount(demo_trader.address, 0), 0, 10 * USDC
    )

    assert_ok(response)
    await demo_trader.devnet.wait_blocks(2)  # indexed with the block that holds it
    assert await equity(demo_trader) == Decimal(10_010)
    wallet_after = await bank_usdc(demo_trader)
    fee = wallet_before - 10 * USDC - wallet_after
    assert 0 < fee < USDC // 10  # gas x 1.8 x 0.025 USDC per gas
    transfers = (
        await demo_trader.indexer.account.get_subaccount_transfers(demo_trader.address, 0)
    )["transfers"]
    assert transfers[0]["type"] == "DEPOSIT"
    assert transfers[0]["sender"] == {"address": demo_trader.address}
    assert transfers[0]["recipient"] == {"address": demo_trader.address, "subaccountNumber": 0}
    assert transfers[0]["size"] == "10" and transfers[0]["symbol"] == "USDC"
    assert transfers[0]["transactionHash"] == response.tx_response.txhash
    faucet = transfers[-1]
    assert (faucet["type"], faucet["sender"]) == ("DEPOSIT", {"address": FAUCET_ADDRESS})


async def test_withdraw_when_collateral_free_then_wallet_credited_and_withdrawal_indexed(
    demo_trader: Any,
) -> None:
    wallet_before = await bank_usdc(demo_trader)

    response = await demo_trader.node.withdraw(
        demo_trader.wallet, subaccount(demo_trader.address, 0), demo_trader.address, 0, 25 * USDC
    )

    assert_ok(response)
    await demo_trader.devnet.wait_blocks(2)
    assert await equity(demo_trader) == Decimal(9_975)
    assert await bank_usdc(demo_trader) > wallet_before + 24 * USDC
    (latest, *_) = (
        await demo_trader.indexer.account.get_subaccount_transfers(demo_trader.address, 0)
    )["transfers"]
    assert latest["type"] == "WITHDRAWAL" and latest["size"] == "25"
    assert latest["recipient"] == {"address": demo_trader.address}


async def test_withdraw_when_it_would_undercollateralize_a_position_then_simulation_refuses(
    demo_trader: Any,
) -> None:
    m = await market(demo_trader, "BTC-USD")
    size = (Decimal(9_000) * 30 / Decimal(m["oraclePrice"])).quantize(Decimal(m["stepSize"]))
    _, opened = await ioc(demo_trader, m, BUY, size, slippage=Decimal("0.05"))
    assert_ok(opened)

    with pytest.raises(grpc.RpcError) as caught:
        await demo_trader.node.withdraw(
            demo_trader.wallet,
            subaccount(demo_trader.address, 0),
            demo_trader.address,
            0,
            9_000 * USDC,
        )

    assert "NewlyUndercollateralized" in str(caught.value.details())
    assert "failed to apply subaccount updates" in str(caught.value.details())


async def test_transfer_when_between_subaccounts_then_both_sides_and_between_view_agree(
    demo_trader: Any,
) -> None:
    response = await demo_trader.node.transfer(
        demo_trader.wallet,
        subaccount(demo_trader.address, 0),
        subaccount(demo_trader.address, 128),
        0,
        500 * USDC,
    )

    assert_ok(response)
    await demo_trader.devnet.wait_blocks(2)
    assert await equity(demo_trader, 0) == Decimal(9_500)
    assert await equity(demo_trader, 128) == Decimal(500)
    out = (await demo_trader.indexer.account.get_subaccount_transfers(demo_trader.address, 0))[
        "transfers"
    ][0]
    into = (await demo_trader.indexer.account.get_subaccount_transfers(demo_trader.address, 128))[
        "transfers"
    ][0]
    assert (out["type"], into["type"]) == ("TRANSFER_OUT", "TRANSFER_IN")
    assert out["id"] == into["id"]
    between = await demo_trader.indexer.account.get_transfer_between(
        demo_trader.address, 0, demo_trader.address, 128
    )
    assert between["totalNetTransfers"] == "500"
    assert [t["type"] for t in between["transfersSubset"]] == ["TRANSFER_OUT"]
    # Within one parent the move is internal: the parent's transfers show the faucet only.
    parent = await demo_trader.indexer.account.get_parent_transfers(demo_trader.address, 0)
    assert [t["type"] for t in parent["transfers"]] == ["DEPOSIT"]
    assert parent["transfers"][0]["recipient"] == {
        "address": demo_trader.address,
        "parentSubaccountNumber": 0,
    }


async def test_transfer_when_more_than_the_balance_then_refused_and_nothing_moves(
    demo_trader: Any,
) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        await demo_trader.node.transfer(
            demo_trader.wallet,
            subaccount(demo_trader.address, 0),
            subaccount(DEMO_ADDRESS_2, 0),
            0,
            20_000 * USDC,
        )

    assert "UpdateResult: NewlyUndercollateralized" in str(caught.value.details())
    assert await equity(demo_trader) == Decimal(10_000)


async def test_bank_send_when_native_tokens_from_faucet_then_recipient_holds_them(
    demo_trader: Any,
) -> None:
    faucet = FaucetClient(demo_trader.devnet.faucet_url, api_timeout=5)
    filled = await faucet.fill_native(demo_trader.address)
    assert filled.status_code == 202
    amount = 10_000_000

    response = await demo_trader.node.send_token(
        demo_trader.wallet, demo_trader.address, DEMO_ADDRESS_2, amount, NATIVE_DENOM
    )

    assert_ok(response)
    balances = await demo_trader.node.get_account_balances(DEMO_ADDRESS_2)
    assert [(c.denom, int(c.amount)) for c in balances.balances] == [(NATIVE_DENOM, amount)]
    # The recipient's auth account exists now, as the bank module creates it.
    account = await demo_trader.node.get_account(DEMO_ADDRESS_2)
    assert account.address == DEMO_ADDRESS_2
    await demo_trader.devnet.wait_blocks(2)
    tx = await demo_trader.node.query_transaction(response.tx_response.txhash)
    assert tx.body.messages[0].type_url == "/cosmos.bank.v1beta1.MsgSend"


async def test_transaction_when_no_fee_attached_then_insufficient_fee(demo_trader: Any) -> None:
    message = deposit(demo_trader.address, subaccount(demo_trader.address, 0), 0, USDC)
    tx = demo_trader.node.builder.build(demo_trader.wallet, message)  # fee: none, gas 1M

    response = await demo_trader.node.broadcast(tx)

    assert (response.tx_response.code, response.tx_response.codespace) == (13, "sdk")
    assert "insufficient fees" in response.tx_response.raw_log
    assert await equity(demo_trader) == Decimal(10_000)


async def test_send_when_wallet_cannot_pay_the_fee_then_insufficient_funds(devnet: Any) -> None:
    devnet.fund(DEMO_ADDRESS_2, 100)  # subaccount only: the wallet holds nothing
    node = await NodeClient.connect(devnet.network().node)
    wallet = await Wallet.from_mnemonic(node, DEMO_MNEMONIC_2, DEMO_ADDRESS_2)

    response = await node.withdraw(wallet, subaccount(DEMO_ADDRESS_2, 0), DEMO_ADDRESS_2, 0, USDC)

    assert (response.tx_response.code, response.tx_response.codespace) == (5, "sdk")
    assert "insufficient funds" in response.tx_response.raw_log


async def test_deposit_when_subscribed_then_v4_subaccounts_sends_the_transfer(
    demo_trader: Any,
) -> None:
    channel_id = f"{demo_trader.address}/0"
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(demo_trader.devnet.websocket_url) as ws,
    ):
        await ws.receive_json()
        await ws.send_json({"type": "subscribe", "channel": "v4_subaccounts", "id": channel_id})
        await ws.receive_json()
        response = await demo_trader.node.deposit(
            demo_trader.wallet, demo_trader.address, subaccount(demo_trader.address, 0), 0, USDC
        )
        assert_ok(response)
        message = await _first_with_transfers(ws)

    transfer = message["contents"]["transfers"]
    assert transfer == {
        "sender": {"address": demo_trader.address},
        "recipient": {"address": demo_trader.address, "subaccountNumber": 0},
        "symbol": "USDC",
        "size": "1",
        "type": "DEPOSIT",
        "createdAt": transfer["createdAt"],
        "createdAtHeight": message["contents"]["blockHeight"],
        "transactionHash": response.tx_response.txhash,
    }
    assert message["contents"]["assetPositions"][0]["size"] == "10001"


async def _first_with_transfers(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    while True:
        message = await asyncio.wait_for(ws.receive_json(), 5)
        if message.get("type") == "channel_data" and "transfers" in message["contents"]:
            return dict(message)


async def test_transfers_when_paged_then_page_fields_and_newest_first(demo_trader: Any) -> None:
    for _ in range(3):
        demo_trader.devnet.fund(demo_trader.address, 1)
    url = (
        f"{demo_trader.devnet.indexer_url}/v4/transfers?address={demo_trader.address}"
        "&subaccountNumber=0&limit=2&page=2"
    )

    async with httpx.AsyncClient() as client:
        body = (await client.get(url)).json()

    assert (body["pageSize"], body["totalResults"], body["offset"]) == (2, 4, 2)
    assert [t["size"] for t in body["transfers"]] == ["1", "10000"]
