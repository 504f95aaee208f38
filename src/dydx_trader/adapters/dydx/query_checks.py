"""The indexer's query arguments checked before a request is made: a bad one is
the caller's mistake (``InvalidInput`` / ``UnknownMarket`` naming it), never a
request the indexer answers 400."""

from __future__ import annotations

import re

from dydx_trader.domain.errors import InvalidInput, UnknownMarket

_ADDRESS = re.compile(r"^dydx1[02-9ac-hj-np-z]{38,58}$")
_TICKER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._,-]{0,63}$")
_MAX_SUBACCOUNT = 128_000


def check_address(address: str) -> None:
    if not isinstance(address, str) or not _ADDRESS.match(address):
        raise InvalidInput(f"{address!r} is not a dYdX address (dydx1...)", field="address")


def check_subaccount(number: int) -> None:
    if (
        isinstance(number, bool)
        or not isinstance(number, int)
        or not (0 <= number <= _MAX_SUBACCOUNT)
    ):
        raise InvalidInput(
            f"subaccount number {number!r} is outside 0..{_MAX_SUBACCOUNT}", field="subaccount"
        )


def check_ticker(ticker: str) -> None:
    if not isinstance(ticker, str) or not _TICKER.match(ticker):
        raise UnknownMarket(f"{ticker!r} is not a market ticker (like BTC-USD)", market=str(ticker))


def check_height(name: str, height: int | None) -> None:
    if height is not None and (
        isinstance(height, bool) or not isinstance(height, int) or not 0 < height < 2**63
    ):
        raise InvalidInput(f"{name} {height!r} is not a block height", field=name)


def check_limit(limit: int | None) -> None:
    if limit is not None and not 1 <= limit <= 1000:
        raise InvalidInput(f"limit {limit} is outside 1..1000", limit=limit)
