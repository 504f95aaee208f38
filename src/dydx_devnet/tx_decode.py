"""Decoding broadcast transactions as the chain's decoder and ante handler read them.

:func:`decode` turns broadcast bytes into a :class:`DecodedTx` (or raises
:class:`TxRejected` with the chain's ``sdk`` code 2 "tx parse error"): one
signer, SIGN_MODE_DIRECT, a secp256k1 public key, known message types (orders,
cancels, authenticator changes, money movement, permissionless market listing)
and the ``TxExtension`` that selects authenticators.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from google.protobuf.message import DecodeError, Message
from google.protobuf.unknown_fields import UnknownFieldSet
from v4_proto.cosmos.bank.v1beta1.tx_pb2 import MsgSend
from v4_proto.cosmos.crypto.secp256k1.keys_pb2 import PubKey
from v4_proto.cosmos.tx.signing.v1beta1.signing_pb2 import SignMode
from v4_proto.cosmos.tx.v1beta1.tx_pb2 import AuthInfo, SignDoc, TxBody, TxRaw
from v4_proto.dydxprotocol.accountplus.tx_pb2 import (
    MsgAddAuthenticator,
    MsgRemoveAuthenticator,
    TxExtension,
)
from v4_proto.dydxprotocol.clob.tx_pb2 import (
    MsgBatchCancel,
    MsgCancelOrder,
    MsgPlaceOrder,
    MsgUpdateLeverage,
)
from v4_proto.dydxprotocol.listing.tx_pb2 import MsgCreateMarketPermissionless
from v4_proto.dydxprotocol.sending.transfer_pb2 import (
    MsgDepositToSubaccount,
    MsgWithdrawFromSubaccount,
)
from v4_proto.dydxprotocol.sending.tx_pb2 import MsgCreateTransfer

from dydx_devnet.auth import address_from_public_key
from dydx_devnet.authenticator_types import ChainError, verify_secp256k1
from dydx_devnet.codes import SDK, TxResult
from dydx_devnet.sending_msgs import SENDING_MESSAGES

# sdk codespace codes (cosmos-sdk types/errors/errors.go)
TX_DECODE = 2
UNAUTHORIZED = 4
UNKNOWN_REQUEST = 6
INVALID_PUBKEY = 8
UNKNOWN_ADDRESS = 9
NO_SIGNATURES = 15
INVALID_REQUEST = 18
UNKNOWN_EXTENSION_OPTIONS = 31
WRONG_SEQUENCE = 32

_SDK_MESSAGES = {
    TX_DECODE: "tx parse error",
    UNAUTHORIZED: "unauthorized",
    UNKNOWN_REQUEST: "unknown request",
    INVALID_PUBKEY: "invalid pubkey",
    UNKNOWN_ADDRESS: "unknown address",
    NO_SIGNATURES: "no signatures supplied",
    INVALID_REQUEST: "invalid request",
    UNKNOWN_EXTENSION_OPTIONS: "unknown extension options",
    WRONG_SEQUENCE: "incorrect account sequence",
}

_PUBKEY_TYPE_URL = "/cosmos.crypto.secp256k1.PubKey"
CLOB_MESSAGES = (MsgPlaceOrder, MsgCancelOrder, MsgBatchCancel, MsgUpdateLeverage)
ACCOUNTPLUS_MESSAGES = (MsgAddAuthenticator, MsgRemoveAuthenticator)
LISTING_MESSAGES = (MsgCreateMarketPermissionless,)
_MESSAGE_TYPES: dict[str, type[Message]] = {
    "/" + cls.DESCRIPTOR.full_name: cls
    for cls in (*CLOB_MESSAGES, *ACCOUNTPLUS_MESSAGES, *SENDING_MESSAGES, *LISTING_MESSAGES)
}
_TX_EXTENSION_TYPE_URL = "/" + TxExtension.DESCRIPTOR.full_name
SHORT_TERM_FLAGS = 0


def sdk_error(code: int, detail: str) -> TxResult:
    """An ``sdk`` codespace rejection whose log wraps ``detail`` as the SDK does."""
    return TxResult(code, SDK, f"{detail}: {_SDK_MESSAGES[code]}")


def chain_result(error: ChainError) -> TxResult:
    """The CheckTx answer for a module's error."""
    return TxResult(error.code, error.codespace, error.text)


