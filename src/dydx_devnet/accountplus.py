"""The chain's ``x/accountplus`` module on the devnet: authenticators and timestamp nonces.

A port of ``protocol/x/accountplus`` (v4-chain ``protocol/v9.6.1``), keeper and
ante decorator, for what a trading client meets:

* ``MsgAddAuthenticator`` / ``MsgRemoveAuthenticator``: ids come from one global
  counter (never reused); an add is refused unless every path of its tree
  verifies a signature; ``data`` is at most 1,024 bytes;
* the ``GetAuthenticators`` / ``GetAuthenticator`` / ``AccountState`` / ``Params``
  queries (see :class:`AccountPlusQuery`);
* :meth:`AccountPlus.authenticate`: a transaction whose ``TxExtension`` selects
  authenticators (one per message) is authenticated by them instead of the
  signer's own key, with the chain's codes and log texts;
* timestamp nonces: a sequence of 2^40 or more is a unix-ms nonce, valid within
  30 s of block time, unique among the last 20 and above every ejected one; it
  is never compared with, and never bumps, the account sequence.

Two ways the devnet is stricter than the chain, both documented in the results:
the messages of an add/remove are checked in CheckTx (the chain runs them only in
the block, so a bad add answers code 0 there and fails later), and an add whose
config could never be initialized (a filter that is not a number list) is
refused up front instead of stored unusable. Changes take effect in the next
block, as on the chain.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.protobuf.message import Message
from v4_proto.dydxprotocol.accountplus import accountplus_pb2, models_pb2, params_pb2
from v4_proto.dydxprotocol.accountplus import query_pb2 as accountplus_query
from v4_proto.dydxprotocol.accountplus import query_pb2_grpc as accountplus_grpc
from v4_proto.dydxprotocol.accountplus.tx_pb2 import MsgAddAuthenticator, MsgRemoveAuthenticator

from dydx_devnet.auth import is_valid_address
from dydx_devnet.authenticator_types import (
    AUTHENTICATOR_NOT_FOUND,
    DATA_TOO_LONG,
    INITIALIZING_AUTHENTICATOR,
    INVALID_ACCOUNT_ADDRESS,
    REGISTERED_TYPES,
    ChainError,
    Request,
    accountplus_error,
    initialize,
    on_added,
    undefined_error,
)

TIMESTAMP_NONCE_CUTOFF = 1 << 40
MAX_TIMESTAMP_NONCES = 20
MAX_TIME_IN_PAST_MS = 30_000
MAX_TIME_IN_FUTURE_MS = 30_000
AUTHENTICATOR_DATA_MAX_LENGTH = 1024


def is_timestamp_nonce(sequence: int) -> bool:
    """The chain's ``IsTimestampNonce``: sequences from 2^40 on are unix-ms nonces."""
    return sequence >= TIMESTAMP_NONCE_CUTOFF


def _sdk(code: int, registered: str, detail: str) -> ChainError:
    return ChainError("sdk", code, f"{detail}: {registered}")


@dataclass
class StoredAuthenticator:
    """One account authenticator; ``added_height``/``removed_height`` are the engine
    heights of the CheckTx that added/removed it (effective from the next block)."""

    id: int
    type: str
    config: bytes
    added_height: int
    removed_height: int | None = None

    def active_at(self, height: int) -> bool:
        return self.added_height < height and (
            self.removed_height is None or height <= self.removed_height
        )


@dataclass
class NonceState:
    """The chain's ``TimestampNonceDetails`` of one account."""

    nonces: list[int] = field(default_factory=list)
    max_ejected: int = TIMESTAMP_NONCE_CUTOFF


