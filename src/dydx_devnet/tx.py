"""Signed transactions as the chain's ante handler sees them.

:func:`decode` turns broadcast bytes into a :class:`DecodedTx` (or raises
:class:`TxRejected` with the chain's ``sdk`` code 2 "tx parse error");
:class:`TxProcessor` runs the checks of the dYdX ante chain that matter to a
trading client, in the chain's order, and applies the messages to the engine:

1. decode, one signer, SIGN_MODE_DIRECT, a secp256k1 public key;
2. the signer's account exists (sdk 9) and the key matches the address (sdk 8);
3. the sequence, except for short-term order placement and cancels, which the
   chain replay-protects by good-til-block instead (sdk 32);
4. the signature over ``SignDoc(body_bytes, auth_info_bytes, chain_id,
   account_number)`` (sdk 4);
5. the CLOB message against the engine; an accepted sequenced transaction bumps
   the sequence.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Protocol

from coincurve import PublicKey
from coincurve.ecdsa import cdata_to_der, deserialize_compact
from google.protobuf.message import DecodeError, Message
from google.protobuf.unknown_fields import UnknownFieldSet
from v4_proto.cosmos.crypto.secp256k1.keys_pb2 import PubKey
from v4_proto.cosmos.tx.signing.v1beta1.signing_pb2 import SignMode
from v4_proto.cosmos.tx.v1beta1.tx_pb2 import AuthInfo, SignDoc, TxBody, TxRaw
from v4_proto.dydxprotocol.clob.order_pb2 import Order
from v4_proto.dydxprotocol.clob.tx_pb2 import MsgBatchCancel, MsgCancelOrder, MsgPlaceOrder

from dydx_devnet.auth import AccountRegistry, address_from_public_key
from dydx_devnet.codes import SDK, TxResult

# sdk codespace codes (cosmos-sdk types/errors/errors.go)
TX_DECODE = 2
UNAUTHORIZED = 4
UNKNOWN_REQUEST = 6
INVALID_PUBKEY = 8
UNKNOWN_ADDRESS = 9
NO_SIGNATURES = 15
INVALID_REQUEST = 18
WRONG_SEQUENCE = 32

_SDK_MESSAGES = {
    TX_DECODE: "tx parse error",
    UNAUTHORIZED: "unauthorized",
    UNKNOWN_REQUEST: "unknown request",
    INVALID_PUBKEY: "invalid pubkey",
    UNKNOWN_ADDRESS: "unknown address",
    NO_SIGNATURES: "no signatures supplied",
    INVALID_REQUEST: "invalid request",
    WRONG_SEQUENCE: "incorrect account sequence",
}

_PUBKEY_TYPE_URL = "/cosmos.crypto.secp256k1.PubKey"
_MESSAGE_TYPES: dict[str, type[Message]] = {
    "/" + cls.DESCRIPTOR.full_name: cls for cls in (MsgPlaceOrder, MsgCancelOrder, MsgBatchCancel)
}
SHORT_TERM_FLAGS = 0


def sdk_error(code: int, detail: str) -> TxResult:
    """An ``sdk`` codespace rejection whose log wraps ``detail`` as the SDK does."""
    return TxResult(code, SDK, f"{detail}: {_SDK_MESSAGES[code]}")


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
                        f"the devnet does not execute {packed.type_url} "
                        "(only MsgPlaceOrder, MsgCancelOrder and MsgBatchCancel)",
                    )
                )
            raise TxRejected(sdk_error(TX_DECODE, f"unable to resolve type URL {packed.type_url}"))
        messages.append(_parse(cls, packed.value, packed.type_url))
    if not messages:
        raise TxRejected(sdk_error(INVALID_REQUEST, "must contain at least one message"))
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
    )


def verify_signature(tx: DecodedTx, chain_id: str, account_number: int) -> bool:
    """True if the 64-byte low-S signature signs the SignDoc of ``tx`` with its key."""
    if len(tx.signature) != 64:
        return False
    sign_doc = SignDoc(
        body_bytes=tx.raw.body_bytes,
        auth_info_bytes=tx.raw.auth_info_bytes,
        chain_id=chain_id,
        account_number=account_number,
    ).SerializeToString()
    try:
        der = cdata_to_der(deserialize_compact(tx.signature))
        # libsecp256k1 refuses high-S signatures, as the chain does.
        return bool(PublicKey(tx.public_key).verify(der, sign_doc))
    except (ValueError, TypeError):
        return False


def message_owner(message: Message) -> str:
    """The address that must sign a CLOB message (its subaccount owner)."""
    if isinstance(message, MsgPlaceOrder):
        return str(message.order.order_id.subaccount_id.owner)
    if isinstance(message, MsgCancelOrder):
        return str(message.order_id.subaccount_id.owner)
    if isinstance(message, MsgBatchCancel):
        return str(message.subaccount_id.owner)
    raise TypeError(f"not a CLOB message: {type(message).__name__}")


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


MAX_REMEMBERED_TXS = 10_000


@dataclass(frozen=True)
class IncludedTx:
    """A transaction in block ``height``: its bytes (a serialized ``TxRaw``)."""

    height: int
    tx_bytes: bytes


class OrderEngine(Protocol):
    """What the processor needs from the engine (see ``dydx_devnet.engine``)."""

    @property
    def height(self) -> int: ...

    def place_order(self, order: Order, tx_hash: str | None = None) -> TxResult: ...

    def check_order(self, order: Order) -> TxResult: ...

    def cancel_order(self, message: MsgCancelOrder) -> TxResult: ...

    def batch_cancel(self, message: MsgBatchCancel) -> TxResult: ...


class TxProcessor:
    """CheckTx for the devnet: verify, then apply CLOB messages to the engine.

    Thread-safe: the engine guards itself; the account registry has its own
    lock; ``_lock`` keeps a sequence check and its increment atomic.
    """

    def __init__(self, engine: OrderEngine, accounts: AccountRegistry, chain_id: str) -> None:
        self._engine = engine
        self._accounts = accounts
        self._chain_id = chain_id
        self._lock = threading.Lock()
        # Accepted sequenced (stateful) transactions go into the next block, as on the
        # chain; short-term orders and cancels never appear in blocks as transactions.
        self._included: OrderedDict[str, IncludedTx] = OrderedDict()

    def check(self, tx_bytes: bytes, *, apply: bool = True) -> TxResult:
        """The chain's CheckTx answer for ``tx_bytes``; with ``apply=False`` (Simulate)
        only the ante checks run and nothing changes."""
        try:
            tx = decode(tx_bytes)
        except TxRejected as rejected:
            return rejected.result
        with self._lock:
            return self._check_decoded(tx, tx_bytes, apply=apply)

    def _check_decoded(self, tx: DecodedTx, tx_bytes: bytes, *, apply: bool) -> TxResult:
        signer = tx.signer
        for message in tx.messages:
            owner = message_owner(message)
            if owner != signer:
                return sdk_error(
                    INVALID_PUBKEY,
                    f"pubKey does not match signer address {owner} with signer index: 0",
                )
        if len(tx.messages) > 1:
            return sdk_error(
                INVALID_REQUEST,
                "a transaction containing MsgPlaceOrder, MsgCancelOrder or MsgBatchCancel "
                "may not contain more than one message",
            )
        account = self._accounts.get(signer)
        if account is None:
            return sdk_error(UNKNOWN_ADDRESS, f"account {signer} does not exist")
        if account.public_key is not None and account.public_key != tx.public_key:
            return sdk_error(
                INVALID_PUBKEY,
                f"pubKey does not match signer address {signer} with signer index: 0",
            )
        sequenced = not skips_sequence(tx.messages)
        expected = self._accounts.expected_sequence(signer)
        if sequenced and expected is not None and tx.sequence != expected:
            return sdk_error(
                WRONG_SEQUENCE,
                f"account sequence mismatch, expected {expected}, got {tx.sequence}",
            )
        if not verify_signature(tx, self._chain_id, account.account_number):
            sequence_text = f"sequence ({tx.sequence}) and " if sequenced else ""
            return sdk_error(
                UNAUTHORIZED,
                "signature verification failed; please verify account number "
                f"({account.account_number}), {sequence_text}chain-id ({self._chain_id})",
            )
        self._accounts.bind_public_key(signer, tx.public_key)
        if not apply:
            message = tx.messages[0]
            if isinstance(message, MsgPlaceOrder):
                return self._engine.check_order(message.order)
            return TxResult(0, "", "")
        hash_hex = tx_hash(tx_bytes)
        result = self._apply(tx.messages[0], hash_hex)
        if result.code == 0 and sequenced:
            height = self._engine.height
            self._accounts.increment_sequence(signer, height)
            self._included[hash_hex] = IncludedTx(height + 1, tx_bytes)
            while len(self._included) > MAX_REMEMBERED_TXS:
                self._included.popitem(last=False)
        return result

    def included(self, hash_hex: str) -> IncludedTx | None:
        """The transaction with this hash if a committed block holds it (``GetTx``)."""
        with self._lock:
            found = self._included.get(hash_hex.upper())
        if found is None or found.height > self._engine.height:
            return None
        return found

    def _apply(self, message: Message, hash_hex: str) -> TxResult:
        if isinstance(message, MsgPlaceOrder):
            return self._engine.place_order(message.order, hash_hex)
        if isinstance(message, MsgCancelOrder):
            return self._engine.cancel_order(message)
        if isinstance(message, MsgBatchCancel):
            return self._engine.batch_cancel(message)
        raise TypeError(f"not a CLOB message: {type(message).__name__}")  # pragma: no cover
