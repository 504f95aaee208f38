"""Signed transactions as the chain's ante handler sees them.

:func:`decode` turns broadcast bytes into a :class:`DecodedTx` (or raises
:class:`TxRejected` with the chain's ``sdk`` code 2 "tx parse error");
:class:`TxProcessor` runs the checks of the dYdX ante chain that matter to a
trading client, in the chain's order, and applies the messages to the engine:

1. decode, one signer, SIGN_MODE_DIRECT, a secp256k1 public key;
2. the signer's account exists (sdk 9) and the key matches the address (sdk 8);
3. the sequence, except for short-term order placement and cancels, which the
   chain replay-protects by good-til-block instead (sdk 32); a sequence of
   2^40 or more is a timestamp nonce (:mod:`dydx_devnet.accountplus`);
4. the signature over ``SignDoc(body_bytes, auth_info_bytes, chain_id,
   account_number)`` (sdk 4), or, when the transaction's ``TxExtension``
   selects authenticators, those authenticators of the message's owner
   instead (the signer's key then need not be the owner's);
5. the CLOB message against the engine, or an authenticator add/remove; an
   accepted sequenced transaction bumps the sequence. Transfers, withdrawals and
   bank sends are authenticated like any other message, then refused: the devnet
   does not execute them.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from google.protobuf.message import Message
from v4_proto.dydxprotocol.clob.order_pb2 import Order
from v4_proto.dydxprotocol.clob.tx_pb2 import (
    MsgBatchCancel,
    MsgCancelOrder,
    MsgPlaceOrder,
    MsgUpdateLeverage,
)

from dydx_devnet import validate_basic
from dydx_devnet.accountplus import AccountPlus, is_timestamp_nonce
from dydx_devnet.auth import AccountRegistry, is_valid_address
from dydx_devnet.authenticator_types import ChainError
from dydx_devnet.codes import TxResult
from dydx_devnet.mempool import ALREADY_SEEN, MempoolCache
from dydx_devnet.tx_decode import (
    ACCOUNTPLUS_MESSAGES,
    CLOB_MESSAGES,
    INVALID_PUBKEY,
    INVALID_REQUEST,
    UNAUTHORIZED,
    UNKNOWN_ADDRESS,
    UNKNOWN_EXTENSION_OPTIONS,
    UNKNOWN_REQUEST,
    WRONG_SEQUENCE,
    DecodedTx,
    TxRejected,
    chain_result,
    decode,
    message_owner,
    sdk_error,
    sign_bytes,
    skips_sequence,
    tx_hash,
    type_url,
    verify_signature,
)

__all__ = [  # decoding lives in tx_decode; these names stay importable from here
    "DecodedTx",
    "IncludedTx",
    "OrderEngine",
    "TxProcessor",
    "TxRejected",
    "decode",
    "skips_sequence",
    "tx_hash",
    "verify_signature",
]

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

    @property
    def block_time_ms(self) -> int: ...

    def place_order(self, order: Order, tx_hash: str | None = None) -> TxResult: ...

    def check_order(self, order: Order) -> TxResult: ...

    def cancel_order(self, message: MsgCancelOrder) -> TxResult: ...

    def batch_cancel(self, message: MsgBatchCancel) -> TxResult: ...

    def update_leverage(self, message: MsgUpdateLeverage) -> TxResult: ...


class TxProcessor:
    """CheckTx for the devnet: verify, then apply CLOB messages to the engine.

    Thread-safe: the engine guards itself; the account registry and
    ``accountplus`` have their own locks; ``_lock`` keeps a sequence (or
    timestamp nonce) check and its update atomic.
    """

    def __init__(
        self,
        engine: OrderEngine,
        accounts: AccountRegistry,
        chain_id: str,
        accountplus: AccountPlus | None = None,
        sequence_fault: Callable[[], bool] | None = None,
    ) -> None:
        self._engine = engine
        self._accounts = accounts
        self._chain_id = chain_id
        self.accountplus = accountplus or AccountPlus()
        # A fault (``sequence_mismatch_next_broadcasts``): another transaction of the
        # account takes the sequence first.
        self._sequence_fault = sequence_fault or (lambda: False)
        self._lock = threading.Lock()
        # Accepted sequenced (stateful) transactions go into the next block, as on the
        # chain; short-term orders and cancels never appear in blocks as transactions.
        self._included: OrderedDict[str, IncludedTx] = OrderedDict()
        self.mempool = MempoolCache()

    def check(self, tx_bytes: bytes, *, apply: bool = True) -> TxResult:
        """The chain's CheckTx answer for ``tx_bytes``; with ``apply=False`` (Simulate)
        only the ante checks run and nothing changes. Bytes broadcast before are
        refused by the mempool cache (``sdk`` 19) without running again."""
        if apply and not self.mempool.admit(tx_hash(tx_bytes)):
            return ALREADY_SEEN
        try:
            tx = decode(tx_bytes)
        except TxRejected as rejected:
            return rejected.result
        with self._lock:
            return self._check_decoded(tx, tx_bytes, apply=apply)

    def _check_decoded(self, tx: DecodedTx, tx_bytes: bytes, *, apply: bool) -> TxResult:
        # ValidateBasic runs before every ante handler: before signatures and sequences.
        for message in tx.messages:
            rejected = validate_basic.message(message, is_valid_address)
            if rejected is not None:
                return rejected
        if tx.body.extension_options:
            # The chain accepts no critical extension option (TxExtension goes in the
            # non-critical list).
            return sdk_error(UNKNOWN_EXTENSION_OPTIONS, "unknown extension options")
        owners = list(dict.fromkeys(message_owner(message) for message in tx.messages))
        by_authenticator = bool(tx.selected_authenticators)
        if by_authenticator and len(owners) > 1:
            return sdk_error(
                UNAUTHORIZED, f"invalid number of signer;  expected: {len(owners)}, got 1"
            )
        if not by_authenticator:
            for owner in owners:
                if owner != tx.signer:
                    return sdk_error(
                        INVALID_PUBKEY,
                        f"pubKey does not match signer address {owner} with signer index: 0",
                    )
        if len(tx.messages) > 1 and any(isinstance(m, CLOB_MESSAGES) for m in tx.messages):
            return sdk_error(
                INVALID_REQUEST,
                "a transaction containing MsgPlaceOrder, MsgCancelOrder, MsgBatchCancel or "
                "MsgUpdateLeverage may not contain more than one message",
            )
        owner = owners[0]
        try:
            for message in tx.messages:
                self.accountplus.validate_basic(message)
        except ChainError as error:
            return chain_result(error)
        account = self._accounts.get(owner)
        if account is None:
            return sdk_error(UNKNOWN_ADDRESS, f"account {owner} does not exist")
        if not by_authenticator and account.public_key not in (None, tx.public_key):
            return sdk_error(
                INVALID_PUBKEY,
                f"pubKey does not match signer address {owner} with signer index: 0",
            )
        sequenced = not skips_sequence(tx.messages)
        nonce = sequenced and is_timestamp_nonce(tx.sequence)
        block_time_ms = self._engine.block_time_ms  # one block time for check and commit
        if apply and sequenced and not nonce and self._sequence_fault():
            return self._sequence_taken(owner, tx.sequence)
        refusal = self._replay_protection(
            tx, owner, sequenced=sequenced, nonce=nonce, block_time_ms=block_time_ms
        )
        if refusal is None:
            refusal = (
                self._authenticate(tx, owner, account.account_number, account.sequence)
                if by_authenticator
                else self._verify_own_signature(tx, account.account_number, sequenced)
            )
        if refusal is not None:
            return refusal
        if not by_authenticator:
            self._accounts.bind_public_key(owner, tx.public_key)
        result = self._execute(tx, tx_bytes, apply=apply)
        if result.code == 0 and apply and sequenced:
            height = self._engine.height
            if nonce:
                self.accountplus.check_timestamp_nonce(
                    owner, tx.sequence, block_time_ms, commit=True
                )
            else:
                self._accounts.increment_sequence(owner, height)
            self._included[tx_hash(tx_bytes)] = IncludedTx(height + 1, tx_bytes)
            while len(self._included) > MAX_REMEMBERED_TXS:
                self._included.popitem(last=False)
        return result

    def _replay_protection(
        self, tx: DecodedTx, owner: str, *, sequenced: bool, nonce: bool, block_time_ms: int
    ) -> TxResult | None:
        """The chain's ReplayProtectionDecorator: the sequence or a timestamp nonce."""
        if nonce:
            try:
                self.accountplus.check_timestamp_nonce(
                    owner, tx.sequence, block_time_ms, commit=False
                )
            except ChainError as error:
                return chain_result(error)
            return None
        expected = self._accounts.expected_sequence(owner)
        if sequenced and expected is not None and tx.sequence != expected:
            return sdk_error(
                WRONG_SEQUENCE,
                f"account sequence mismatch, expected {expected}, got {tx.sequence}",
            )
        return None

    def _sequence_taken(self, owner: str, sent: int) -> TxResult:
        """The injected fault: a transaction from elsewhere took the account's next
        sequence (committed with the next block); this one is refused with code 32."""
        self._accounts.increment_sequence(owner, self._engine.height)
        expected = self._accounts.expected_sequence(owner)
        return sdk_error(
            WRONG_SEQUENCE, f"account sequence mismatch, expected {expected}, got {sent}"
        )

    def _verify_own_signature(
        self, tx: DecodedTx, account_number: int, sequenced: bool
    ) -> TxResult | None:
        if verify_signature(tx, self._chain_id, account_number):
            return None
        sequence_text = f"sequence ({tx.sequence}) and " if sequenced else ""
        return sdk_error(
            UNAUTHORIZED,
            "signature verification failed; please verify account number "
            f"({account_number}), {sequence_text}chain-id ({self._chain_id})",
        )

    def _authenticate(
        self, tx: DecodedTx, owner: str, account_number: int, sequence: int
    ) -> TxResult | None:
        """The owner's selected authenticators, instead of the signer's own key."""
        try:
            self.accountplus.authenticate(
                account=owner,
                messages=tx.messages,
                type_urls=tuple(type_url(message) for message in tx.messages),
                selected=tx.selected_authenticators,
                sign_bytes=sign_bytes(tx, self._chain_id, account_number),
                signature=tx.signature,
                account_number=account_number,
                sequence=sequence,
                chain_id=self._chain_id,
                height=self._engine.height,
            )
        except ChainError as error:
            return chain_result(error)
        return None

    def _execute(self, tx: DecodedTx, tx_bytes: bytes, *, apply: bool) -> TxResult:
        """Run the authenticated message (CheckTx or, without ``apply``, Simulate)."""
        message = tx.messages[0]
        timeout = int(tx.body.timeout_height)
        if (
            isinstance(message, MsgPlaceOrder)
            and message.order.order_id.order_flags == 0
            and 0 < timeout < message.order.good_til_block
        ):
            return sdk_error(  # the clob ante handler's hotfix
                INVALID_REQUEST,
                "timeout height (if non-zero) may not be less than `goodTilBlock` for a "
                "short-term place order",
            )
        if isinstance(message, CLOB_MESSAGES):
            if not apply:
                if isinstance(message, MsgPlaceOrder):
                    return self._engine.check_order(message.order)
                return TxResult(0, "", "")
            return self._apply(message, tx_hash(tx_bytes))
        for other in tx.messages:
            if not isinstance(other, ACCOUNTPLUS_MESSAGES):
                return sdk_error(
                    UNKNOWN_REQUEST,
                    f"the devnet does not execute {type_url(other)} "
                    "(only orders, cancels and authenticator changes)",
                )
        if len(tx.messages) > 1:
            return sdk_error(
                INVALID_REQUEST, "the devnet executes one authenticator change per transaction"
            )
        try:
            # The chain runs these only in the block (CheckTx answers 0); the devnet
            # checks them now, so a refused change is never reported as accepted.
            self.accountplus.execute(message, self._engine.height, apply=apply)
        except ChainError as error:
            return chain_result(error)
        return TxResult(0, "", "")

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
        if isinstance(message, MsgUpdateLeverage):
            return self._engine.update_leverage(message)
        raise TypeError(f"not a CLOB message: {type(message).__name__}")  # pragma: no cover
