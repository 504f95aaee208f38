"""``x/sending`` and ``x/bank`` on the engine: checks, gating and what the indexer records."""

from __future__ import annotations

from devnet_helpers import ALICE, BOB, BUY, USDC, make_engine, on_tick, short_term
from v4_proto.cosmos.bank.v1beta1.tx_pb2 import MsgSend
from v4_proto.cosmos.base.v1beta1.coin_pb2 import Coin
from v4_proto.dydxprotocol.sending.transfer_pb2 import (
    MsgDepositToSubaccount,
    MsgWithdrawFromSubaccount,
    Transfer,
)
from v4_proto.dydxprotocol.sending.tx_pb2 import MsgCreateTransfer
from v4_proto.dydxprotocol.subaccounts.subaccount_pb2 import SubaccountId

from dydx_devnet.bank import FEE_COLLECTOR, NATIVE_DENOM, USDC_DENOM
from dydx_devnet.engine import Engine
from dydx_devnet.sending_msgs import validate_basic

ALICE_WALLET = "dydx1xx4evg0695an5nvhnmuw9wp3umwdpsguyxzhmp"  # a valid bech32 address
BOB_WALLET = "dydx1tzfdj2f8tuadmemnzkszyesqectx3fqsn5a9f6"


def _withdraw(
    owner: str, number: int, quantums: int, to: str = ALICE_WALLET
) -> MsgWithdrawFromSubaccount:
    return MsgWithdrawFromSubaccount(
        sender=SubaccountId(owner=owner, number=number), recipient=to, asset_id=0, quantums=quantums
    )


def _transfer(owner: str, source: int, target: str, number: int, amount: int) -> MsgCreateTransfer:
    return MsgCreateTransfer(
        transfer=Transfer(
            sender=SubaccountId(owner=owner, number=source),
            recipient=SubaccountId(owner=target, number=number),
            asset_id=0,
            amount=amount,
        )
    )


def _funded(owner: str = ALICE_WALLET, usdc: int = 1_000) -> Engine:
    engine = make_engine()
    engine.deposit(owner, 0, usdc * USDC)
    return engine


def test_withdraw_when_free_then_subaccount_debited_bank_credited_and_recorded() -> None:
    engine = _funded()

    result = engine.execute_sending(_withdraw(ALICE_WALLET, 0, 40 * USDC), "AB" * 32, apply=True)

    assert result.code == 0
    assert engine.state.subaccounts[(ALICE_WALLET, 0)].usdc == 960 * USDC
    assert engine.sending.bank.balance(ALICE_WALLET, USDC_DENOM) == 40 * USDC
    latest = engine.sending.transfers.transfers[-1]
    assert latest.type_for(ALICE_WALLET, 0) == "WITHDRAWAL"
    assert latest.rest_object(ALICE_WALLET, 0)["transactionHash"] == "AB" * 32


def test_withdraw_when_simulated_then_nothing_changes() -> None:
    engine = _funded()

    result = engine.execute_sending(_withdraw(ALICE_WALLET, 0, 40 * USDC), "00", apply=False)

    assert result.code == 0
    assert engine.state.subaccounts[(ALICE_WALLET, 0)].usdc == 1_000 * USDC
    assert engine.sending.bank.balance(ALICE_WALLET, USDC_DENOM) == 0


def test_withdraw_when_negative_tnc_seen_in_the_pool_then_blocked_for_50_blocks() -> None:
    engine = _funded()
    engine.state.negative_tnc_seen[0] = engine.height

    blocked = engine.execute_sending(_withdraw(ALICE_WALLET, 0, USDC), "01", apply=True)
    for _ in range(50):
        engine.advance_block()
    allowed = engine.execute_sending(_withdraw(ALICE_WALLET, 0, USDC), "02", apply=True)

    assert (blocked.code, blocked.codespace) == (102, "subaccounts")
    assert "WithdrawalsAndTransfersBlocked" in blocked.log
    assert allowed.code == 0