class TxRejected(Exception):
    """The transaction failed before reaching the engine; ``result`` is the chain's answer."""

    def __init__(self, result: TxResult) -> None:
        super().__init__(result.log)
        self.result = result


@dataclass(frozen=True)
class DecodedTx:
    """A decoded transaction: exact signed bytes plus the parsed parts."""

    raw: TxRaw
    body: TxBody
    auth_info: AuthInfo
    messages: tuple[Message, ...]
    public_key: bytes
    sequence: int
    signature: bytes
    # The authenticator ids the TxExtension selects (one per message); () = none.
    selected_authenticators: tuple[int, ...] = ()

    @property
    def signer(self) -> str:
        return address_from_public_key(self.public_key)


def tx_hash(tx_bytes: bytes) -> str:
    """The CometBFT transaction hash: SHA-256 of the bytes, upper-case hex."""
    return hashlib.sha256(tx_bytes).hexdigest().upper()


def _has_unknown_fields(message: Message) -> bool:
    """The chain's decoder rejects unknown fields anywhere in the transaction."""
    if len(UnknownFieldSet(message)) > 0:
        return True
    for descriptor, value in message.ListFields():
        if descriptor.message_type is None:
            continue
        if descriptor.is_repeated:
            if descriptor.message_type.GetOptions().map_entry:
                continue
            if any(_has_unknown_fields(item) for item in value):
                return True
        elif _has_unknown_fields(value):
            return True
    return False


def _parse(cls: type[Message], data: bytes, what: str) -> Any:
    try:
        parsed = cls.FromString(data)
    except (DecodeError, ValueError, RuntimeError) as exc:
        raise TxRejected(sdk_error(TX_DECODE, f"cannot decode {what}: {exc}")) from exc
    if _has_unknown_fields(parsed):
        raise TxRejected(sdk_error(TX_DECODE, f"unknown field in {what}"))
    return parsed


def decode(tx_bytes: bytes) -> DecodedTx:
    """Parse broadcast bytes (a serialized ``TxRaw`` / ``Tx``); raise :class:`TxRejected`."""
    if not tx_bytes:
        raise TxRejected(sdk_error(TX_DECODE, "empty transaction"))
    raw = _parse(TxRaw, tx_bytes, "TxRaw")
    body = _parse(TxBody, raw.body_bytes, "TxBody")
    auth_info = _parse(AuthInfo, raw.auth_info_bytes, "AuthInfo")
    messages: list[Message] = []
    for packed in body.messages:
        cls = _MESSAGE_TYPES.get(packed.type_url)
        if cls is None:
            if packed.type_url.startswith("/dydxprotocol.") or packed.type_url.startswith(
                "/cosmos."
            ):
                raise TxRejected(
                    sdk_error(
                        UNKNOWN_REQUEST,
                        f"the devnet does not execute {packed.type_url} (it executes orders, "
                        "cancels, authenticator changes, transfers, withdrawals, deposits "
                        "and bank sends)",
                    )
                )
            raise TxRejected(sdk_error(TX_DECODE, f"unable to resolve type URL {packed.type_url}"))
        messages.append(_parse(cls, packed.value, packed.type_url))
    if not messages:
        raise TxRejected(sdk_error(INVALID_REQUEST, "must contain at least one message"))
    selected: tuple[int, ...] = ()
    for option in body.non_critical_extension_options:
        if option.type_url != _TX_EXTENSION_TYPE_URL:
            raise TxRejected(sdk_error(TX_DECODE, f"unable to resolve type URL {option.type_url}"))
        extension = _parse(TxExtension, option.value, "TxExtension")
        selected = selected or tuple(int(i) for i in extension.selected_authenticators)
    if not raw.signatures:
        raise TxRejected(sdk_error(NO_SIGNATURES, "no signatures supplied"))
    if len(auth_info.signer_infos) != 1 or len(raw.signatures) != 1:
        raise TxRejected(
            sdk_error(
                UNAUTHORIZED,
                f"wrong number of signers; expected 1, got {len(auth_info.signer_infos)}",
            )
        )
    signer_info = auth_info.signer_infos[0]
    if signer_info.mode_info.single.mode != SignMode.SIGN_MODE_DIRECT:
        raise TxRejected(sdk_error(UNAUTHORIZED, "the devnet verifies SIGN_MODE_DIRECT only"))
    if signer_info.public_key.type_url != _PUBKEY_TYPE_URL:
        raise TxRejected(
            sdk_error(INVALID_PUBKEY, f"unsupported public key {signer_info.public_key.type_url}")
        )
    public_key = _parse(PubKey, signer_info.public_key.value, "PubKey").key
    if len(public_key) != 33:
        raise TxRejected(sdk_error(INVALID_PUBKEY, "secp256k1 public key must be 33 bytes"))
    return DecodedTx(
        raw=raw,
        body=body,
        auth_info=auth_info,
        messages=tuple(messages),
        public_key=bytes(public_key),
        sequence=int(signer_info.sequence),
        signature=bytes(raw.signatures[0]),
        selected_authenticators=selected,
    )


