"""Trading with a bot key: a permissioned key that signs for the owner's account.

The address traded is the owner's; the signer is the bot key; every order names
the owner's authenticator in the transaction's extension (see
:mod:`.authenticators`). Three pieces, for the composition root:

* :func:`key_pair`: the key from its secret (a mnemonic or a hex private
  key), revealed here and nowhere else;
* :func:`verify_bot_authenticator`: the start-up check. The authenticator must
  be on the account, accept this key, allow placing and cancelling orders, and
  cover the configured subaccount; otherwise the trader refuses to start with
  one line saying what is missing;
* :func:`bot_key_gateway`: the order gateway signing through the authenticator,
  wrapped in :class:`RevocationWatch`, which reports a revoked authenticator
  (the chain's ``dydxaccountplus`` code 1 on an order) so trading halts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from dydx_v4_client.key_pair import KeyPair
from dydx_v4_client.node.builder import Builder
from dydx_v4_client.wallet import Wallet

from dydx_trader.adapters.dydx.authenticators import (
    AccountAuthenticator,
    allowed_clob_pairs,
    bot_key_problem,
    decode_authenticator,
)
from dydx_trader.adapters.dydx.node import NodeGateway
from dydx_trader.adapters.dydx.order_gateway import (
    ACCOUNTPLUS_CODESPACE,
    AUTHENTICATOR_NOT_FOUND,
    OrderGateway,
    sequence_reader,
)
from dydx_trader.app.ports import OrderSender, StatefulSender
from dydx_trader.domain.broadcast import BroadcastOutcome, Rejected, SignedOrder
from dydx_trader.domain.errors import MalformedPayload, SecretUnavailable, VenueRejected
from dydx_trader.domain.order import OrderIntent
from dydx_trader.secrets import Secret

log = logging.getLogger(__name__)


def key_pair(secret: Secret) -> KeyPair:
    """The secp256k1 key of a secret: BIP-39 mnemonic words, or 64 hex digits."""
    text = secret.reveal()
    try:
        return KeyPair.from_mnemonic(text) if " " in text else KeyPair.from_hex(text)
    except Exception:  # noqa: BLE001 - never echo the library's message: it may quote the key
        raise SecretUnavailable(
            "the key is neither a valid BIP-39 mnemonic nor a secp256k1 private key"
        ) from None


def public_key_of(key: KeyPair) -> bytes:
    """The 33-byte compressed public key (what a SignatureVerification names)."""
    return bytes(key.public_key_bytes)


class AuthenticatorReader(Protocol):
    async def authenticators(self, address: str) -> tuple[tuple[int, str, bytes], ...]: ...


async def verify_bot_authenticator(
    node: AuthenticatorReader,
    *,
    owner: str,
    subaccount_number: int,
    authenticator_id: int,
    public_key: bytes,
) -> AccountAuthenticator:
    """Read ``owner``'s authenticators and check the selected one for the trader.

    Raises :class:`SecretUnavailable` with one line saying what is missing.
    """
    remedy = (
        f"create one with `dydx-trader keys create-bot-key --address {owner} "
        f"--subaccount {subaccount_number}` and set account.authenticator_id"
    )
    found = await node.authenticators(owner)
    for found_id, kind, config in found:
        if found_id != authenticator_id:
            continue
        try:
            tree = decode_authenticator(kind, config)
        except MalformedPayload as error:
            raise SecretUnavailable(
                f"authenticator {authenticator_id} of {owner} cannot be read ({error.message}); "
                f"{remedy}"
            ) from None
        problem = bot_key_problem(tree, public_key=public_key, subaccount_number=subaccount_number)
        if problem is not None:
            raise SecretUnavailable(
                f"authenticator {authenticator_id} of {owner} {problem}; {remedy}"
            )
        return AccountAuthenticator(authenticator_id, tree)
    ids = ", ".join(str(found_id) for found_id, _, _ in found) or "none"
    raise SecretUnavailable(
        f"{owner} has no authenticator {authenticator_id} (it has: {ids}); it may have been "
        f"revoked; {remedy}"
    )


def is_revocation(error: VenueRejected) -> bool:
    """True when the chain refused an order because its authenticator is gone."""
    numbers = error.numbers
    return (
        numbers.get("codespace") == ACCOUNTPLUS_CODESPACE
        and numbers.get("chain_code") == AUTHENTICATOR_NOT_FOUND
    )


class RevocationWatch:
    """An order sender that notices the bot key's authenticator being revoked.

    Every outcome is passed on unchanged (the order is journaled as rejected with
    the chain's code); a revocation also calls ``on_revoked(reason)`` once per
    order, which the composition root points at the risk guard's halt.
    """

    def __init__(
        self, sender: OrderSender, authenticator_id: int, on_revoked: Callable[[str], None]
    ) -> None:
        self._sender = sender
        self._authenticator_id = authenticator_id
        self._on_revoked = on_revoked

    def __repr__(self) -> str:
        return f"RevocationWatch({self._sender!r}, authenticator_id={self._authenticator_id})"

    def sign(self, intent: OrderIntent) -> SignedOrder:
        return self._sender.sign(intent)

    def sign_stateful(self, intent: OrderIntent, sequence: int) -> SignedOrder:
        return self._stateful().sign_stateful(intent, sequence)

    def sign_cancel(self, intent: OrderIntent, sequence: int) -> SignedOrder:
        return self._stateful().sign_cancel(intent, sequence)

    async def committed_sequence(self) -> int:
        return await self._stateful().committed_sequence()

    def _stateful(self) -> StatefulSender:
        if not isinstance(self._sender, StatefulSender):
            raise SecretUnavailable("this bot key's sender cannot sign stateful orders")
        return self._sender

    async def broadcast(self, signed: SignedOrder) -> BroadcastOutcome:
        outcome = await self._sender.broadcast(signed)
        if isinstance(outcome, Rejected) and is_revocation(outcome.error):
            self._on_revoked(
                f"the bot key was revoked: authenticator {self._authenticator_id} is no longer "
                "on the account (chain dydxaccountplus code 1); add a new one with "
                "`dydx-trader keys create-bot-key` and set account.authenticator_id"
            )
        return outcome


async def bot_key_gateway(
    node: NodeGateway,
    builder: Builder,
    *,
    owner: str,
    subaccount_number: int,
    authenticator_id: int,
    bot_key: Secret,
    timeout_s: float,
    on_revoked: Callable[[str], None],
) -> RevocationWatch:
    """Check the bot key against the chain, then the gateway that signs with it."""
    key = key_pair(bot_key)
    public_key = public_key_of(key)
    authenticator = await verify_bot_authenticator(
        node,
        owner=owner,
        subaccount_number=subaccount_number,
        authenticator_id=authenticator_id,
        public_key=public_key,
    )
    pairs = allowed_clob_pairs(authenticator.tree, public_key)
    log.info(
        "signing with bot key %s through authenticator %d of %s/%d (clob pairs: %s)",
        public_key.hex(),
        authenticator_id,
        owner,
        subaccount_number,
        "all" if pairs is None else ", ".join(map(str, sorted(pairs))),
    )
    numbers = await node.account_numbers(owner)
    gateway = OrderGateway(
        node.channel,
        builder,
        Wallet(key, *numbers),
        timeout_s=timeout_s,
        authenticator_id=authenticator_id,
        sequence_reader=sequence_reader(node, owner),
    )
    return RevocationWatch(gateway, authenticator_id, on_revoked)