class AccountPlus:
    """Authenticators and timestamp nonces of every account. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._next_id = 0
        self._store: dict[str, dict[int, StoredAuthenticator]] = {}
        self._nonces: dict[str, NonceState] = {}

    # -- queries ------------------------------------------------------------------

    def authenticators(self, account: str, height: int) -> list[StoredAuthenticator]:
        """The account's authenticators in force at ``height``, in the chain's store
        order (by the *text* of the id: 10 comes before 2)."""
        with self._lock:
            found = [a for a in self._store.get(account, {}).values() if a.active_at(height)]
        return sorted(found, key=lambda stored: f"{stored.id}/")

    def authenticator(
        self, account: str, authenticator_id: int, height: int
    ) -> StoredAuthenticator | None:
        with self._lock:
            stored = self._store.get(account, {}).get(authenticator_id)
        return stored if stored is not None and stored.active_at(height) else None

    def nonce_state(self, account: str) -> NonceState | None:
        with self._lock:
            state = self._nonces.get(account)
            return None if state is None else NonceState(list(state.nonces), state.max_ejected)

    # -- the ante decorator ----------------------------------------------------------

    def authenticate(
        self,
        *,
        account: str,
        messages: tuple[Message, ...],
        type_urls: tuple[str, ...],
        selected: tuple[int, ...],
        sign_bytes: bytes,
        signature: bytes,
        account_number: int,
        sequence: int,
        chain_id: str,
        height: int,
    ) -> None:
        """The chain's ``AuthenticatorDecorator``: every message is accepted by the
        authenticator selected for it, or this raises :class:`ChainError`."""
        if len(selected) != len(messages):
            raise _sdk(
                18,
                "invalid request",
                "Mismatch between the number of selected authenticators and messages, "
                f"msg count {len(messages)}, got {len(selected)} selected authenticators",
            )
        for index, (message, type_url) in enumerate(zip(messages, type_urls, strict=True)):
            authenticator_id = selected[index]
            context = (
                f"failed to get initialized authenticator (account = {account}, authenticator "
                f"id = {authenticator_id}, msg index = {index}, msg type url = {type_url})"
            )
            stored = self.authenticator(account, authenticator_id, height)
            if stored is None:
                raise accountplus_error(
                    AUTHENTICATOR_NOT_FOUND,
                    f"authenticator {authenticator_id} not found for account {account}",
                ).wrap(context)
            try:
                instance = initialize(stored.type, stored.config)
            except ChainError as error:
                raise error.wrap(
                    f"authenticator {authenticator_id} with type {stored.type} failed to "
                    f"initialize for account {account}"
                ).wrap(context) from None
            request = Request(
                message,
                type_url,
                sign_bytes,
                signature,
                account_number,
                sequence,
                chain_id,
                str(authenticator_id),
            )
            try:
                instance.authenticate(request)
            except ChainError as error:
                raise error.wrap(
                    f"authentication failed for message {index}, authenticator id "
                    f"{authenticator_id}, type {stored.type}"
                ) from None

    # -- timestamp nonces -------------------------------------------------------------

    def check_timestamp_nonce(
        self, account: str, nonce: int, block_time_ms: int, *, commit: bool
    ) -> None:
        """The chain's ``ProcessTimestampNonce`` (sdk 32 on refusal); ``commit`` keeps it."""
        if (
            not block_time_ms - MAX_TIME_IN_PAST_MS
            <= nonce
            <= block_time_ms + MAX_TIME_IN_FUTURE_MS
        ):
            raise _sdk(
                32,
                "incorrect account sequence",
                f"timestamp nonce {nonce} not within valid time window",
            )
        with self._lock:
            current = self._nonces.get(account)
            if current is None:
                updated = NonceState([nonce])
            else:
                updated = NonceState(list(current.nonces), current.max_ejected)
                _eject_stale(updated, block_time_ms)
                if not _accept(updated, nonce):
                    raise _sdk(
                        32, "incorrect account sequence", f"timestamp nonce {nonce} rejected"
                    )
            if commit:
                self._nonces[account] = updated

    # -- messages ------------------------------------------------------------------

    def validate_basic(self, message: Message) -> None:
        """``MsgAddAuthenticator.ValidateBasic`` (run in the ante, before signatures)."""
        if isinstance(message, MsgAddAuthenticator):
            if not is_valid_address(str(message.sender)):
                raise accountplus_error(INVALID_ACCOUNT_ADDRESS)
            if len(message.data) > AUTHENTICATOR_DATA_MAX_LENGTH:
                raise accountplus_error(DATA_TOO_LONG)

    def execute(self, message: Message, height: int, *, apply: bool) -> None:
        """Run an add or remove (the keeper); with ``apply=False`` only check it."""
        with self._lock:
            if isinstance(message, MsgAddAuthenticator):
                self._add(message, height, apply)
            elif isinstance(message, MsgRemoveAuthenticator):
                self._remove(message, height, apply)
            else:  # pragma: no cover - the caller routes only these two
                raise TypeError(f"not an accountplus message: {type(message).__name__}")

    def _add(self, message: Message, height: int, apply: bool) -> None:
        kind, data = str(message.authenticator_type), bytes(message.data)
        if kind not in REGISTERED_TYPES:
            raise undefined_error(f"authenticator type {kind} is not registered")
        try:
            requires_signature = on_added(kind, data, str(self._next_id))
        except ChainError as error:
            raise error.wrap(
                f"`OnAuthenticatorAdded` failed on authenticator type {kind}"
            ) from None
        if not requires_signature:
            raise undefined_error(
                "unsafe: authenticator tree does not require signature verification all possible "
                f"paths, type = {kind}, config = [{' '.join(str(b) for b in data)}]"
            )
        try:
            initialize(kind, data)
        except ChainError as error:
            # Stricter than the chain, which stores it and fails every transaction later.
            raise ChainError(
                "dydxaccountplus",
                INITIALIZING_AUTHENTICATOR,
                f"the devnet refuses an authenticator that could never authenticate: "
                f"{error.text}: Error initializing authenticator",
            ) from None
        if apply:
            self._store.setdefault(str(message.sender), {})[self._next_id] = StoredAuthenticator(
                self._next_id, kind, data, height
            )
            self._next_id += 1

    def _remove(self, message: Message, height: int, apply: bool) -> None:
        sender, authenticator_id = str(message.sender), int(message.id)
        stored = self._store.get(sender, {}).get(authenticator_id)
        if stored is None or stored.removed_height is not None:
            raise accountplus_error(
                AUTHENTICATOR_NOT_FOUND,
                f"RemoveAuthenticator: failed to get authenticator {authenticator_id} for "
                f"address {sender}",
            )
        if apply:
            stored.removed_height = height


