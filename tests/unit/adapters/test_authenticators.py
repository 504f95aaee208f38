"""Permissioned keys on the trader's side: decoding, what a tree permits, the bot tree."""

from __future__ import annotations

import json

import pytest
from dydx_v4_client.key_pair import KeyPair
from dydx_v4_client.node.authenticators import Authenticator, AuthenticatorType
from dydx_v4_client.node.message import add_authenticator

from dydx_trader.adapters.dydx.authenticators import (
    CANCEL_ORDER,
    ORDER_MESSAGES,
    PLACE_ORDER,
    AuthenticatorNode,
    Kind,
    Use,
    allowed_clob_pairs,
    bot_authenticator,
    bot_key_problem,
    decode_authenticator,
    describe,
    permits,
)
from dydx_trader.domain.errors import MalformedPayload

OWNER = "dydx1xx4evg0695an5nvhnmuw9wp3umwdpsguyxzhmp"
BOT = KeyPair.from_hex("11" * 32).public_key_bytes
OTHER = KeyPair.from_hex("22" * 32).public_key_bytes


def on_chain(authenticator: Authenticator) -> AuthenticatorNode:
    """The tree as the chain stores it: the data the official client sends."""
    sent = add_authenticator(OWNER, authenticator.type, authenticator.config)
    return decode_authenticator(str(sent.authenticator_type), bytes(sent.data))


def test_decode_when_bot_tree_sent_by_the_official_client_then_the_same_tree() -> None:
    tree = on_chain(bot_authenticator(BOT, 3, [1, 0]))

    assert tree == AuthenticatorNode(
        Kind.ALL_OF,
        children=(
            AuthenticatorNode(Kind.SIGNATURE_VERIFICATION, public_key=BOT),
            AuthenticatorNode(
                Kind.ANY_OF,
                children=tuple(
                    AuthenticatorNode(Kind.MESSAGE_FILTER, message_types=frozenset({m}))
                    for m in ORDER_MESSAGES
                ),
            ),
            AuthenticatorNode(Kind.SUBACCOUNT_FILTER, numbers=frozenset({3})),
            AuthenticatorNode(Kind.CLOB_PAIR_ID_FILTER, numbers=frozenset({0, 1})),
        ),
    )


@pytest.mark.parametrize(
    ("kind", "config"),
    [
        ("Mystery", b""),
        ("SignatureVerification", b"\x02" * 10),
        ("SubaccountFilter", b"one"),
        ("ClobPairIdFilter", b"1,,2"),
        ("AllOf", b"not json"),
        ("AllOf", b'{"type": "AllOf"}'),
        ("AnyOf", json.dumps([{"type": "MessageFilter", "config": "bm9"}]).encode()),
        ("AnyOf", json.dumps([{"type": "MessageFilter", "config": "bm90aGluZw=="}]).encode()),
        ("AllOf", json.dumps([{"config": "bm90aGluZw=="}, {"type": "X"}]).encode()),
        ("MessageFilter", b"\xff\xfe"),
    ],
)
def test_decode_when_malformed_then_malformed_payload_never_a_crash(
    kind: str, config: bytes
) -> None:
    with pytest.raises(MalformedPayload):
        decode_authenticator(kind, config)


def test_bot_key_problem_when_tree_fits_then_none_and_every_market_allowed() -> None:
    tree = on_chain(bot_authenticator(BOT, 0))

    assert bot_key_problem(tree, public_key=BOT, subaccount_number=0) is None
    assert allowed_clob_pairs(tree, BOT) is None


@pytest.mark.parametrize(
    ("authenticator", "subaccount", "problem"),
    [
        (bot_authenticator(OTHER, 0), 0, "does not accept this bot key"),
        (bot_authenticator(BOT, 1), 0, "does not cover subaccount 0"),
        (
            Authenticator.compose(
                AuthenticatorType.AllOf,
                [
                    Authenticator.signature_verification(BOT),
                    Authenticator.message_filter(PLACE_ORDER),
                ],
            ),
            0,
            "does not allow MsgCancelOrder",
        ),
        (
            Authenticator.compose(
                AuthenticatorType.AllOf,
                [
                    Authenticator.signature_verification(BOT),
                    Authenticator.clob_pair_id_filter([0]),
                    Authenticator.clob_pair_id_filter([1]),
                ],
            ),
            0,
            "allows no market at all",
        ),
    ],
)
def test_bot_key_problem_when_tree_lacks_something_then_names_it(
    authenticator: Authenticator, subaccount: int, problem: str
) -> None:
    tree = on_chain(authenticator)

    assert problem in str(bot_key_problem(tree, public_key=BOT, subaccount_number=subaccount))


def test_permits_when_any_of_two_keys_then_either_key_but_only_its_messages() -> None:
    tree = on_chain(
        Authenticator.compose(
            AuthenticatorType.AnyOf,
            [
                bot_authenticator(BOT, 0, [0]),
                Authenticator.compose(
                    AuthenticatorType.AllOf,
                    [
                        Authenticator.signature_verification(OTHER),
                        Authenticator.message_filter(CANCEL_ORDER),
                    ],
                ),
            ],
        )
    )

    assert permits(tree, Use(PLACE_ORDER, BOT, 0, 0))
    assert not permits(tree, Use(PLACE_ORDER, BOT, 0, 1))
    assert permits(tree, Use(CANCEL_ORDER, OTHER, 7, 9))
    assert not permits(tree, Use(PLACE_ORDER, OTHER, 0, 0))
    assert not permits(tree, Use("/dydxprotocol.sending.MsgWithdrawFromSubaccount", BOT))
    assert allowed_clob_pairs(tree, BOT) == frozenset({0})


def test_describe_when_nodes_then_one_readable_line_each() -> None:
    tree = on_chain(bot_authenticator(BOT, 2, [1]))

    lines = [describe(tree, markets={1: "ETH-USD"}, public_key=BOT)] + [
        describe(child, markets={1: "ETH-USD"}, public_key=BOT) for child in tree.children
    ]

    assert lines == [
        "AllOf",
        f"SignatureVerification key {BOT.hex()} (this bot key)",
        "AnyOf",
        "SubaccountFilter subaccounts 2",
        "ClobPairIdFilter markets 1 (ETH-USD)",
    ]
    assert describe(tree.children[1].children[0]) == f"MessageFilter {PLACE_ORDER}"
