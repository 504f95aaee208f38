"""dYdX addresses: ``dydx1...`` bech32 strings, checksum verified.

A dYdX account address is ``bech32("dydx", RIPEMD160(SHA256(pubkey)))``: the
human-readable part ``dydx``, the separator ``1``, then the data and a
six-character checksum in the bech32 alphabet. The checksum catches any one
mistyped character, so a typo is refused here with a line naming the problem
instead of reading later as "this subaccount was never funded".
"""

from __future__ import annotations

import bech32

from dydx_trader.domain.errors import InvalidInput

PREFIX = "dydx"
_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
# Account addresses carry 20 bytes; module and contract accounts carry 32.
_DATA_BYTES = (20, 32)
_MAX_LENGTH = 90  # bech32's own limit


def check_address(address: object, *, field: str = "address") -> str:
    """``address`` if it is a valid dYdX bech32 address; else :class:`InvalidInput`
    naming what is wrong (prefix, a character, the length or the checksum)."""
    if not isinstance(address, str):
        raise InvalidInput(f"{field} must be text, not {type(address).__name__}", field=field)
    problem = address_problem(address)
    if problem is not None:
        shown = repr(address[:_MAX_LENGTH])
        raise InvalidInput(f"{shown} is not a dYdX address: {problem}", field=field)
    return address


def address_problem(address: str) -> str | None:
    """What is wrong with ``address`` as a dYdX address, or None when it is valid."""
    if address != address.lower():
        return "use lower case"
    if not address.startswith(f"{PREFIX}1"):
        return f"it must start with {PREFIX}1"
    body = address[len(PREFIX) + 1 :]
    for position, char in enumerate(body, start=len(PREFIX) + 2):
        if char not in _CHARSET:
            return (
                f"character {position} ({char!r}) is not used in addresses "
                "(no 1, b, i or o after the prefix)"
            )
    if len(address) > _MAX_LENGTH or len(body) < 6 + 32:
        return f"{len(address)} characters, an account address has 43"
    hrp, data = bech32.bech32_decode(address)
    if hrp is None or data is None:
        return "its checksum does not match (a character is mistyped; copy the address again)"
    payload = bech32.convertbits(data, 5, 8, False)
    if payload is None or len(payload) not in _DATA_BYTES:
        size = "no" if payload is None else len(payload)
        return f"it decodes to {size} bytes, an account has 20"
    return None