def _eject_stale(state: NonceState, block_time_ms: int) -> None:
    oldest_allowed = block_time_ms - MAX_TIME_IN_PAST_MS
    kept = []
    for nonce in state.nonces:
        if nonce >= oldest_allowed:
            kept.append(nonce)
        elif nonce > state.max_ejected:
            state.max_ejected = nonce
    state.nonces = kept


def _accept(state: NonceState, nonce: int) -> bool:
    if nonce <= state.max_ejected or nonce in state.nonces:
        return False
    if len(state.nonces) < MAX_TIMESTAMP_NONCES:
        state.nonces.append(nonce)
        return True
    smallest = min(range(len(state.nonces)), key=lambda i: (state.nonces[i], i))
    if nonce > state.nonces[smallest]:
        state.max_ejected = state.nonces[smallest]
        state.nonces[smallest] = nonce
        return True
    return False


def _abort(context: grpc.ServicerContext, code: grpc.StatusCode, details: str) -> Any:
    context.abort(code, details)
    raise AssertionError("unreachable")  # pragma: no cover - abort raises


def _address_error(address: str) -> str:
    if not address:
        return "empty address string is not allowed"
    return f"decoding bech32 failed: invalid address {address!r}"


class AccountPlusQuery(accountplus_grpc.QueryServicer):  # type: ignore[misc]
    """The module's gRPC queries, answered as of the engine's committed ``height()``."""

    def __init__(self, accountplus: AccountPlus, height: Callable[[], int]) -> None:
        self._accountplus = accountplus
        self._height = height

    def GetAuthenticators(self, request: Any, context: grpc.ServicerContext) -> Any:
        account = str(request.account)
        if not is_valid_address(account):
            return _abort(context, grpc.StatusCode.INTERNAL, _address_error(account))
        found = self._accountplus.authenticators(account, self._height())
        return accountplus_query.GetAuthenticatorsResponse(
            account_authenticators=[_proto(stored) for stored in found]
        )

    def GetAuthenticator(self, request: Any, context: grpc.ServicerContext) -> Any:
        account = str(request.account)
        if not is_valid_address(account):
            return _abort(context, grpc.StatusCode.INTERNAL, _address_error(account))
        authenticator_id = int(request.authenticator_id)
        stored = self._accountplus.authenticator(account, authenticator_id, self._height())
        if stored is None:
            return _abort(
                context,
                grpc.StatusCode.INTERNAL,
                f"authenticator {authenticator_id} not found for account {account}: "
                "Authenticator is not found",
            )
        return accountplus_query.GetAuthenticatorResponse(account_authenticator=_proto(stored))

    def Params(self, request: Any, context: grpc.ServicerContext) -> Any:
        return accountplus_query.QueryParamsResponse(
            params=params_pb2.Params(is_smart_account_active=True)
        )

    def AccountState(self, request: Any, context: grpc.ServicerContext) -> Any:
        address = str(request.address)
        if not is_valid_address(address):
            return _abort(context, grpc.StatusCode.INVALID_ARGUMENT, "not valid bech32 address")
        state = self._accountplus.nonce_state(address)
        account_state = accountplus_pb2.AccountState()
        if state is not None:
            account_state.address = address
            account_state.timestamp_nonce_details.timestamp_nonces.extend(state.nonces)
            account_state.timestamp_nonce_details.max_ejected_nonce = state.max_ejected
        return accountplus_query.AccountStateResponse(account_state=account_state)


def _proto(stored: StoredAuthenticator) -> Any:
    return models_pb2.AccountAuthenticator(id=stored.id, type=stored.type, config=stored.config)


def add_query_servicer(
    server: grpc.Server, accountplus: AccountPlus, height: Callable[[], int]
) -> None:
    """Serve the module's queries on ``server``."""
    accountplus_grpc.add_QueryServicer_to_server(AccountPlusQuery(accountplus, height), server)
