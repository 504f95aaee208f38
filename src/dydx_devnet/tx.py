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
5. for all but CLOB transactions (free, as on the chain) the fee: enough for the
   gas limit at the minimum gas price, paid from the first signer's bank
   (:mod:`dydx_devnet.tx_fees`; the chain deducts it before the signature check,
   the devnet after, so a refused signature is what a bad transaction hears);
6. the message: a CLOB message against the engine, an authenticator add/remove,
   a deposit, withdrawal, transfer or bank send (:mod:`dydx_devnet.sending`),
   or a permissionless listing (refused, as the chain refuses an existing pair
   or one its market map lacks); an accepted sequenced transaction bumps the
   sequence. A message the devnet refuses costs no fee.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from google.protobuf.message import Message
from v4_proto.cosmos.bank.v1beta1.tx_pb2 import MsgSend
from v4_proto.dydxprotocol.clob.order_pb2 import Order
from v4_proto.dydxprotocol.clob.tx_pb2 import (
    MsgBatchCancel,
    MsgCancelOrder,
    MsgPlaceOrder,
    MsgUpdateLeverage,
)
from v4_proto.dydxprotocol.listing.tx_pb2 import MsgCreateMarketPermissionless
from v4_proto.dydxprotocol.sending.transfer_pb2 import MsgWithdrawFromSubaccount
from v4_proto.dydxprotocol.sending.tx_pb2 import MsgCreateTransfer

from dydx_devnet import validate_basic
from dydx_devnet.accountplus import AccountPlus, is_timestamp_nonce
from dydx_devnet.auth import AccountRegistry, is_valid_address
from dydx_devnet.authenticator_types import ChainError
from dydx_devnet.codes import TxResult
from dydx_devnet.mempool import ALREADY_SEEN, MempoolCache
from dydx_devnet.sending_msgs import SENDING_MESSAGES
from dydx_devnet.sending_msgs import validate_basic as sending_validate_basic
from dydx_devnet.tx_decode import (
    CLOB_MESSAGES,
    INVALID_PUBKEY,
    INVALID_REQUEST,
    UNAUTHORIZED,
    UNKNOWN_ADDRESS,
    UNKNOWN_EXTENSION_OPTIONS,
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
from dydx_devnet.tx_fees import fee_coins, fee_refusal, gas_used, is_free

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

    @property
    def markets(self) -> Mapping[str, Any]: ...

    def execute_sending(self, message: Message, tx_hash: str, *, apply: bool) -> TxResult: ...

    def pay_fee(self, payer: str, coins: list[tuple[str, int]]) -> TxResult | None: ...

    def refund_fee(self, payer: str, coins: list[tuple[str, int]]) -> None: ...


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
        # The fault ``sequence_mismatch_next_broadcasts``: another tx takes the sequence.
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
            rejected = validate_basic.message(message, is_valid_address) or sending_validate_basic(
                message
            )
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
        result = self._execute(tx, tx_bytes, owner, apply=apply)
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
        """The injected fault: another transaction took the next sequence (code 32)."""
        self._accounts.increment_sequence(owner, self._engine.height)
        want = self._accounts.expected_sequence(owner)
        return sdk_error(WRONG_SEQUENCE, f"account sequence mismatch, expected {want}, got {sent}")

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

    def _execute(self, tx: DecodedTx, tx_bytes: bytes, payer: str, *, apply: bool) -> TxResult:
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
        if len(tx.messages) > 1:
            return sdk_error(
                INVALID_REQUEST, "the devnet executes one message per transaction (besides orders)"
            )
        fee: list[tuple[str, int]] = []
        if apply and not is_free(tx.messages):
            # Simulate runs without the minimum-gas-price check, as on the chain.
            refused = fee_refusal(tx.auth_info.fee, gas_used(tx.messages))
            if refused is not None:
                return refused
            fee = fee_coins(tx.auth_info.fee) or []
            refused = self._engine.pay_fee(payer, fee)
            if refused is not None:
                return refused
        result = self._run(message, tx_hash(tx_bytes), apply=apply)
        if fee and not result.ok:
            self._engine.refund_fee(payer, fee)
        return result

    def _run(self, message: Message, hash_hex: str, *, apply: bool) -> TxResult:
        if isinstance(message, SENDING_MESSAGES):
            result = self._engine.execute_sending(message, hash_hex, apply=apply)
            if result.ok and apply:
                for address in _credited_addresses(message):
                    self._accounts.ensure(address)  # bank and x/sending create the account
            return result
        if isinstance(message, MsgCreateMarketPermissionless):
            return _listing_refusal(message.ticker, self._engine.markets)
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


def _credited_addresses(message: Message) -> tuple[str, ...]:
    """Addresses a money message pays (their auth accounts come into being)."""
    if isinstance(message, MsgSend):
        return (str(message.to_address),)
    if isinstance(message, MsgWithdrawFromSubaccount):
        return (str(message.recipient),)
    if isinstance(message, MsgCreateTransfer):
        return (str(message.transfer.recipient.owner),)
    return ()


def _listing_refusal(ticker: str, markets: Mapping[str, Any]) -> TxResult:
    """``MsgCreateMarketPermissionless``: the devnet's market map holds only its own markets,
    so a listed pair already exists (x/prices 205) and any other is not found (x/listing 1)."""
    if ticker in markets:
        return TxResult(205, "prices", f"{ticker}: Market params pair already exists")
    return TxResult(1, "listing", "market not found")
