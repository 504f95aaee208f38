"""The write side of the dYdX adapter: broadcast signed orders, classify the answer.

The official ``NodeClient.place_order`` re-reads the account sequence before
every send, calls synchronous gRPC stubs on the event loop with no deadline,
and never looks at ``tx_response.code`` (style-and-reliability.md B5). We use
its ``Builder`` to sign (see :mod:`transactions`) and its gRPC service stub to
broadcast, but in a worker thread with a deadline, and we classify every
answer into one of three outcomes:

* :class:`Accepted`: CheckTx said code 0. Not a fill, not final.
* :class:`Rejected`: a definitive chain code, mapped to :class:`VenueRejected`.
* :class:`Unknown`: no answer (timeout, dropped connection), or sdk code 19
  (the node saw these exact bytes before: the first send's outcome stands).
  Never a rejection: the order may be on the book; the executor settles it
  from the indexer and never resends it under a new client id.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Protocol

import grpc
from dydx_v4_client.node.builder import Builder, TxOptions
from v4_proto.cosmos.tx.v1beta1 import service_pb2_grpc
from v4_proto.cosmos.tx.v1beta1.service_pb2 import BroadcastMode, BroadcastTxRequest

from dydx_trader.adapters.dydx.transactions import sign_place_order, sign_stateful_cancel
from dydx_trader.domain.broadcast import (
    Accepted,
    BroadcastOutcome,
    Rejected,
    SignedOrder,
    Unknown,
)
from dydx_trader.domain.errors import OrderOutcomeUnknown, VenueRejected, VenueUnavailable
from dydx_trader.domain.order import OrderIntent

if TYPE_CHECKING:
    from dydx_v4_client.wallet import Wallet

DEFAULT_BROADCAST_TIMEOUT_S = 5.0

# Chain codes (protocol reference 3.8) worth a sentence of their own.
_CLOB_MEANINGS = {
    4: "invalid order quantums",
    5: "invalid good-til-block",
    6: "invalid order subticks",
    7: "the order was already canceled",
    10: "the next block height is past the order's good-til-block",
    11: "good-til-block is further than the short block window",
    12: "size or price is not a multiple of the market's step or tick",
    20: "invalid replacement of an existing order",
    24: "an order with this client id was already fully filled",
    34: "the market's status does not allow this order",
    48: "fill-or-kill is deprecated",
    2001: "reduce-only would increase the position",
    2002: "reduce-only would change the position's side",
    2003: "post-only would cross a maker order",
    2005: "isolated-market subaccount constraints",
    32: "an uncommitted cancel of this stateful order already exists",
    3005: "a stateful order with this id already exists",
    3006: "the stateful order to cancel does not exist",
    3007: "stateful order collateralization check failed",
    5001: "block rate limit exceeded",
    9003: "reduce-only orders must be short-term IOC",
    10001: "equity tier limit on open orders",
}
WRONG_SEQUENCE = 32  # codespace sdk: "account sequence mismatch, expected N, got M"
# sdk ErrTxInMempoolCache: CometBFT's cache holds these exact transaction bytes.
TX_IN_MEMPOOL_CACHE = 19
# x/accountplus: a bot key signing through an authenticator (permissioned key).
ACCOUNTPLUS_CODESPACE = "dydxaccountplus"
AUTHENTICATOR_NOT_FOUND = 1
_ACCOUNTPLUS_MEANINGS = {
    AUTHENTICATOR_NOT_FOUND: "the bot key's authenticator is gone from the account: revoked",
    100: "the bot key's signature does not match its authenticator",
    101: "the bot key's authenticator does not allow this message",
    102: "the bot key's authenticator does not allow this market",
    103: "the bot key's authenticator does not allow this subaccount",
    104: "the bot key's authenticator refused the order",
    105: "the bot key's authenticator refused the order",
}


class OrderGateway:
    """Signs and broadcasts orders for one wallet through one node channel.

    ``timeout_s`` is the gRPC deadline of one broadcast (seconds). The wallet
    is held here and nowhere else; it is never printed (``repr`` hides it).
    With ``authenticator_id`` the wallet holds a bot key (permissioned key) and
    its account number and sequence are the *owner's*: every order names the
    authenticator in the transaction's extension. Stateful transactions are
    signed at an explicit account sequence (:meth:`sign_stateful`,
    :meth:`sign_cancel`); ``sequence_reader`` reads the committed one from the node.
    """

    def __init__(
        self,
        channel: grpc.Channel,
        builder: Builder,
        wallet: Wallet,
        *,
        timeout_s: float = DEFAULT_BROADCAST_TIMEOUT_S,
        authenticator_id: int | None = None,
        sequence_reader: Callable[[], Awaitable[int]] | None = None,
    ) -> None:
        self._stub = service_pb2_grpc.ServiceStub(channel)
        self._builder = builder
        self._wallet = wallet
        self._timeout_s = timeout_s
        self._authenticator_id = authenticator_id
        self._sequence_reader = sequence_reader

    def __repr__(self) -> str:
        return "OrderGateway(wallet=<hidden>)"

    def sign(self, intent: OrderIntent) -> SignedOrder:
        """The signed place-order transaction for ``intent`` (CPU only, no I/O)."""
        options = None
        if self._authenticator_id is not None:
            # The sequence and account number are read now, so a stateful order uses
            # the wallet's sequence exactly as the owner key's path does.
            options = TxOptions(
                [self._authenticator_id], self._wallet.sequence, self._wallet.account_number
            )
        return sign_place_order(self._builder, self._wallet, intent, options)

    def sign_stateful(self, intent: OrderIntent, sequence: int) -> SignedOrder:
        """The signed place-order of a stateful ``intent`` at account ``sequence``."""
        wallet, options = self._at(sequence)
        signed = sign_place_order(self._builder, wallet, intent, options)
        return replace(signed, sequence=sequence)

    def sign_cancel(self, intent: OrderIntent, sequence: int) -> SignedOrder:
        """The signed cancel of ``intent``'s stateful order at account ``sequence``."""
        wallet, options = self._at(sequence)
        signed = sign_stateful_cancel(self._builder, wallet, intent, options)
        return replace(signed, sequence=sequence)

    async def committed_sequence(self) -> int:
        """The account's committed sequence, read from the node."""
        if self._sequence_reader is None:
            raise VenueUnavailable("this order gateway has no node to read the sequence from")
        return await self._sequence_reader()

    def _at(self, sequence: int) -> tuple[Wallet, TxOptions | None]:
        wallet = self._wallet
        if self._authenticator_id is not None:
            return wallet, TxOptions(
                [self._authenticator_id], sequence, wallet.account_number
            )
        return type(wallet)(wallet.key, wallet.account_number, sequence), None

    async def broadcast(self, signed: SignedOrder) -> BroadcastOutcome:
        """Send ``signed`` once and classify the answer. Never raises for the venue."""
        request = BroadcastTxRequest(
            tx_bytes=signed.tx_bytes, mode=BroadcastMode.BROADCAST_MODE_SYNC
        )
        try:
            async with asyncio.timeout(self._timeout_s + 1.0):
                # gRPC's own future, not a worker thread: a burst's broadcasts all
                # wait on the network at once, not a few at a time.
                call = self._stub.BroadcastTx.future(request, timeout=self._timeout_s)
                response = await _answer_of(call)
        except TimeoutError:
            return _unknown(signed, "no answer within the broadcast deadline")
        except grpc.RpcError as error:
            code = error.code() if hasattr(error, "code") else None
            name = code.name if code is not None else "UNKNOWN"
            return _unknown(signed, f"gRPC {name} while broadcasting")
        tx_response = response.tx_response
        if tx_response.code == 0:
            return Accepted(tx_response.txhash or signed.tx_hash)
        if tx_response.codespace == "sdk" and tx_response.code == TX_IN_MEMPOOL_CACHE:
            # These exact bytes reached the node before: not a refusal of this order,
            # the earlier send's outcome stands and the indexer settles it.
            return _unknown(signed, "the node has seen these exact bytes before (sdk code 19)")
        return Rejected(rejection(tx_response.codespace, tx_response.code, tx_response.raw_log))


