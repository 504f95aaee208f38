"""The indexer's memory of recent blocks, so that a lagging indexer serves *old state*.

A real indexer that falls behind answers with the state of the last block it
processed: balances, positions, orders and fills as they were then. To show
that, the devnet keeps, for the last ``capacity`` blocks:

* each finished block's time and oracle prices (a ring);
* a version of every subaccount and every order each time one changes, stamped
  with the height of the change (CheckTx changes carry the current height, as
  their fills do). Versions older than the ring are dropped, except the last
  one before it, which is the object's state throughout the ring.

Fills need no versions: they are append-only and carry their height.
:meth:`IndexerHistory.account_at` and :meth:`IndexerHistory.order_at` rebuild
an object as of a past height; everything is plain copies, never the live objects.
"""

from __future__ import annotations

import copy
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from dydx_devnet.orders import OrderState
from dydx_devnet.subaccounts import Position, Subaccount

SubaccountKey = tuple[str, int]
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class BlockRecord:
    """A finished block: its height, chain time (ms) and oracle integers by ticker."""

    height: int
    block_time_ms: int
    prices: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class _AccountVersion:
    usdc: int
    positions: dict[str, Position]
    closed_count: int
    updated_at_height: int


class _Versions(Generic[_T]):
    """``(height, value)`` versions of one object, oldest first."""

    __slots__ = ("items",)

    def __init__(self) -> None:
        self.items: list[tuple[int, _T]] = []

    def add(self, height: int, value: _T, floor: int) -> None:
        if self.items and self.items[-1][0] == height:
            self.items[-1] = (height, value)
        else:
            self.items.append((height, value))
        # Keep one version at or below the ring's floor: the state all through the ring.
        while len(self.items) > 1 and self.items[1][0] <= floor:
            del self.items[0]

    def at(self, height: int) -> _T | None:
        for version_height, value in reversed(self.items):
            if version_height <= height:
                return value
        return None


class IndexerHistory:
    """Per-block views of the last ``capacity`` blocks."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._blocks: deque[BlockRecord] = deque(maxlen=capacity + 1)
        self._accounts: dict[SubaccountKey, _Versions[_AccountVersion]] = {}
        self._orders: dict[str, _Versions[OrderState]] = {}
        self._account_orders: dict[SubaccountKey, list[str]] = {}

    # -- recording (under the engine lock) ----------------------------------------------

    def close_block(self, height: int, block_time_ms: int, prices: Mapping[str, int]) -> None:
        """Remember block ``height`` as it ended: its time and final oracle prices."""
        self._blocks.append(BlockRecord(height, block_time_ms, dict(prices)))

    def record_account(self, height: int, account: Subaccount) -> None:
        """A version of ``account`` as it is now, changed at ``height``."""
        version = _AccountVersion(
            usdc=account.usdc,
            positions={t: copy.copy(p) for t, p in account.positions.items()},
            closed_count=len(account.closed_positions),
            updated_at_height=account.updated_at_height,
        )
        key = (account.address, account.number)
        self._accounts.setdefault(key, _Versions()).add(height, version, height - self.capacity)

    def record_order(self, height: int, order: OrderState) -> None:
        """A version of ``order`` as it is now, changed at ``height``."""
        versions = self._orders.get(order.uuid)
        if versions is None:
            versions = self._orders[order.uuid] = _Versions()
            key = (order.address, order.subaccount_number)
            self._account_orders.setdefault(key, []).append(order.uuid)
        versions.add(height, copy.copy(order), height - self.capacity)

    # -- reading ------------------------------------------------------------------------

    def block(self, height: int) -> BlockRecord | None:
        """The record of a finished block still in the ring."""
        for record in reversed(self._blocks):
            if record.height == height:
                return record
        return None

    def account_at(
        self, key: SubaccountKey, height: int, live: Subaccount | None
    ) -> Subaccount | None:
        """Subaccount ``key`` as of ``height`` (``None``: it did not exist yet).

        ``live`` is the current object, whose closed positions are shared
        (closed positions never change again).
        """
        versions = self._accounts.get(key)
        version = None if versions is None else versions.at(height)
        if version is None or live is None:
            return None
        return Subaccount(
            address=key[0],
            number=key[1],
            usdc=version.usdc,
            positions={t: copy.copy(p) for t, p in version.positions.items()},
            closed_positions=live.closed_positions[: version.closed_count],
            updated_at_height=version.updated_at_height,
            uuid=live.uuid,
        )

    def order_at(self, uuid: str, height: int) -> OrderState | None:
        """Order ``uuid`` as of ``height`` (``None``: not yet placed)."""
        versions = self._orders.get(uuid)
        return None if versions is None else versions.at(height)

    def orders_at(self, key: SubaccountKey, height: int) -> list[OrderState]:
        """A subaccount's orders as of ``height``, newest (last recorded) first."""
        found = [self.order_at(uuid, height) for uuid in self._account_orders.get(key, ())]
        present = [order for order in found if order is not None]
        return sorted(present, key=lambda order: order.recorded_index, reverse=True)
