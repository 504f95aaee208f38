"""The devnet's ``x/accountplus``: authenticator configs, adds and removes, timestamp nonces."""

from __future__ import annotations

import base64
import json

import pytest
from dydx_v4_client.key_pair import KeyPair
from dydx_v4_client.node.authenticators import Authenticator, AuthenticatorType
from dydx_v4_client.node.message import add_authenticator
from v4_proto.dydxprotocol.accountplus.tx_pb2 import MsgAddAuthenticator, MsgRemoveAuthenticator
from v4_proto.dydxprotocol.clob.order_pb2 import Order, OrderId
from v4_proto.dydxprotocol.clob.tx_pb2 import MsgPlaceOrder
from v4_proto.dydxprotocol.sending.transfer_pb2 import MsgWithdrawFromSubaccount
from v4_proto.dydxprotocol.subaccounts.subaccount_pb2 import SubaccountId

from dydx_devnet.accountplus import TIMESTAMP_NONCE_CUTOFF, AccountPlus
from dydx_devnet.authenticator_types import (
    AllOf,
    AnyOf,
    ChainError,
    ClobPairIdFilter,
    MessageFilter,
    Request,
    SignatureVerification,
    SubaccountFilter,
    initialize,
    on_added,
    sub_authenticators,
)
from dydx_devnet.demo import DEMO_ADDRESS, DEMO_BOT_MNEMONIC

BOT_KEY = KeyPair.from_mnemonic(DEMO_BOT_MNEMONIC)
PLACE = "/dydxprotocol.clob.MsgPlaceOrder"
CANCEL = "/dydxprotocol.clob.MsgCancelOrder"
BLOCK_MS = 1_767_614_400_000  # 2026-01-05 12:00 UTC


def client_add(authenticator: Authenticator) -> MsgAddAuthenticator:
    """The message exactly as the official client builds it (nested configs in base64)."""
    message: MsgAddAuthenticator = add_authenticator(
        DEMO_ADDRESS, authenticator.type, authenticator.config
    )
    return message


def bot_tree(*, pairs: list[int] | None = None) -> Authenticator:
    subs = [
        Authenticator.signature_verification(BOT_KEY.public_key_bytes),
        Authenticator.compose(
            AuthenticatorType.AnyOf,
            [Authenticator.message_filter(PLACE), Authenticator.message_filter(CANCEL)],
        ),
        Authenticator.subaccount_filter([0]),
    ]
    if pairs is not None:
        subs.append(Authenticator.clob_pair_id_filter(pairs))
    return Authenticator.compose(AuthenticatorType.AllOf, subs)


def place(subaccount: int = 0, clob_pair: int = 0) -> MsgPlaceOrder:
    order_id = OrderId(
        subaccount_id=SubaccountId(owner=DEMO_ADDRESS, number=subaccount),
        client_id=1,
        clob_pair_id=clob_pair,
    )
    return MsgPlaceOrder(order=Order(order_id=order_id))


def request(message: object, type_url: str, *, sign: bytes = b"doc") -> Request:
    signature = BOT_KEY.sign(sign)
    return Request(message, type_url, b"doc", signature, 7, 3, "dydx-devnet-1", "0")  # type: ignore[arg-type]


def test_sub_authenticators_when_client_composed_config_then_nested_base64_decoded() -> None:
    message = client_add(bot_tree())

    subs = sub_authenticators(bytes(message.data))

    assert [kind for kind, _ in subs] == ["SignatureVerification", "AnyOf", "SubaccountFilter"]
    assert subs[0][1] == BOT_KEY.public_key_bytes
    assert [kind for kind, _ in sub_authenticators(subs[1][1])] == ["MessageFilter"] * 2
    assert subs[2][1] == b"0"


def test_sub_authenticators_when_config_is_a_byte_list_then_read_as_go_does() -> None:
    data = json.dumps([{"Type": "MessageFilter", "config": list(PLACE.encode())}]).encode()

    assert sub_authenticators(data) == [("MessageFilter", PLACE.encode())]


@pytest.mark.parametrize(
    "data",
    [b"{}", b"not json", b'[{"type": 5}]', b'[{"type": "AllOf", "config": "%%%"}]', b"\xff"],
)
def test_sub_authenticators_when_malformed_then_chain_error_never_crash(data: bytes) -> None:
    with pytest.raises(ChainError) as raised:
        sub_authenticators(data)

    assert (raised.value.codespace, raised.value.code) == ("undefined", 1)


