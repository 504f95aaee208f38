"""Parent and child subaccounts, as the indexer groups them.

The chain knows only subaccounts 0..128000; the indexer (and the web app)
read subaccount ``n`` as a child of parent ``n % 128``: parent ``p`` has the
children ``p, p + 128, p + 256, ...`` (``getChildSubaccountNums``: 1000 of
them). Cross positions live in the parent itself by convention; an isolated
position lives alone in a child of 128 and above, funded by a transfer.
"""

from __future__ import annotations

from typing import Final

from aiohttp import web

from dydx_devnet.indexer_params import int_in, invalid
from dydx_devnet.indexer_view import IndexerView
from dydx_devnet.subaccounts import Subaccount

MAX_PARENT_SUBACCOUNTS: Final = 128
CHILD_SUBACCOUNT_MULTIPLIER: Final = 1000
PARENT_NUMBER_MSG: Final = (
    f"parentSubaccountNumber must be a non-negative integer less than {MAX_PARENT_SUBACCOUNTS}"
)


def parent_of(number: int) -> int:
    """The parent subaccount number of subaccount ``number``."""
    return number % MAX_PARENT_SUBACCOUNTS


def is_child_of(number: int, parent: int) -> bool:
    """Whether subaccount ``number`` is one of parent ``parent``'s children."""
    return (
        parent_of(number) == parent
        and number < MAX_PARENT_SUBACCOUNTS * CHILD_SUBACCOUNT_MULTIPLIER
    )


def read_parent_number(request: web.Request) -> int:
    """``parentSubaccountNumber`` from the path or the query: 0..127, else a 400."""
    value: str | None = request.match_info.get("parentSubaccountNumber")
    location = "params"
    if value is None:
        value, location = request.query.get("parentSubaccountNumber"), "query"
    number = int_in(value, 0, MAX_PARENT_SUBACCOUNTS - 1)
    if number is None:
        raise invalid("parentSubaccountNumber", value, PARENT_NUMBER_MSG, location)
    return number


def children(view: IndexerView, address: str, parent: int) -> list[Subaccount]:
    """The parent's child subaccounts the indexer has seen, by number."""
    return [a for a in view.subaccounts_of(address) if is_child_of(a.number, parent)]
