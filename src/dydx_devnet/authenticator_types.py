"""The six authenticator types of the chain's ``x/accountplus`` module.

A port of ``protocol/x/accountplus/authenticator`` (v4-chain ``protocol/v9.6.1``):
``SignatureVerification``, ``MessageFilter``, ``SubaccountFilter``,
``ClobPairIdFilter``, ``AllOf`` and ``AnyOf``. Each type has the chain's three
hooks that matter to a client:

* :func:`on_added`: the checks of ``MsgAddAuthenticator`` (composites need two
  or more registered sub-authenticators; a signature key is 33 bytes); it
  answers whether *every* path of the tree verifies a signature;
* :func:`initialize`: parse a stored config into an authenticator;
* ``authenticate``: accept one message of a transaction, or raise
  :class:`ChainError` with the chain's code and its wrapped log text.

Composite configs are the JSON the official client sends: a list of
``{"type": ..., "config": ...}`` whose ``config`` is base64 (Go's ``[]byte``;
a list of byte values is accepted too, as Go's decoder does).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any, Protocol

from coincurve import PublicKey
from coincurve.ecdsa import cdata_to_der, deserialize_compact
from google.protobuf.message import Message
from v4_proto.dydxprotocol.clob.tx_pb2 import MsgBatchCancel, MsgCancelOrder, MsgPlaceOrder

CODESPACE = "dydxaccountplus"
UNDEFINED = "undefined"  # what the SDK reports for an error no module registered

AUTHENTICATOR_NOT_FOUND = 1
INVALID_ACCOUNT_ADDRESS = 2
DATA_TOO_LONG = 3
INITIALIZING_AUTHENTICATOR = 5
SIGNATURE_VERIFICATION = 100
MESSAGE_TYPE_VERIFICATION = 101
CLOB_PAIR_ID_VERIFICATION = 102
SUBACCOUNT_VERIFICATION = 103
ALL_OF_VERIFICATION = 104
ANY_OF_VERIFICATION = 105

# x/accountplus/types/errors.go
REGISTERED = {
    AUTHENTICATOR_NOT_FOUND: "Authenticator is not found",
    INVALID_ACCOUNT_ADDRESS: "Invalid account address",
    DATA_TOO_LONG: "Authenticator data exceeds maximum length",
    4: "Smart account is not active",
    INITIALIZING_AUTHENTICATOR: "Error initializing authenticator",
    6: "The transaction has multiple signers",
    SIGNATURE_VERIFICATION: "Signature verification failed",
    MESSAGE_TYPE_VERIFICATION: "Message type verification failed",
    CLOB_PAIR_ID_VERIFICATION: "Clob pair id verification failed",
    SUBACCOUNT_VERIFICATION: "Subaccount verification failed",
    ALL_OF_VERIFICATION: "AllOf verification failed",
    ANY_OF_VERIFICATION: "AnyOf verification failed",
}

SECP256K1_PUBLIC_KEY_SIZE = 33


class ChainError(Exception):
    """A chain error: ``codespace``/``code`` of its root cause and the full log text."""

    def __init__(self, codespace: str, code: int, text: str) -> None:
        super().__init__(text)
        self.codespace = codespace
        self.code = code
        self.text = text

    def wrap(self, context: str) -> ChainError:
        """The SDK's ``errorsmod.Wrap``: same code, ``context: text``."""
        return ChainError(self.codespace, self.code, f"{context}: {self.text}")


def accountplus_error(code: int, detail: str = "") -> ChainError:
    """A registered ``dydxaccountplus`` error, wrapped around ``detail`` as the SDK does."""
    registered = REGISTERED[code]
    return ChainError(CODESPACE, code, f"{detail}: {registered}" if detail else registered)


def undefined_error(text: str) -> ChainError:
    """A Go ``fmt.Errorf``/``strconv`` error: no module registered it (code 1, "undefined")."""
    return ChainError(UNDEFINED, 1, text)


