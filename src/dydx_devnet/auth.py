"""The chain's auth accounts: number, sequence and public key per address.

An account exists once the faucet has funded its address (as on the testnet,
where the faucet's bank send creates it). The sequence follows the chain:
CheckTx bumps the *pending* sequence of an accepted sequenced transaction,
while the ``auth.Account`` query answers the *committed* one, which catches up
when the block holding the transaction is committed. Two stateful orders sent
from the committed sequence inside one block therefore meet the chain's
``account sequence mismatch`` (protocol reference, trap T11).
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field

import bech32
from Crypto.Hash import RIPEMD160

ADDRESS_PREFIX = "dydx"


def address_from_public_key(compressed_public_key: bytes) -> str:
    """bech32("dydx", ripemd160(sha256(pubkey))) of a 33-byte compressed secp256k1 key."""
    digest = RIPEMD160.new(hashlib.sha256(compressed_public_key).digest()).digest()
    words = bech32.convertbits(digest, 8, 5)
    if words is None:  # pragma: no cover - convertbits fails only on out-of-range input
        raise ValueError("cannot convert the key hash to bech32 words")
    return str(bech32.bech32_encode(ADDRESS_PREFIX, words))


def is_valid_address(address: str) -> bool:
    """True for a well-formed ``dydx1...`` account address (20-byte payload, valid checksum)."""
    if not isinstance(address, str) or len(address) > 90:
        return False
    prefix, words = bech32.bech32_decode(address)
    if prefix != ADDRESS_PREFIX or words is None:
        return False
    data = bech32.convertbits(words, 5, 8, False)
    return data is not None and len(data) == 20


@dataclass(slots=True)
class Account:
    """One auth account. ``sequence`` is the check-state (pending) sequence."""

    address: str
    account_number: int
    sequence: int = 0
    public_key: bytes | None = None
    # Engine heights at which sequenced transactions were accepted; each is
    # committed once the chain has moved past that height.
    pending_heights: list[int] = field(default_factory=list)

    def committed_sequence(self, height: int) -> int:
        self.pending_heights = [h for h in self.pending_heights if h >= height]
        return self.sequence - len(self.pending_heights)


class AccountRegistry:
    """Thread-safe auth accounts keyed by address (gRPC threads and the loop share it)."""

    def __init__(self, first_account_number: int = 1) -> None:
        self._lock = threading.Lock()
        self._accounts: dict[str, Account] = {}
        self._next_number = first_account_number

    def ensure(self, address: str) -> Account:
        """The account of ``address``, created with the next account number if new."""
        with self._lock:
            account = self._accounts.get(address)
            if account is None:
                account = Account(address, self._next_number)
                self._next_number += 1
                self._accounts[address] = account
            return account

    def get(self, address: str) -> Account | None:
        with self._lock:
            return self._accounts.get(address)

    def snapshot(self, address: str, height: int) -> tuple[int, int] | None:
        """(account number, committed sequence) at engine ``height``, or None if unknown."""
        with self._lock:
            account = self._accounts.get(address)
            if account is None:
                return None
            return account.account_number, account.committed_sequence(height)

    def expected_sequence(self, address: str) -> int | None:
        """The sequence CheckTx expects next (pending state), or None if unknown."""
        with self._lock:
            account = self._accounts.get(address)
            return None if account is None else account.sequence

    def bind_public_key(self, address: str, public_key: bytes) -> None:
        """Remember the key that first signed for ``address`` (the chain's SetPubKey)."""
        with self._lock:
            account = self._accounts.get(address)
            if account is not None and account.public_key is None:
                account.public_key = public_key

    def increment_sequence(self, address: str, height: int) -> None:
        """An accepted sequenced transaction at engine ``height``."""
        with self._lock:
            account = self._accounts.get(address)
            if account is not None:
                account.sequence += 1
                account.pending_heights.append(height)

    def __len__(self) -> int:
        with self._lock:
            return len(self._accounts)
