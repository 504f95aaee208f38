"""Owner-signed authenticator changes: add a bot key's authenticator, or revoke one.

Unlike orders, these sign with the *owner's* key (its mnemonic, used once by
``dydx-trader keys`` and dropped). They go through the official client's
``add_authenticator`` / ``remove_authenticator`` (a simulation, then a broadcast
paying the fee the simulation asks for), in a worker thread under a deadline,
because the client's gRPC calls block. The chain applies the change in the
next block, so both wait until :meth:`NodeGateway.authenticators` shows it.

A change whose answer is lost is not retried: it may have landed, and the
error says to look with ``dydx-trader keys list``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import grpc
from dydx_v4_client.key_pair import KeyPair
from dydx_v4_client.node.authenticators import Authenticator
from dydx_v4_client.node.builder import Builder
from dydx_v4_client.node.client import NodeClient, QueryNodeClient, SequenceManager
from dydx_v4_client.node.message import add_authenticator as add_authenticator_message
from dydx_v4_client.wallet import Wallet

from dydx_trader.adapters.dydx.authenticators import (
    AuthenticatorNode,
    decode_authenticator,
)
from dydx_trader.adapters.dydx.bot_key import key_pair
from dydx_trader.adapters.dydx.network import USDC_DENOM
from dydx_trader.adapters.dydx.node import NodeGateway
from dydx_trader.adapters.dydx.order_gateway import rejection
from dydx_trader.domain.errors import (
    InvalidInput,
    MalformedPayload,
    SecretUnavailable,
    VenueUnavailable,
)
from dydx_trader.secrets import Secret

POLL_S = 0.2
T = TypeVar("T")
Listing = tuple[tuple[int, str, bytes], ...]


def owner_key_pair(mnemonic: Secret, address: str) -> KeyPair:
    """The owner's key from its mnemonic, checked against ``address``."""
    key = key_pair(mnemonic)
    if Wallet(key, 0, 0).address != address:
        raise SecretUnavailable(f"the mnemonic does not belong to {address}")
    return key


class KeyAdmin:
    """Changes ``owner``'s authenticators, signing with ``owner_key``.

    ``timeout_s`` bounds one send (seconds); ``wait_s`` how long to wait for the
    next block to show the change.
    """

    def __init__(
        self,
        node: NodeGateway,
        chain_id: str,
        owner_key: KeyPair,
        *,
        timeout_s: float = 10.0,
        wait_s: float = 30.0,
    ) -> None:
        self._node = node
        self._owner_key = owner_key
        self.owner = Wallet(owner_key, 0, 0).address
        builder = Builder(chain_id, USDC_DENOM)
        self._client = NodeClient(
            node.channel, builder, SequenceManager(QueryNodeClient(node.channel))
        )
        self._timeout_s = timeout_s
        self._wait_s = wait_s

    def __repr__(self) -> str:
        return f"KeyAdmin(owner={self.owner}, key=<hidden>)"

    async def add(self, authenticator: Authenticator) -> int:
        """Add ``authenticator``; its id once the chain lists it."""
        before = {found_id for found_id, _, _ in await self._node.authenticators(self.owner)}
        # What the chain will store: the client re-encodes nested configs as base64.
        sent = add_authenticator_message(self.owner, authenticator.type, authenticator.config)
        expected = decode_authenticator(str(authenticator.type.value), bytes(sent.data))
        wallet = await self._wallet()
        await self._send(
            "adding the authenticator",
            lambda: self._client.add_authenticator(wallet, authenticator),
        )

        def added(found: Listing) -> int | None:
            new = [
                i for i, kind, config in found if i not in before and _is(kind, config, expected)
            ]
            return max(new) if new else None

        return await self._until("the new authenticator", added)

    async def remove(self, authenticator_id: int) -> None:
        """Remove authenticator ``authenticator_id``; returns once the chain no longer lists it."""
        present = [found_id for found_id, _, _ in await self._node.authenticators(self.owner)]
        if authenticator_id not in present:
            ids = ", ".join(map(str, present)) or "none"
            raise InvalidInput(
                f"{self.owner} has no authenticator {authenticator_id} (it has: {ids})"
            )
        wallet = await self._wallet()
        await self._send(
            "removing the authenticator",
            lambda: self._client.remove_authenticator(wallet, authenticator_id),
        )

        def removed(found: Listing) -> bool | None:
            return True if all(i != authenticator_id for i, _, _ in found) else None

        await self._until(f"authenticator {authenticator_id} to go", removed)

    async def _wallet(self) -> Wallet:
        return Wallet(self._owner_key, *(await self._node.account_numbers(self.owner)))

    async def _send(self, what: str, call: Callable[[], Coroutine[Any, Any, Any]]) -> None:
        try:
            async with asyncio.timeout(self._timeout_s):
                response = await asyncio.to_thread(asyncio.run, call())
        except TimeoutError:
            raise VenueUnavailable(
                f"no answer {what} within {self._timeout_s} s; it may still land: check "
                "`dydx-trader keys list` before trying again"
            ) from None
        except grpc.RpcError as error:
            details = error.details() if hasattr(error, "details") else ""
            raise VenueUnavailable(f"the node refused {what}: {str(details)[:300]}") from None
        except ValueError as error:  # the client's own safety check of the tree
            raise InvalidInput(f"{what}: {error}") from None
        tx = response.tx_response
        if tx.code != 0:
            raise rejection(tx.codespace, tx.code, tx.raw_log)

    async def _until(self, what: str, found: Callable[[Listing], T | None]) -> T:
        deadline = time.monotonic() + self._wait_s
        while True:
            result = found(await self._node.authenticators(self.owner))
            if result is not None:
                return result
            if time.monotonic() > deadline:
                raise VenueUnavailable(
                    f"the chain accepted the transaction but did not show {what} within "
                    f"{self._wait_s} s; check `dydx-trader keys list`"
                )
            await asyncio.sleep(POLL_S)


def _is(kind: str, config: bytes, expected: AuthenticatorNode) -> bool:
    try:
        return decode_authenticator(kind, config) == expected
    except MalformedPayload:
        return False