def test_on_added_when_all_of_holds_a_signature_then_safe_and_any_of_needs_one_on_every_path() -> (
    None
):
    all_of = client_add(bot_tree())
    any_of = client_add(
        Authenticator.compose(
            AuthenticatorType.AnyOf,
            [
                Authenticator.signature_verification(BOT_KEY.public_key_bytes),
                Authenticator.message_filter(PLACE),
            ],
        )
    )

    assert on_added("AllOf", bytes(all_of.data), "0")
    assert not on_added("AnyOf", bytes(any_of.data), "1")
    assert not on_added("MessageFilter", PLACE.encode(), "2")


@pytest.mark.parametrize(
    ("kind", "config", "codespace", "code", "text"),
    [
        ("SignatureVerification", b"\x02" * 32, "undefined", 1, "expected 33, got 32"),
        (
            "AllOf",
            json.dumps([{"type": "SignatureVerification", "config": ""}]).encode(),
            "sdk",
            18,
            "no sub-authenticators provided",
        ),
        (
            "AllOf",
            json.dumps([{"type": "Nope", "config": ""}, {"type": "Nope", "config": ""}]).encode(),
            "sdk",
            18,
            "not registered",
        ),
    ],
)
def test_on_added_when_config_invalid_then_the_chains_error(
    kind: str, config: bytes, codespace: str, code: int, text: str
) -> None:
    with pytest.raises(ChainError) as raised:
        on_added(kind, config, "0")

    assert (raised.value.codespace, raised.value.code) == (codespace, code)
    assert text in raised.value.text


def test_initialize_when_client_tree_then_the_composed_authenticators() -> None:
    tree = initialize("AllOf", bytes(client_add(bot_tree(pairs=[0, 1])).data))

    assert tree == AllOf(
        (
            SignatureVerification(BOT_KEY.public_key_bytes),
            AnyOf((MessageFilter(frozenset({PLACE})), MessageFilter(frozenset({CANCEL})))),
            SubaccountFilter(frozenset({0})),
            ClobPairIdFilter(frozenset({0, 1})),
        )
    )


def test_authenticate_when_bot_signs_an_order_in_its_filters_then_accepted() -> None:
    tree = initialize("AllOf", bytes(client_add(bot_tree(pairs=[0])).data))

    tree.authenticate(request(place(), PLACE))


@pytest.mark.parametrize(
    ("message", "type_url", "sign", "inner"),
    [
        (place(), PLACE, b"other doc", "Signature verification failed"),
        (place(subaccount=2), PLACE, b"doc", "subaccount number 2 not in whitelist map[0:{}]"),
        (place(clob_pair=3), PLACE, b"doc", "order id 3 not in whitelist map[0:{}]"),
        (
            MsgWithdrawFromSubaccount(sender=SubaccountId(owner=DEMO_ADDRESS)),
            "/dydxprotocol.sending.MsgWithdrawFromSubaccount",
            b"doc",
            "[MessageFilter (id = 0.1.1)] message types do not match",
        ),
    ],
)
def test_authenticate_when_outside_the_tree_then_all_of_refusal_naming_the_cause(
    message: object, type_url: str, sign: bytes, inner: str
) -> None:
    tree = initialize("AllOf", bytes(client_add(bot_tree(pairs=[0])).data))

    with pytest.raises(ChainError) as raised:
        tree.authenticate(request(message, type_url, sign=sign))

    assert (raised.value.codespace, raised.value.code) == ("dydxaccountplus", 104)
    assert inner in raised.value.text
    assert raised.value.text.endswith(": AllOf verification failed")


def test_filters_when_message_is_not_an_order_then_they_let_it_through() -> None:
    withdrawal = MsgWithdrawFromSubaccount(sender=SubaccountId(owner=DEMO_ADDRESS, number=9))
    url = "/dydxprotocol.sending.MsgWithdrawFromSubaccount"

    SubaccountFilter(frozenset({0})).authenticate(request(withdrawal, url))
    ClobPairIdFilter(frozenset({0})).authenticate(request(withdrawal, url))


def test_add_when_filter_could_never_initialize_then_devnet_refuses_it_up_front() -> None:
    store = AccountPlus()
    tree = Authenticator.compose(
        AuthenticatorType.AllOf,
        [
            Authenticator.signature_verification(BOT_KEY.public_key_bytes),
            Authenticator(AuthenticatorType.SubaccountFilter, b"zero"),
        ],
    )

    with pytest.raises(ChainError) as raised:
        store.execute(client_add(tree), height=5, apply=True)

    assert (raised.value.codespace, raised.value.code) == ("dydxaccountplus", 5)
    assert store.authenticators(DEMO_ADDRESS, 100) == []


def test_add_when_applied_then_in_force_from_the_next_block_with_global_ids() -> None:
    store = AccountPlus()

    store.execute(client_add(bot_tree()), height=5, apply=True)
    store.execute(client_add(bot_tree()), height=5, apply=False)  # a simulation changes nothing

    assert store.authenticators(DEMO_ADDRESS, 5) == []
    assert [a.id for a in store.authenticators(DEMO_ADDRESS, 6)] == [0]