def sign_bytes(tx: DecodedTx, chain_id: str, account_number: int) -> bytes:
    """The SIGN_MODE_DIRECT bytes: ``SignDoc(body, auth_info, chain_id, account_number)``."""
    return bytes(
        SignDoc(
            body_bytes=tx.raw.body_bytes,
            auth_info_bytes=tx.raw.auth_info_bytes,
            chain_id=chain_id,
            account_number=account_number,
        ).SerializeToString()
    )


def verify_signature(tx: DecodedTx, chain_id: str, account_number: int) -> bool:
    """True if the 64-byte low-S signature signs the SignDoc of ``tx`` with its key."""
    return verify_secp256k1(tx.public_key, sign_bytes(tx, chain_id, account_number), tx.signature)


def message_owner(message: Message) -> str:
    """The address that must sign ``message`` (the chain's ``GetMsgV1Signers``)."""
    if isinstance(message, MsgPlaceOrder):
        return str(message.order.order_id.subaccount_id.owner)
    if isinstance(message, MsgCancelOrder):
        return str(message.order_id.subaccount_id.owner)
    if isinstance(message, MsgBatchCancel | MsgUpdateLeverage):
        return str(message.subaccount_id.owner)
    if isinstance(message, MsgSend):
        return str(message.from_address)
    if isinstance(message, MsgCreateTransfer):
        return str(message.transfer.sender.owner)
    if isinstance(message, MsgWithdrawFromSubaccount):
        return str(message.sender.owner)
    if isinstance(message, MsgDepositToSubaccount | MsgAddAuthenticator | MsgRemoveAuthenticator):
        return str(message.sender)
    if isinstance(message, MsgCreateMarketPermissionless):
        return str(message.subaccount_id.owner)
    raise TypeError(f"no signer known for {type(message).__name__}")


def type_url(message: Message) -> str:
    """The ``Any`` type URL of ``message`` (``/dydxprotocol.clob.MsgPlaceOrder``)."""
    return "/" + str(message.DESCRIPTOR.full_name)


def skips_sequence(messages: tuple[Message, ...]) -> bool:
    """The chain's ShouldSkipSequenceValidation: only short-term place/cancel/batch-cancel."""
    for message in messages:
        if isinstance(message, MsgPlaceOrder):
            if message.order.order_id.order_flags != SHORT_TERM_FLAGS:
                return False
        elif isinstance(message, MsgCancelOrder):
            if message.order_id.order_flags != SHORT_TERM_FLAGS:
                return False
        elif not isinstance(message, MsgBatchCancel):
            return False
    return True
