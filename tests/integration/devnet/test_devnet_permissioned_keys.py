"""Permissioned keys (``x/accountplus``) on the devnet, driven by the unmodified official client.

The owner adds AllOf(SignatureVerification(bot key), AnyOf(MessageFilter per order
message), SubaccountFilter(0), ClobPairIdFilter(BTC-USD)) with its own key; the
bot key then trades the owner's subaccount 0 on BTC-USD and nothing else. Every
refusal is the chain's: codespace ``dydxaccountplus``, code 104 for the AllOf,
code 1 once the authenticator is removed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

import grpc
import pytest
from dydx_v4_client import OrderFlags
from dydx_v4_client.key_pair import KeyPair
from dydx_v4_client.node.authenticators import Authenticator, AuthenticatorType
from dydx_v4_client.node.builder import TxOptions, get_signature
from dydx_v4_client.node.message import (
    add_authenticator,
    place_order,
    send_token,
    transfer,
    withdraw,
)
from dydx_v4_client.node.message import order as build_order
from dydx_v4_client.node.message import order_id as build_order_id
from dydx_v4_client.wallet import Wallet
from v4_proto.cosmos.tx.v1beta1.tx_pb2 import Tx, TxBody
from v4_proto.dydxprotocol.clob.order_pb2 import Order
from v4_proto.dydxprotocol.subaccounts.subaccount_pb2 import SubaccountId

from dydx_devnet.demo import DEMO_BOT_MNEMONIC
from dydx_devnet.server import Devnet

BUY = Order.Side.SIDE_BUY
IOC = Order.TimeInForce.TIME_IN_FORCE_IOC
GTT = Order.TimeInForce.TIME_IN_FORCE_UNSPECIFIED
ACCOUNTPLUS = "dydxaccountplus"
ORDER_MESSAGES = (
    "/dydxprotocol.clob.MsgPlaceOrder",
    "/dydxprotocol.clob.MsgCancelOrder",
    "/dydxprotocol.clob.MsgBatchCancel",
)
BTC_USD_CLOB_PAIR = 0


@dataclass
class Keys:
    """The official client, the owner's wallet, the bot's wallet and its authenticator."""

    owner: Any  # the integration conftest's Trader (owner wallet, node, indexer)
    bot: Wallet
    authenticator_id: int

    async def options(self) -> TxOptions:
        account = await self.owner.node.get_account(self.owner.address)
        return TxOptions([self.authenticator_id], account.sequence, account.account_number)


def bot_authenticator(bot: Wallet, subaccounts: list[int], pairs: list[int]) -> Authenticator:
    return Authenticator.compose(
        AuthenticatorType.AllOf,
        [
            Authenticator.signature_verification(bot.public_key.key),
            Authenticator.compose(
                AuthenticatorType.AnyOf,
                [Authenticator.message_filter(url) for url in ORDER_MESSAGES],
            ),
            Authenticator.subaccount_filter(subaccounts),
            Authenticator.clob_pair_id_filter(pairs),
        ],
    )


@pytest.fixture
async def keys(demo_trader: Any) -> Keys:
    bot = Wallet(KeyPair.from_mnemonic(DEMO_BOT_MNEMONIC), 0, 0)
    response = await demo_trader.node.add_authenticator(
        demo_trader.wallet, bot_authenticator(bot, [0], [BTC_USD_CLOB_PAIR])
    )
    assert response.tx_response.code == 0, response.tx_response.raw_log
    await demo_trader.devnet.wait_blocks(2)  # in force from the next block
    found = await demo_trader.node.get_authenticators(demo_trader.address)
    (authenticator,) = found.account_authenticators
    return Keys(demo_trader, bot, authenticator.id)


async def market(trader: Any, ticker: str) -> dict[str, Any]:
    body = await trader.indexer.markets.get_perpetual_markets(ticker)
    result: dict[str, Any] = body["markets"][ticker]
    return result


def ioc_buy(owner: str, m: dict[str, Any], height: int, *, subaccount: int = 0) -> Any:
    size = Decimal(m["stepSize"]) * 10
    worst = Decimal(m["oraclePrice"]) * Decimal("1.02")
    quantums = int(size.scaleb(-m["atomicResolution"]).to_integral_value(ROUND_FLOOR))
    exponent = m["atomicResolution"] - m["quantumConversionExponent"] + 6
    ticks = int((worst.scaleb(exponent) / m["subticksPerTick"]).to_integral_value(ROUND_CEILING))
    order_id = build_order_id(
        owner, subaccount, random.randint(0, 2**32 - 1), int(m["clobPairId"]), 0
    )
    return build_order(
        order_id,
        BUY,
        quantums=quantums,
        subticks=ticks * m["subticksPerTick"],
        time_in_force=IOC,
        reduce_only=False,
        good_til_block=height + 10,
    )


async def bot_ioc_buy(
    keys: Keys, ticker: str, *, subaccount: int = 0, options: TxOptions | None = None
) -> tuple[dict[str, Any], Any]:
    """The bot key sends an IOC buy for the owner's subaccount: (market, response)."""
    owner = keys.owner
    m = await market(owner, ticker)
    order = ioc_buy(owner.address, m, await owner.node.latest_block_height(), subaccount=subaccount)
    response = await owner.node.place_order(keys.bot, order, options or await keys.options())
    return m, response


