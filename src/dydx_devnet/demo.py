"""Well-known devnet demo accounts.

PUBLIC, DEVNET-ONLY TEST KEYS. These mnemonics are printed in this source file
and hold value nowhere; they were generated for the dydx-trader devnet and must
never be used on mainnet or testnet. They exist so that paper trading and tests
have a signer whose address is known in advance.
"""

from __future__ import annotations

from typing import Final

# Demo trader (account created and funded by the devnet faucet on request).
DEMO_MNEMONIC: Final = (
    "learn famous quarter seminar tower gather drop case faint candy shoot camp "
    "fragile energy crystal brush tomato become raven inner weekend vicious guess patch"
)
DEMO_ADDRESS: Final = "dydx1xx4evg0695an5nvhnmuw9wp3umwdpsguyxzhmp"

# A second demo trader, e.g. the other side of a test.
DEMO_MNEMONIC_2: Final = (
    "olympic earn saddle gown start pizza lava snack valley mouse that possible pipe "
    "fatigue swallow blast avocado nest absurd pigeon glow snow practice kid"
)
DEMO_ADDRESS_2: Final = "dydx1tzfdj2f8tuadmemnzkszyesqectx3fqsn5a9f6"

# Demo bot key: signs the demo trader's orders through a permissioned-key
# authenticator (``x/accountplus``), as a live bot signs with its own hot key.
# Its address holds nothing and is never funded: the orders it signs trade the
# demo trader's subaccount.
DEMO_BOT_MNEMONIC: Final = (
    "eager crew awake man fun member climb cave camp modify toward leaf wine palm "
    "debate tip turtle harbor net silk october require because comic"
)
DEMO_BOT_PUBLIC_KEY_HEX: Final = (
    "03a5d9a4cd2065547b7e400758a40cdacb829edf5d52165fe56b676ee35b4843ef"
)