def verify_secp256k1(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """The chain's secp256k1 check: 64-byte low-S signature over sha256(message)."""
    if len(signature) != 64:
        return False
    try:
        der = cdata_to_der(deserialize_compact(signature))
        # libsecp256k1 refuses high-S signatures, as the chain does.
        return bool(PublicKey(public_key).verify(der, message))
    except (ValueError, TypeError):
        return False


@dataclass(frozen=True)
class Request:
    """What one message's authentication sees (the chain's ``AuthenticationRequest``).

    ``account_number``/``sequence`` are the owner account's, for the error text.
    """

    message: Message
    type_url: str
    sign_bytes: bytes
    signature: bytes
    account_number: int
    sequence: int
    chain_id: str
    authenticator_id: str


class Authenticator(Protocol):
    @property
    def type_name(self) -> str: ...

    def authenticate(self, request: Request) -> None: ...


def _go_set(values: frozenset[Any]) -> str:
    """How Go prints a ``map[T]struct{}`` whitelist: ``map[0:{} 1:{}]``."""
    return "map[" + " ".join(f"{value}:{{}}" for value in sorted(values)) + "]"


@dataclass(frozen=True)
class SignatureVerification:
    public_key: bytes
    type_name: str = "SignatureVerification"

    def authenticate(self, request: Request) -> None:
        if not verify_secp256k1(self.public_key, request.sign_bytes, request.signature):
            raise accountplus_error(
                SIGNATURE_VERIFICATION,
                "signature verification failed; please verify account number "
                f"({request.account_number}), sequence ({request.sequence}) and chain-id "
                f"({request.chain_id})",
            )


@dataclass(frozen=True)
class MessageFilter:
    whitelist: frozenset[str]
    type_name: str = "MessageFilter"

    def authenticate(self, request: Request) -> None:
        if request.type_url not in self.whitelist:
            raise accountplus_error(
                MESSAGE_TYPE_VERIFICATION,
                f"message types do not match. Got {request.type_url}, "
                f"Expected {_go_set(self.whitelist)}",
            )


def order_subaccounts_and_pairs(message: Message) -> tuple[list[int], list[int]] | None:
    """(subaccount numbers, clob pair ids) a CLOB message touches; None for other messages."""
    if isinstance(message, MsgPlaceOrder):
        order_id = message.order.order_id
        return [order_id.subaccount_id.number], [order_id.clob_pair_id]
    if isinstance(message, MsgCancelOrder):
        return [message.order_id.subaccount_id.number], [message.order_id.clob_pair_id]
    if isinstance(message, MsgBatchCancel):
        pairs = [batch.clob_pair_id for batch in message.short_term_cancels]
        return [message.subaccount_id.number], pairs
    return None


@dataclass(frozen=True)
class SubaccountFilter:
    whitelist: frozenset[int]
    type_name: str = "SubaccountFilter"

    def authenticate(self, request: Request) -> None:
        touched = order_subaccounts_and_pairs(request.message)
        if touched is None:
            return  # the chain skips messages that are not orders
        for number in touched[0]:
            if number not in self.whitelist:
                raise accountplus_error(
                    SUBACCOUNT_VERIFICATION,
                    f"subaccount number {number} not in whitelist {_go_set(self.whitelist)}",
                )


@dataclass(frozen=True)
class ClobPairIdFilter:
    whitelist: frozenset[int]
    type_name: str = "ClobPairIdFilter"

    def authenticate(self, request: Request) -> None:
        touched = order_subaccounts_and_pairs(request.message)
        if touched is None:
            return
        for pair in touched[1]:
            if pair not in self.whitelist:
                raise accountplus_error(
                    CLOB_PAIR_ID_VERIFICATION,
                    f"order id {pair} not in whitelist {_go_set(self.whitelist)}",
                )


@dataclass(frozen=True)
class AllOf:
    children: tuple[Authenticator, ...]
    type_name: str = "AllOf"

    def authenticate(self, request: Request) -> None:
        for index, child in enumerate(self.children):
            try:
                child.authenticate(_with_id(request, index))
            except ChainError as error:
                # errorsmod.Wrap(ErrAllOfVerification, err.Error()): the sub-error is text only.
                raise accountplus_error(ALL_OF_VERIFICATION, error.text) from None


@dataclass(frozen=True)
class AnyOf:
    children: tuple[Authenticator, ...]
    type_name: str = "AnyOf"

    def authenticate(self, request: Request) -> None:
        failures = []
        for index, child in enumerate(self.children):
            sub_request = _with_id(request, index)
            try:
                child.authenticate(sub_request)
            except ChainError as error:
                failures.append(
                    f"[{child.type_name} (id = {sub_request.authenticator_id})] {error.text}; "
                )
            else:
                return
        raise accountplus_error(
            ANY_OF_VERIFICATION,
            "all sub-authenticators failed to authenticate: " + "; ".join(failures),
        )


def _with_id(request: Request, index: int) -> Request:
    return Request(
        request.message,
        request.type_url,
        request.sign_bytes,
        request.signature,
        request.account_number,
        request.sequence,
        request.chain_id,
        f"{request.authenticator_id}.{index}",
    )


REGISTERED_TYPES = (
    "AllOf",
    "AnyOf",
    "SignatureVerification",
    "MessageFilter",
    "ClobPairIdFilter",
    "SubaccountFilter",
)
_COMPOSITES = ("AllOf", "AnyOf")


def sub_authenticators(config: bytes) -> list[tuple[str, bytes]]:
    """The ``[{"type", "config"}]`` of a composite, as Go's ``json.Unmarshal`` reads it."""
    try:
        data = json.loads(config.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise undefined_error(f"invalid JSON: {error}") from None
    if data is None:
        return []
    if not isinstance(data, list):
        raise undefined_error(
            "json: cannot unmarshal into Go value of type []types.SubAuthenticatorInitData"
        )
    return [_init_data(item) for item in data]


def _init_data(item: object) -> tuple[str, bytes]:
    if item is None:
        return "", b""
    if not isinstance(item, dict):
        raise undefined_error("json: cannot unmarshal into Go struct SubAuthenticatorInitData")
    # Go matches JSON keys to struct fields without regard to case.
    fields = {str(key).lower(): value for key, value in item.items()}
    kind, config = fields.get("type", ""), fields.get("config")
    if not isinstance(kind, str):
        raise undefined_error("json: cannot unmarshal into Go struct field .type of type string")
    if config is None:
        return kind, b""
    if isinstance(config, str):
        try:
            return kind, base64.b64decode(config, validate=True)
        except (binascii.Error, ValueError):
            raise undefined_error(f"illegal base64 data in the config of a {kind}") from None
    if isinstance(config, list) and all(
        isinstance(b, int) and not isinstance(b, bool) and 0 <= b <= 255 for b in config
    ):
        return kind, bytes(config)
    raise undefined_error("json: cannot unmarshal into Go struct field .config of type []uint8")


def on_added(kind: str, config: bytes, authenticator_id: str) -> bool:
    """The chain's ``OnAuthenticatorAdded``: raise on a bad config; True when every
    path of the tree verifies a signature (the chain refuses the add otherwise)."""
    if kind == "SignatureVerification":
        if len(config) != SECP256K1_PUBLIC_KEY_SIZE:
            raise undefined_error(
                f"invalid secp256k1 public key size, expected {SECP256K1_PUBLIC_KEY_SIZE}, "
                f"got {len(config)}"
            )
        return True
    if kind not in _COMPOSITES:
        return False  # the filters check nothing when added
    subs = sub_authenticators(config)
    if len(subs) <= 1:
        raise ChainError("sdk", 18, "no sub-authenticators provided: invalid request")
    results = []
    for index, (sub_kind, sub_config) in enumerate(subs):
        if sub_kind not in REGISTERED_TYPES:
            raise ChainError(
                "sdk",
                18,
                "sub-authenticator failed to be added in function `OnAuthenticatorAdded` as type "
                "is not registered in manager: invalid request",
            )
        sub_id = f"{authenticator_id}.{index}"
        try:
            results.append(on_added(sub_kind, sub_config, sub_id))
        except ChainError as error:
            raise error.wrap(
                f"sub-authenticator `OnAuthenticatorAdded` failed (sub-authenticator id = {sub_id})"
            ) from None
    return all(results) if kind == "AnyOf" else any(results)


def initialize(kind: str, config: bytes) -> Authenticator:
    """The chain's ``Initialize``: an authenticator from a stored config, or raise."""
    if kind == "SignatureVerification":
        return SignatureVerification(config)
    if kind == "MessageFilter":
        return MessageFilter(frozenset(config.decode("utf-8", "replace").split(",")))
    if kind in ("SubaccountFilter", "ClobPairIdFilter"):
        numbers = frozenset(
            _parse_uint32(text) for text in config.decode("utf-8", "replace").split(",")
        )
        return (
            SubaccountFilter(numbers) if kind == "SubaccountFilter" else ClobPairIdFilter(numbers)
        )
    if kind in _COMPOSITES:
        subs = sub_authenticators(config)
        if len(subs) <= 1:
            raise ChainError(
                "sdk",
                18,
                f"{kind[0].lower()}{kind[1:]} must have at least 2 sub-authenticators: "
                "invalid request",
            )
        children = []
        for sub_kind, sub_config in subs:
            if sub_kind not in REGISTERED_TYPES:
                raise undefined_error(f"authenticator type {sub_kind!r} is not registered")
            try:
                children.append(initialize(sub_kind, sub_config))
            except ChainError as error:
                raise error.wrap(
                    f"failed to initialize sub-authenticator (type = {sub_kind})"
                ) from None
        return AllOf(tuple(children)) if kind == "AllOf" else AnyOf(tuple(children))
    raise undefined_error(f"authenticator type {kind} is not registered")


def _parse_uint32(text: str) -> int:
    # strconv.ParseUint(str, 10, 32): ASCII digits only, no sign, no spaces.
    if not text.isascii() or not text.isdigit():
        raise undefined_error(f'strconv.ParseUint: parsing "{text}": invalid syntax')
    if int(text) >= 2**32:
        raise undefined_error(f'strconv.ParseUint: parsing "{text}": value out of range')
    return int(text)