def test_transfer_when_a_position_needs_the_collateral_then_newly_undercollateralized() -> None:
    engine = _funded(ALICE, 1_000)
    market = engine.markets["BTC-USD"]
    # About 40x leverage on BTC (IMF 2 %): most of the 1,000 USDC is initial margin.
    quantums = int(40_000 / market.oracle_price * 10**10) // 10**6 * 10**6  # BTC: 1e-10, step 1e6
    order = short_term(engine, BUY, quantums, on_tick(engine, "BTC-USD", 500))
    assert engine.place_order(order).code == 0
    assert engine.state.subaccounts[(ALICE, 0)].positions["BTC-USD"].quantums == quantums

    result = engine.execute_sending(_transfer(ALICE, 0, BOB, 0, 900 * USDC), "03", apply=True)

    assert (result.code, result.codespace) == (102, "subaccounts")
    assert "NewlyUndercollateralized" in result.log
    assert (BOB, 0) not in engine.state.subaccounts


def test_transfer_when_to_another_owner_then_both_typed_relative_to_themselves() -> None:
    engine = _funded(ALICE, 100)

    result = engine.execute_sending(_transfer(ALICE, 0, BOB, 3, 30 * USDC), "04", apply=True)

    assert result.code == 0
    transfer = engine.sending.transfers.transfers[-1]
    assert transfer.type_for(ALICE, 0) == "TRANSFER_OUT"
    assert transfer.type_for(BOB, 3) == "TRANSFER_IN"
    assert engine.state.subaccounts[(BOB, 3)].usdc == 30 * USDC


def test_deposit_when_wallet_short_then_insufficient_funds() -> None:
    engine = _funded()
    engine.mint(ALICE_WALLET, USDC_DENOM, 5 * USDC)
    message = MsgDepositToSubaccount(
        sender=ALICE_WALLET,
        recipient=SubaccountId(owner=ALICE_WALLET, number=0),
        asset_id=0,
        quantums=6 * USDC,
    )

    result = engine.execute_sending(message, "05", apply=True)

    assert (result.code, result.codespace) == (5, "sdk")
    assert "spendable balance 5000000" in result.log


def test_bank_send_when_to_a_module_account_then_unauthorized() -> None:
    engine = _funded()
    engine.fill_native(ALICE_WALLET, 100)
    message = MsgSend(
        from_address=ALICE_WALLET,
        to_address=FEE_COLLECTOR,
        amount=[Coin(denom=NATIVE_DENOM, amount="1")],
    )

    result = engine.execute_sending(message, "06", apply=True)

    assert (result.code, result.codespace) == (4, "sdk")
    assert engine.sending.bank.balance(ALICE_WALLET, NATIVE_DENOM) == 100


def test_validate_basic_when_fields_wrong_then_the_chains_errors() -> None:
    same = _transfer(ALICE_WALLET, 0, ALICE_WALLET, 0, 1)
    zero = _withdraw(ALICE_WALLET, 0, 0)
    too_high = _withdraw(ALICE_WALLET, 128_001, 1)
    other_asset = _withdraw(ALICE_WALLET, 0, 1)
    other_asset.asset_id = 1
    bad_recipient = _withdraw(ALICE_WALLET, 0, 1, to="dydx1nope")
    unsorted = MsgSend(
        from_address=ALICE_WALLET,
        to_address=BOB_WALLET,
        amount=[Coin(denom="zzz", amount="1"), Coin(denom="aaa", amount="1")],
    )

    codes = [
        (r.codespace, r.code)
        for r in map(validate_basic, (same, zero, too_high, other_asset, bad_recipient, unsorted))
        if r is not None
    ]

    assert codes == [
        ("sending", 1),
        ("sending", 2),
        ("subaccounts", 200),
        ("sending", 1101),
        ("sending", 6),
        ("sdk", 10),
    ]