def test_authenticators_when_ten_or_more_then_listed_in_the_chains_store_order() -> None:
    store = AccountPlus()
    for _ in range(12):
        store.execute(client_add(bot_tree()), height=1, apply=True)

    ids = [a.id for a in store.authenticators(DEMO_ADDRESS, 2)]

    assert ids == [0, 1, 10, 11, 2, 3, 4, 5, 6, 7, 8, 9]


def test_remove_when_unknown_or_already_removed_then_authenticator_not_found() -> None:
    store = AccountPlus()
    store.execute(client_add(bot_tree()), height=1, apply=True)
    remove = MsgRemoveAuthenticator(sender=DEMO_ADDRESS, id=0)
    store.execute(remove, height=3, apply=True)

    for message in (remove, MsgRemoveAuthenticator(sender=DEMO_ADDRESS, id=9)):
        with pytest.raises(ChainError) as raised:
            store.execute(message, height=3, apply=True)
        assert (raised.value.codespace, raised.value.code) == ("dydxaccountplus", 1)
    assert [a.id for a in store.authenticators(DEMO_ADDRESS, 3)] == [0]  # until the block
    assert store.authenticators(DEMO_ADDRESS, 4) == []


@pytest.mark.parametrize(
    ("message", "code"),
    [
        (MsgAddAuthenticator(sender="dydx1nope", authenticator_type="AllOf", data=b"[]"), 2),
        (MsgAddAuthenticator(sender=DEMO_ADDRESS, authenticator_type="AllOf", data=b" " * 1025), 3),
    ],
)
def test_validate_basic_when_sender_or_size_wrong_then_the_chains_code(
    message: MsgAddAuthenticator, code: int
) -> None:
    with pytest.raises(ChainError) as raised:
        AccountPlus().validate_basic(message)

    assert (raised.value.codespace, raised.value.code) == ("dydxaccountplus", code)


def nonce_refusal(store: AccountPlus, nonce: int) -> str:
    with pytest.raises(ChainError) as raised:
        store.check_timestamp_nonce(DEMO_ADDRESS, nonce, BLOCK_MS, commit=True)
    assert (raised.value.codespace, raised.value.code) == ("sdk", 32)
    return raised.value.text


def test_timestamp_nonce_when_outside_thirty_seconds_then_refused() -> None:
    store = AccountPlus()

    assert "not within valid time window" in nonce_refusal(store, BLOCK_MS + 30_001)
    assert "not within valid time window" in nonce_refusal(store, BLOCK_MS - 30_001)
    assert store.nonce_state(DEMO_ADDRESS) is None


def test_timestamp_nonce_when_reused_then_refused_and_when_checked_only_then_not_kept() -> None:
    store = AccountPlus()
    store.check_timestamp_nonce(DEMO_ADDRESS, BLOCK_MS + 1, BLOCK_MS, commit=False)
    store.check_timestamp_nonce(DEMO_ADDRESS, BLOCK_MS, BLOCK_MS, commit=True)

    assert "rejected" in nonce_refusal(store, BLOCK_MS)
    state = store.nonce_state(DEMO_ADDRESS)
    assert state is not None and state.nonces == [BLOCK_MS]
    assert state.max_ejected == TIMESTAMP_NONCE_CUTOFF


def test_timestamp_nonce_when_twenty_kept_then_a_larger_one_ejects_the_smallest() -> None:
    store = AccountPlus()
    for offset in range(20):
        store.check_timestamp_nonce(DEMO_ADDRESS, BLOCK_MS + offset, BLOCK_MS, commit=True)

    assert "rejected" in nonce_refusal(store, BLOCK_MS - 1)  # smaller than every kept one
    store.check_timestamp_nonce(DEMO_ADDRESS, BLOCK_MS + 100, BLOCK_MS, commit=True)

    state = store.nonce_state(DEMO_ADDRESS)
    assert state is not None and state.max_ejected == BLOCK_MS
    assert "rejected" in nonce_refusal(store, BLOCK_MS)  # at or below the ejected maximum


def test_config_json_when_built_by_hand_then_same_tree_as_the_clients() -> None:
    hand = json.dumps(
        [
            {
                "type": "SignatureVerification",
                "config": base64.b64encode(BOT_KEY.public_key_bytes).decode(),
            },
            {"type": "MessageFilter", "config": base64.b64encode(PLACE.encode()).decode()},
        ]
    ).encode()

    tree = initialize("AllOf", hand)

    assert tree == AllOf(
        (SignatureVerification(BOT_KEY.public_key_bytes), MessageFilter(frozenset({PLACE})))
    )
