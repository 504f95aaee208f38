"""``x/bank``: coin balances of addresses, as the chain's bank keeper keeps them.

Balances are integers of a denom's smallest unit: USDC in quote quantums
(``ibc/8E27…``, 6 decimals), the native token in ``adv4tnt`` (18 decimals).
Module accounts (the fee collector, the subaccounts' collateral pool) have
the chain's module addresses and cannot receive a bank send, as on the chain.
Read and change balances only while holding the engine lock.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Final

import bech32

from dydx_devnet.auth import ADDRESS_PREFIX
from dydx_devnet.codes import SDK

USDC_DENOM: Final = "ibc/8E27BA2D5493AF5636760E354E46004562C46AB7EC0CC4C1CA14E9E20E2545B5"
NATIVE_DENOM: Final = "adv4tnt"
_DENOM_RE: Final = re.compile(r"^[a-zA-Z][a-zA-Z0-9/:._-]{2,127}$")

# sdk codespace codes (cosmos-sdk types/errors/errors.go)
INSUFFICIENT_FUNDS: Final = 5
INVALID_ADDRESS: Final = 7
INVALID_COINS: Final = 10
UNAUTHORIZED: Final = 4


def module_address(name: str) -> str:
    """The bech32 address of a module account (``authtypes.NewModuleAddress``)."""
    digest = hashlib.sha256(name.encode()).digest()[:20]
    words = bech32.convertbits(digest, 8, 5)
    assert words is not None
    return str(bech32.bech32_encode(ADDRESS_PREFIX, words))


FEE_COLLECTOR: Final = module_address("fee_collector")
SUBACCOUNTS_POOL: Final = module_address("subaccounts")
# The devnet's faucet: an ordinary-looking address whose balances are minted on demand.
FAUCET_ADDRESS: Final = module_address("dydx-devnet-faucet")
BLOCKED_ADDRESSES: Final = frozenset({FEE_COLLECTOR, SUBACCOUNTS_POOL})


def is_valid_denom(denom: str) -> bool:
    """``sdk.ValidateDenom``: a letter, then 2 to 127 of ``[a-zA-Z0-9/:._-]``."""
    return bool(_DENOM_RE.match(denom))


def coins_text(coins: list[tuple[str, int]]) -> str:
    """Coins as the SDK prints them: ``10ibc/8E27…,5adv4tnt`` (empty for none)."""
    return ",".join(f"{amount}{denom}" for denom, amount in coins)


@dataclass(frozen=True)
class BankError(Exception):
    """A bank refusal: ``code`` in the ``sdk`` codespace and the chain's log text."""

    code: int
    log: str
    codespace: str = SDK

    def __str__(self) -> str:
        return self.log


def require_receivable(address: str) -> None:
    """``BlockedAddr``: module accounts cannot receive a bank send or a withdrawal."""
    if address in BLOCKED_ADDRESSES:
        raise BankError(UNAUTHORIZED, f"{address} is not allowed to receive funds: unauthorized")


class Bank:
    """Balances by address and denom; the only place coins move."""

    def __init__(self) -> None:
        self._balances: dict[str, dict[str, int]] = defaultdict(dict)

    def balance(self, address: str, denom: str) -> int:
        return self._balances.get(address, {}).get(denom, 0)

    def balances_of(self, address: str) -> list[tuple[str, int]]:
        """Non-zero ``(denom, amount)`` of ``address``, sorted by denom (as the chain lists)."""
        held = self._balances.get(address, {})
        return sorted((denom, amount) for denom, amount in held.items() if amount > 0)

    def supply(self, denom: str) -> int:
        """Coins of ``denom`` held by every address (the subaccounts' USDC is not counted)."""
        return sum(held.get(denom, 0) for held in self._balances.values())

    def holders(self) -> list[str]:
        """Addresses holding anything, sorted."""
        return sorted(address for address in self._balances if self.balances_of(address))

    def mint(self, address: str, denom: str, amount: int) -> None:
        """Credit newly created coins (the devnet's faucet and deposits' counterpart)."""
        if amount <= 0:
            raise ValueError(f"minted amount must be positive, got {amount}")
        held = self._balances[address]
        held[denom] = held.get(denom, 0) + amount

    def require_funds(self, address: str, coins: list[tuple[str, int]]) -> None:
        """Raise :class:`BankError` unless ``address`` holds all of ``coins``."""
        held = self._balances.get(address, {})
        for denom, amount in coins:
            have = held.get(denom, 0)
            if have < amount:
                raise BankError(
                    INSUFFICIENT_FUNDS,
                    f"spendable balance {have}{denom} is smaller than {amount}{denom}: "
                    "insufficient funds",
                )

    def spend(self, address: str, coins: list[tuple[str, int]]) -> None:
        """Take ``coins`` from ``address`` (``subUnlockedCoins``); all or nothing."""
        self.require_funds(address, coins)
        held = self._balances[address]
        for denom, amount in coins:
            held[denom] -= amount

    def send(self, sender: str, recipient: str, coins: list[tuple[str, int]]) -> None:
        """``SendCoins``: all or nothing; module accounts cannot receive."""
        require_receivable(recipient)
        self.spend(sender, coins)
        for denom, amount in coins:
            self.mint(recipient, denom, amount)


__all__ = [
    "FAUCET_ADDRESS",
    "FEE_COLLECTOR",
    "NATIVE_DENOM",
    "USDC_DENOM",
    "Bank",
    "BankError",
    "coins_text",
    "is_valid_denom",
    "module_address",
]
