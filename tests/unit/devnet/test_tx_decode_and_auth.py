"""Transaction decoding, signature checks and auth addresses of the devnet node."""

from __future__ import annotations

import pytest
from dydx_v4_client.key_pair import KeyPair
from dydx_v4_client.node.builder import Builder
from dydx_v4_client.wallet import Wallet
from hypothesis import given, settings
from hypothesis import strategies as st
from v4_proto.dydxprotocol.clob.order_pb2 import Order, OrderId
from v4_proto.dydxprotocol.clob.tx_pb2 import MsgCancelOrder, MsgPlaceOrder
from v4_proto.dydxprotocol.subaccounts.subaccount_pb2 import SubaccountId

from dydx_devnet.auth import AccountRegistry, address_from_public_key, is_valid_address
from dydx_devnet.demo import DEMO_ADDRESS, DEMO_ADDRESS_2, DEMO_MNEMONIC, DEMO_MNEMONIC_2
from dydx_devnet.tx import TxRejected, decode, skips_sequence, tx_hash, verify_signature

CHAIN_ID = "dydx-devnet-1"


def signed_place_order(
    mnemonic: str, owner: str, account_number: int = 7, flags: int = 0, chain_id: str = CHAIN_ID
) -> bytes:
    wallet = Wallet(KeyPair.from_mnemonic(mnemonic), account_number, 3)
    order = Order(
        order_id=OrderId(
            subaccount_id=SubaccountId(owner=owner, number=0),
            client_id=1,
            order_flags=flags,
            clob_pair_id=0,
        ),
        side=Order.Side.SIDE_BUY,
        quantums=1_000_000,
        subticks=100_000,
        good_til_block=10,
    )
    tx = Builder(chain_id, "usdc").build(wallet, MsgPlaceOrder(order=order))
    return bytes(tx.SerializeToString())


@pytest.mark.parametrize(
    ("mnemonic", "address"), [(DEMO_MNEMONIC, DEMO_ADDRESS), (DEMO_MNEMONIC_2, DEMO_ADDRESS_2)]
)
def test_address_from_public_key_when_demo_key_then_matches_official_wallet(
    mnemonic: str, address: str
) -> None:
    wallet = Wallet(KeyPair.from_mnemonic(mnemonic), 0, 0)

    assert address_from_public_key(wallet.key.public_key_bytes) == wallet.address == address


@pytest.mark.parametrize(
    "text",
    [
        DEMO_ADDRESS[:-1] + ("q" if DEMO_ADDRESS[-1] != "q" else "p"),  # checksum broken
        "cosmos1xx4evg0695an5nvhnmuw9wp3umwdpsguyxzhmp",
        "dydx1",
        "",
        "dydx1" + "q" * 100,
        "DYDX1XX4EVG0695AN5NVHNMUW9WP3UMWDPSGUYXZHMP!",
    ],
)
def test_is_valid_address_when_malformed_then_false(text: str) -> None:
    assert not is_valid_address(text)


def test_is_valid_address_when_demo_address_then_true() -> None:
    assert is_valid_address(DEMO_ADDRESS)


def test_decode_when_signed_by_official_builder_then_signature_verifies_only_for_its_doc() -> None:
    tx = decode(signed_place_order(DEMO_MNEMONIC, DEMO_ADDRESS))

    assert tx.signer == DEMO_ADDRESS
    assert tx.sequence == 3
    assert verify_signature(tx, CHAIN_ID, 7)
    assert not verify_signature(tx, CHAIN_ID, 8)  # wrong account number
    assert not verify_signature(tx, "dydx-mainnet-1", 7)  # wrong chain


def test_tx_hash_when_bytes_then_upper_hex_sha256() -> None:
    assert tx_hash(b"") == "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"


def test_skips_sequence_when_short_term_then_true_and_when_long_term_then_false() -> None:
    short = decode(signed_place_order(DEMO_MNEMONIC, DEMO_ADDRESS, flags=0))
    long_term = decode(signed_place_order(DEMO_MNEMONIC, DEMO_ADDRESS, flags=64))
    stateful_cancel = MsgCancelOrder(order_id=OrderId(order_flags=64), good_til_block_time=5)

    assert skips_sequence(short.messages)
    assert not skips_sequence(long_term.messages)
    assert not skips_sequence((stateful_cancel,))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_decode_when_arbitrary_bytes_then_decoded_or_sdk_rejection_never_crash(
    data: bytes,
) -> None:
    try:
        decode(data)
    except TxRejected as rejected:
        assert rejected.result.codespace == "sdk"
        assert rejected.result.code in (2, 4, 6, 8, 15, 18)


_SIGNED = signed_place_order(DEMO_MNEMONIC, DEMO_ADDRESS)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=400), st.integers(min_value=0, max_value=255))
def test_decode_when_one_byte_of_a_real_tx_flipped_then_never_crash(
    position: int, value: int
) -> None:
    data = bytearray(_SIGNED)
    data[position % len(data)] = value
    try:
        tx = decode(bytes(data))
    except TxRejected as rejected:
        assert rejected.result.codespace == "sdk"
    else:
        # Either still the same valid transaction or one whose signature fails.
        assert isinstance(verify_signature(tx, CHAIN_ID, 7), bool)


def test_registry_when_sequence_bumped_then_committed_only_after_the_block() -> None:
    registry = AccountRegistry()
    first = registry.ensure(DEMO_ADDRESS)
    second = registry.ensure(DEMO_ADDRESS_2)
    assert registry.ensure(DEMO_ADDRESS) is first
    assert second.account_number == first.account_number + 1

    registry.increment_sequence(DEMO_ADDRESS, height=10)

    assert registry.expected_sequence(DEMO_ADDRESS) == 1
    assert registry.snapshot(DEMO_ADDRESS, height=10) == (first.account_number, 0)
    assert registry.snapshot(DEMO_ADDRESS, height=11) == (first.account_number, 1)
    assert registry.snapshot("dydx1unknown", height=11) is None
