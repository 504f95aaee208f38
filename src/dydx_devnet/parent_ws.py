"""The ``v4_parent_subaccounts`` WebSocket channel (socks ``V4_PARENT_ACCOUNTS``).

Its id is ``address/p`` with ``p`` below 128. The subscription's snapshot is
the parent subaccount (``/v4/addresses/{address}/parentSubaccountNumber/{p}``),
its children's live orders (as their own snapshots list them) and the indexer
height (``{}`` while the indexer knows no child). Every ``v4_subaccounts``
update of a child ``p + 128·k`` is sent again on the parent's channel with the
child's ``subaccountNumber`` beside the contents; a transfer between two
children of the same parent is left out (socks ``getParentSubaccountContents``).
"""

from __future__ import annotations

from typing import Any

from dydx_devnet import views
from dydx_devnet.engine import Engine
from dydx_devnet.feed import DevnetEvent
from dydx_devnet.parent_api import child_numbers, parent_subaccount
from dydx_devnet.parent_subaccounts import MAX_PARENT_SUBACCOUNTS, parent_of

CHANNEL = "v4_parent_subaccounts"
# Contents waiting for a connection's next batch, each with the child subaccount
# number it came from (None off the parent channel).
Batch = list[tuple[int | None, Any]]


def by_subaccount_number(entries: Batch) -> dict[int | None, list[Any]]:
    """A batch split by subaccount number: socks sends one batch message per number."""
    grouped: dict[int | None, list[Any]] = {}
    for number, contents in entries:
        grouped.setdefault(number, []).append(contents)
    return grouped


def valid_id(channel_id: str) -> bool:
    """``address/p`` with ``p`` a parent number (0..127)."""
    owner, _, number = channel_id.rpartition("/")
    return (
        bool(owner)
        and number.isdigit()
        and len(number) <= 3
        and int(number) < MAX_PARENT_SUBACCOUNTS
    )


def parent_event(event: DevnetEvent) -> tuple[DevnetEvent, int] | None:
    """The parent channel's copy of a child's ``v4_subaccounts`` update, and the child number."""
    if event.channel != "v4_subaccounts" or event.id is None:
        return None
    owner, _, number_text = event.id.rpartition("/")
    number = int(number_text)
    contents = dict(event.contents)
    transfer = contents.get("transfers")
    if transfer is not None and _within_parent(transfer):
        del contents["transfers"]
    return DevnetEvent(CHANNEL, f"{owner}/{parent_of(number)}", contents), number


def _within_parent(transfer: dict[str, Any]) -> bool:
    sender, recipient = transfer["sender"], transfer["recipient"]
    if sender["address"] != recipient["address"]:
        return False
    numbers = (sender.get("subaccountNumber"), recipient.get("subaccountNumber"))
    if None in numbers:
        return False
    return parent_of(int(numbers[0])) == parent_of(int(numbers[1]))


def snapshot(engine: Engine, channel_id: str) -> dict[str, Any]:
    """The ``subscribed`` contents of a parent subscription."""
    owner, _, number = channel_id.rpartition("/")
    parent = int(number)
    body = parent_subaccount(engine, owner, parent)
    if body is None:
        return {}
    orders: list[dict[str, Any]] = []
    for child in child_numbers(engine, owner, parent):
        # Each child's orders as its own subscription lists them.
        child_id = f"{owner}/{child}"
        orders += views.subscribed_contents(engine, "v4_subaccounts", child_id)["orders"]
    with engine.lock:
        height = engine.indexer_view().height
    return {"subaccount": body, "orders": orders, "blockHeight": str(height)}
