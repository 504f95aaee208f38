"""Permissioned keys: an account's authenticators, decoded, checked and composed.

dYdX's ``x/accountplus`` lets an account owner add an *authenticator*: a tree
that accepts transactions signed by another key for chosen messages only. The
bot key of dydx-trader trades under

    AllOf(SignatureVerification(bot public key),
          AnyOf(MessageFilter(place), MessageFilter(cancel), MessageFilter(batch cancel)),
          SubaccountFilter(n)[, ClobPairIdFilter(markets)])

so a leaked bot key can place and cancel orders on that subaccount, and never
transfer, withdraw or trade another subaccount.

This module is pure (no I/O): :func:`decode_authenticator` reads the chain's
``(type, config)`` into an :class:`AuthenticatorNode` tree (composite configs
are JSON lists whose sub-configs are base64, as the official client sends
them); :func:`permits` answers, as the chain would, whether a tree accepts one
message; :func:`bot_key_problem` says in one phrase what a tree lacks for the
trader; :func:`bot_authenticator` builds the tree above with the official
client's ``Authenticator``.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from dydx_v4_client.node.authenticators import Authenticator, AuthenticatorType

from dydx_trader.domain.errors import MalformedPayload

PLACE_ORDER = "/dydxprotocol.clob.MsgPlaceOrder"
CANCEL_ORDER = "/dydxprotocol.clob.MsgCancelOrder"
BATCH_CANCEL = "/dydxprotocol.clob.MsgBatchCancel"
# What the bot key is given; the stateful variants are the same messages with other flags.
ORDER_MESSAGES = (PLACE_ORDER, CANCEL_ORDER, BATCH_CANCEL)
# What the trader needs: it places orders and cancels them.
REQUIRED_MESSAGES = (PLACE_ORDER, CANCEL_ORDER)
PUBLIC_KEY_SIZE = 33  # compressed secp256k1


class Kind(StrEnum):
    """The authenticator types the chain registers (v9.6.1)."""

    ALL_OF = "AllOf"
    ANY_OF = "AnyOf"
    SIGNATURE_VERIFICATION = "SignatureVerification"
    MESSAGE_FILTER = "MessageFilter"
    SUBACCOUNT_FILTER = "SubaccountFilter"
    CLOB_PAIR_ID_FILTER = "ClobPairIdFilter"


@dataclass(frozen=True, slots=True)
class AuthenticatorNode:
    """One node of an authenticator tree.

    ``public_key`` (33 bytes) for SignatureVerification; ``message_types`` for a
    MessageFilter; ``numbers`` (subaccount numbers or clob pair ids) for the
    two number filters; ``children`` for AllOf/AnyOf.
    """

    kind: Kind
    public_key: bytes = b""
    message_types: frozenset[str] = frozenset()
    numbers: frozenset[int] = frozenset()
    children: tuple[AuthenticatorNode, ...] = ()


@dataclass(frozen=True, slots=True)
class AccountAuthenticator:
    """An authenticator on the chain: its id and its decoded tree."""

    id: int
    tree: AuthenticatorNode


def decode_authenticator(kind: str, config: bytes) -> AuthenticatorNode:
    """The tree the chain stores as ``(type, config)``; raise :class:`MalformedPayload`."""
    try:
        node_kind = Kind(kind)
    except ValueError:
        raise MalformedPayload(f"unknown authenticator type {kind[:40]!r}", field="type") from None
    if node_kind is Kind.SIGNATURE_VERIFICATION:
        if len(config) != PUBLIC_KEY_SIZE:
            raise MalformedPayload(
                f"a SignatureVerification key has {len(config)} bytes, not {PUBLIC_KEY_SIZE}",
                field="config",
            )
        return AuthenticatorNode(node_kind, public_key=bytes(config))
    text = _text(config)
    if node_kind is Kind.MESSAGE_FILTER:
        return AuthenticatorNode(node_kind, message_types=frozenset(text.split(",")))
    if node_kind in (Kind.SUBACCOUNT_FILTER, Kind.CLOB_PAIR_ID_FILTER):
        return AuthenticatorNode(node_kind, numbers=frozenset(_uint32(t) for t in text.split(",")))
    children = tuple(decode_authenticator(k, c) for k, c in _sub_configs(text))
    if len(children) < 2:
        raise MalformedPayload(f"{kind} needs at least two sub-authenticators", field="config")
    return AuthenticatorNode(node_kind, children=children)


def _text(config: bytes) -> str:
    try:
        return config.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedPayload("authenticator config is not UTF-8 text", field="config") from None


def _uint32(text: str) -> int:
    if not text.isascii() or not text.isdigit() or int(text) >= 2**32:
        raise MalformedPayload(f"{text[:20]!r} is not a number list entry", field="config")
    return int(text)


def _sub_configs(text: str) -> list[tuple[str, bytes]]:
    try:
        items = json.loads(text)
    except ValueError:
        raise MalformedPayload(
            "composite authenticator config is not JSON", field="config"
        ) from None
    if not isinstance(items, list):
        raise MalformedPayload("composite authenticator config is not a list", field="config")
    subs = []
    for item in items:
        fields = {str(k).lower(): v for k, v in item.items()} if isinstance(item, dict) else {}
        kind, config = fields.get("type"), fields.get("config")
        if not isinstance(kind, str):
            raise MalformedPayload("a sub-authenticator has no type", field="config")
        subs.append((kind, _config_bytes(config)))
    return subs


def _config_bytes(config: object) -> bytes:
    # Go's []byte: base64 text, or (as Go also accepts) a list of byte values.
    if isinstance(config, str):
        try:
            return base64.b64decode(config, validate=True)
        except (binascii.Error, ValueError):
            raise MalformedPayload(
                "a sub-authenticator config is not base64", field="config"
            ) from None
    if isinstance(config, list) and all(isinstance(b, int) and 0 <= b <= 255 for b in config):
        return bytes(config)
    raise MalformedPayload("a sub-authenticator config is not bytes", field="config")


@dataclass(frozen=True, slots=True)
class Use:
    """One message of a transaction, as an authenticator sees it.

    ``subaccount_number``/``clob_pair_id`` are those of an order message; None
    lets every number filter pass (the chain's filters skip other messages, and
    the trader's check leaves markets to :func:`allowed_clob_pairs`).
    """

    message_type: str
    public_key: bytes
    subaccount_number: int | None = None
    clob_pair_id: int | None = None


def permits(node: AuthenticatorNode, use: Use) -> bool:
    """Whether the chain's ``Authenticate`` of ``node`` accepts ``use`` (signature
    assumed valid for the key it names)."""
    if node.kind is Kind.ALL_OF:
        return all(permits(child, use) for child in node.children)
    if node.kind is Kind.ANY_OF:
        return any(permits(child, use) for child in node.children)
    if node.kind is Kind.SIGNATURE_VERIFICATION:
        return node.public_key == use.public_key
    if node.kind is Kind.MESSAGE_FILTER:
        return use.message_type in node.message_types
    if node.kind is Kind.SUBACCOUNT_FILTER:
        return use.subaccount_number is None or use.subaccount_number in node.numbers
    return use.clob_pair_id is None or use.clob_pair_id in node.numbers


def bot_key_problem(
    node: AuthenticatorNode, *, public_key: bytes, subaccount_number: int
) -> str | None:
    """What ``node`` lacks for the trader signing with ``public_key`` on
    ``subaccount_number``, as a phrase; None when it allows everything needed."""
    if not permits(node, Use(PLACE_ORDER, public_key)):
        if not any(n.public_key == public_key for n in _leaves(node)):
            return "does not accept this bot key (its SignatureVerification names another key)"
    for message_type in REQUIRED_MESSAGES:
        if not permits(node, Use(message_type, public_key)):
            return f"does not allow {message_type.rsplit('.', 1)[-1]} for this key"
        if not permits(node, Use(message_type, public_key, subaccount_number)):
            return f"does not cover subaccount {subaccount_number}"
    if allowed_clob_pairs(node, public_key) == frozenset():
        return "allows no market at all"
    return None


def allowed_clob_pairs(node: AuthenticatorNode, public_key: bytes) -> frozenset[int] | None:
    """The clob pair ids ``node`` lets this key place orders on; None = every market."""
    candidates: set[int] = set()
    for leaf in _leaves(node):
        if leaf.kind is Kind.CLOB_PAIR_ID_FILTER:
            candidates |= leaf.numbers
    if not candidates:
        return None
    unknown = max(candidates) + 1  # a pair no filter names stands for "any other market"
    if permits(node, Use(PLACE_ORDER, public_key, clob_pair_id=unknown)):
        return None
    return frozenset(
        pair
        for pair in candidates
        if permits(node, Use(PLACE_ORDER, public_key, clob_pair_id=pair))
    )


def _leaves(node: AuthenticatorNode) -> Iterable[AuthenticatorNode]:
    if node.children:
        for child in node.children:
            yield from _leaves(child)
    else:
        yield node


def bot_authenticator(
    public_key: bytes, subaccount_number: int, clob_pair_ids: Iterable[int] = ()
) -> Authenticator:
    """The official client's ``Authenticator`` for a bot key (see the module doc)."""
    subs = [
        Authenticator.signature_verification(public_key),
        Authenticator.compose(
            AuthenticatorType.AnyOf, [Authenticator.message_filter(m) for m in ORDER_MESSAGES]
        ),
        Authenticator.subaccount_filter([subaccount_number]),
    ]
    pairs = sorted(set(clob_pair_ids))
    if pairs:
        subs.append(Authenticator.clob_pair_id_filter(pairs))
    return Authenticator.compose(AuthenticatorType.AllOf, subs)


def describe(
    node: AuthenticatorNode,
    *,
    markets: Mapping[int, str] | None = None,
    public_key: bytes | None = None,
) -> str:
    """One line for one node (``keys list`` draws the tree from these)."""
    if node.kind is Kind.SIGNATURE_VERIFICATION:
        mine = " (this bot key)" if public_key is not None and node.public_key == public_key else ""
        return f"SignatureVerification key {node.public_key.hex()}{mine}"
    if node.kind is Kind.MESSAGE_FILTER:
        return "MessageFilter " + ", ".join(sorted(node.message_types))
    if node.kind is Kind.SUBACCOUNT_FILTER:
        return "SubaccountFilter subaccounts " + ", ".join(map(str, sorted(node.numbers)))
    if node.kind is Kind.CLOB_PAIR_ID_FILTER:
        names = markets or {}
        pairs = (f"{p} ({names[p]})" if p in names else str(p) for p in sorted(node.numbers))
        return "ClobPairIdFilter markets " + ", ".join(pairs)
    return node.kind.value