def assert_refused(response: Any, code: int, *texts: str) -> None:
    tx = response.tx_response
    assert (tx.codespace, tx.code) == (ACCOUNTPLUS, code), tx.raw_log
    for text in texts:
        assert text in tx.raw_log


async def test_bot_key_when_ioc_order_on_its_subaccount_and_market_then_fills_on_owner(
    keys: Keys,
) -> None:
    owner = keys.owner

    m, response = await bot_ioc_buy(keys, "BTC-USD")
    await owner.devnet.wait_blocks(1)  # CheckTx fills are indexed with the next block

    assert response.tx_response.code == 0, response.tx_response.raw_log
    fills = (await owner.indexer.account.get_subaccount_fills(owner.address, 0))["fills"]
    assert sum(Decimal(f["size"]) for f in fills) == Decimal(m["stepSize"]) * 10


async def test_bot_key_when_transfer_between_subaccounts_then_refused_by_message_filter(
    keys: Keys,
) -> None:
    owner = keys.owner
    message = transfer(
        SubaccountId(owner=owner.address, number=0),
        SubaccountId(owner=owner.address, number=1),
        0,
        1_000_000,
    )

    response = await owner.node.broadcast_message(
        keys.bot, message, tx_options=await keys.options()
    )

    assert_refused(
        response,
        104,
        "/dydxprotocol.sending.MsgCreateTransfer",
        "Message type verification failed",
        "AllOf verification failed",
    )


async def test_bot_key_when_withdrawal_to_its_own_address_then_refused_by_message_filter(
    keys: Keys,
) -> None:
    owner = keys.owner
    message = withdraw(SubaccountId(owner=owner.address, number=0), keys.bot.address, 0, 10**6)

    response = await owner.node.broadcast_message(
        keys.bot, message, tx_options=await keys.options()
    )

    assert_refused(response, 104, "/dydxprotocol.sending.MsgWithdrawFromSubaccount")
    equity = (await owner.indexer.account.get_subaccount(owner.address, 0))["subaccount"]
    assert equity["equity"] == "10000"


async def test_bot_key_when_bank_send_then_refused_by_message_filter(keys: Keys) -> None:
    owner = keys.owner
    message = send_token(owner.address, keys.bot.address, 1, owner.network.node.usdc_denom)

    response = await owner.node.broadcast_message(
        keys.bot, message, tx_options=await keys.options()
    )

    assert_refused(response, 104, "/cosmos.bank.v1beta1.MsgSend")


async def test_bot_key_when_order_on_another_subaccount_then_refused_by_subaccount_filter(
    keys: Keys,
) -> None:
    keys.owner.devnet.fund(keys.owner.address, 500, subaccount_number=1)

    _, response = await bot_ioc_buy(keys, "BTC-USD", subaccount=1)

    assert_refused(
        response, 104, "subaccount number 1 not in whitelist", "Subaccount verification failed"
    )


async def test_bot_key_when_order_on_market_outside_filter_then_refused_by_clob_pair_filter(
    keys: Keys,
) -> None:
    m, response = await bot_ioc_buy(keys, "ETH-USD")

    assert_refused(
        response,
        104,
        f"order id {m['clobPairId']} not in whitelist",
        "Clob pair id verification failed",
    )


async def test_bot_key_when_authenticator_removed_then_next_order_refused_not_found(
    keys: Keys,
) -> None:
    owner = keys.owner
    removal = await owner.node.remove_authenticator(owner.wallet, keys.authenticator_id)
    assert removal.tx_response.code == 0, removal.tx_response.raw_log
    await owner.devnet.wait_blocks(2)

    _, response = await bot_ioc_buy(keys, "BTC-USD")

    assert_refused(
        response,
        1,
        f"authenticator {keys.authenticator_id} not found for account {owner.address}",
        "Authenticator is not found",
    )
    assert list((await owner.node.get_authenticators(owner.address)).account_authenticators) == []