async def _answer_of(call: grpc.Future) -> Any:
    """The result of a gRPC future, awaited on the event loop (its exception raised).
    A cancelled wait cancels the call; an answer after it is dropped."""
    loop = asyncio.get_running_loop()
    answer: asyncio.Future[Any] = loop.create_future()

    def settle(done: grpc.Future) -> None:
        if answer.done():
            return
        try:
            answer.set_result(done.result())
        except Exception as error:  # noqa: BLE001 - handed to the awaiting caller
            answer.set_exception(error)

    def on_done(done: grpc.Future) -> None:  # in a gRPC thread
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
            loop.call_soon_threadsafe(settle, done)

    call.add_done_callback(on_done)
    try:
        return await answer
    except asyncio.CancelledError:
        call.cancel()
        raise


def rejection(codespace: str, code: int, raw_log: str) -> VenueRejected:
    """The domain error for a non-zero CheckTx answer."""
    meaning = _CLOB_MEANINGS.get(code) if codespace == "clob" else None
    if codespace == ACCOUNTPLUS_CODESPACE:
        meaning = _ACCOUNTPLUS_MEANINGS.get(code)
    if codespace == "sdk" and code == WRONG_SEQUENCE:
        meaning = "account sequence mismatch"
    summary = meaning or "the chain refused the order"
    # raw_log is the chain's own text; it never holds key material.
    return VenueRejected(
        f"{summary} (chain {codespace or '?'} code {code}): {raw_log[:300]}",
        codespace=codespace,
        chain_code=code,
        raw_log=raw_log[:300],
    )


def _unknown(signed: SignedOrder, why: str) -> Unknown:
    return Unknown(
        OrderOutcomeUnknown(
            f"{why}; the order stays in flight until the indexer settles it "
            f"(tx {signed.tx_hash[:16]})",
            tx_hash=signed.tx_hash,
        )
    )


class SequenceSource(Protocol):
    async def account_numbers(self, address: str) -> tuple[int, int]: ...


def sequence_reader(node: SequenceSource, address: str) -> Callable[[], Awaitable[int]]:
    """A reader of ``address``'s committed account sequence on ``node``."""

    async def read() -> int:
        return (await node.account_numbers(address))[1]

    return read