async def test_bot_key_when_signing_without_authenticator_then_refused_as_not_the_owners_key(
    keys: Keys,
) -> None:
    owner = keys.owner
    m = await market(owner, "BTC-USD")
    order = ioc_buy(owner.address, m, await owner.node.latest_block_height())

    # place_order(bot, order) would first ask for the bot's own account, which does not exist.
    unselected = owner.node.builder.build(keys.bot, place_order(order))
    response = await owner.node.broadcast(unselected)

    tx = response.tx_response
    assert (tx.codespace, tx.code) == ("sdk", 8), tx.raw_log


async def test_bot_key_when_stateful_order_with_timestamp_nonce_then_sequence_untouched(
    keys: Keys, devnet: Devnet
) -> None:
    owner = keys.owner
    m = await market(owner, "BTC-USD")
    before = await owner.node.get_account(owner.address)
    assert devnet.engine is not None
    nonce = int(devnet.engine.block_time.timestamp() * 1000)
    order = build_order(
        build_order_id(owner.address, 0, 77, BTC_USD_CLOB_PAIR, OrderFlags.LONG_TERM),
        BUY,
        quantums=int(Decimal(m["stepSize"]).scaleb(-m["atomicResolution"])),
        subticks=m["subticksPerTick"],  # far below the book: it rests
        time_in_force=GTT,
        reduce_only=False,
        good_til_block_time=int(devnet.engine.block_time.timestamp()) + 600,
    )
    options = TxOptions([keys.authenticator_id], nonce, before.account_number)
    # Other bytes under the same nonce: identical bytes would meet the mempool cache (sdk 19).
    second = Order()
    second.CopyFrom(order)
    second.order_id.client_id = 78

    first = await owner.node.place_order(keys.bot, order, options)
    replayed = await owner.node.place_order(keys.bot, second, options)

    assert first.tx_response.code == 0, first.tx_response.raw_log
    assert (replayed.tx_response.codespace, replayed.tx_response.code) == ("sdk", 32)
    assert f"timestamp nonce {nonce} rejected" in replayed.tx_response.raw_log
    await devnet.wait_blocks(2)
    assert (await owner.node.get_account(owner.address)).sequence == before.sequence


async def test_add_authenticator_when_tree_needs_no_signature_then_simulation_refuses_it(
    demo_trader: Any,
) -> None:
    unsafe = Authenticator.compose(
        AuthenticatorType.AnyOf,
        [
            Authenticator.message_filter(ORDER_MESSAGES[0]),
            Authenticator.subaccount_filter([0]),
        ],
    )
    message = add_authenticator(demo_trader.address, unsafe.type, unsafe.config)

    with pytest.raises(grpc.RpcError) as caught:
        await demo_trader.node.send_message(demo_trader.wallet, message)

    assert "unsafe: authenticator tree does not require signature verification" in str(
        caught.value.details()
    )
    found = await demo_trader.node.get_authenticators(demo_trader.address)
    assert list(found.account_authenticators) == []


async def test_bot_key_when_two_authenticators_selected_for_one_message_then_invalid_request(
    keys: Keys,
) -> None:
    account = await keys.owner.node.get_account(keys.owner.address)
    options = TxOptions([keys.authenticator_id] * 2, account.sequence, account.account_number)

    _, response = await bot_ioc_buy(keys, "BTC-USD", options=options)

    tx = response.tx_response
    assert (tx.codespace, tx.code) == ("sdk", 18), tx.raw_log
    assert "msg count 1, got 2 selected authenticators" in tx.raw_log


async def test_bot_key_when_extension_sent_as_critical_option_then_unknown_extension_options(
    keys: Keys,
) -> None:
    owner = keys.owner
    m = await market(owner, "BTC-USD")
    order = ioc_buy(owner.address, m, await owner.node.latest_block_height())
    options = await keys.options()
    built = owner.node.builder.build(keys.bot, place_order(order), tx_options=options)
    body = TxBody(
        messages=built.body.messages,
        extension_options=built.body.non_critical_extension_options,
    )
    signature = get_signature(
        keys.bot.key, body, built.auth_info, options.account_number, owner.network.node.chain_id
    )

    response = await owner.node.broadcast(
        Tx(body=body, auth_info=built.auth_info, signatures=[signature])
    )

    tx = response.tx_response
    assert (tx.codespace, tx.code) == ("sdk", 31), tx.raw_log
