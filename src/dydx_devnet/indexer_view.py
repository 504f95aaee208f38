"""What the indexer can see: the chain state as of the indexer's height.

That is the state as of the last block it processed (``height``; held back by
``n`` blocks with :meth:`dydx_devnet.engine.Engine.set_indexer_lag`), rebuilt
from :class:`~dydx_devnet.history.IndexerHistory`: balances, positions (valued
at that block's oracle prices), orders and fills as they were then. What
CheckTx changed since belongs to the next block and is not shown yet (fills
are optimistic until a block includes them). Short-term orders resting on the
book are seen at once through vulcan's Redis (``BEST_EFFORT_OPENED``); see
:mod:`dydx_devnet.indexer_orders`. A fill delay of ``k`` blocks hides fills
younger than ``k`` blocks more. Build one with :meth:`Engine.indexer_view`
while holding the engine lock, and use it within that lock.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dydx_devnet.indexer_orders import is_stored
from dydx_devnet.orders import OrderState
from dydx_devnet.state import EngineState
from dydx_devnet.subaccounts import Subaccount


class IndexerView:
    """The indexer's state at :attr:`height` (chain height minus the lag)."""

    def __init__(self, state: EngineState) -> None:
        self._state = state
        self.height = state.indexer_height
        self.live = self.height >= state.stamp_height  # only while a block is produced
        self.fills_height = self.height - state.fill_delay
        record = None if self.live else state.history.block(self.height)
        # None: live prices (also before genesis, where there is no older block).
        self.prices: Mapping[str, int] | None = None if record is None else record.prices
        self.block_time_ms = state.block_time_at(self.height)

    def price_value(self, ticker: str) -> int:
        """The oracle integer of ``ticker`` at :attr:`height`."""
        if self.prices is not None and ticker in self.prices:
            return self.prices[ticker]
        return self._state.markets[ticker].price_value

    def subaccount(self, address: str, number: int) -> Subaccount | None:
        """The subaccount as of :attr:`height`; ``None`` = the indexer has not seen it."""
        live = self._state.subaccounts.get((address, number))
        if self.live:
            return live
        return self._state.history.account_at((address, number), self.height, live)

    def subaccounts_of(self, address: str) -> list[Subaccount]:
        """``address``'s subaccounts as of :attr:`height`, by number."""
        keys = sorted(k for k in self._state.subaccounts if k[0] == address)
        found = [self.subaccount(*key) for key in keys]
        return [account for account in found if account is not None]

    def orders_of(self, address: str, number: int) -> list[tuple[OrderState, bool]]:
        """A subaccount's orders the indexer lists, newest first, each with whether
        it is stored (Postgres) or only resting in Redis (``BEST_EFFORT_OPENED``)."""
        found: dict[str, tuple[OrderState, bool]] = {}
        for version in self._state.history.orders_at((address, number), self.height):
            if is_stored(version):
                found[version.uuid] = (version, True)
        for order in reversed(self._state.subaccount_orders.get((address, number), [])):
            if order.resting and not order.is_stateful and order.uuid not in found:
                found[order.uuid] = (order, False)
        return sorted(found.values(), key=lambda item: item[0].recorded_index, reverse=True)

    def order(self, uuid: str) -> tuple[OrderState, bool] | None:
        """Order ``uuid`` and whether it is stored; ``None`` = the indexer answers 404."""
        version = self._state.history.order_at(uuid, self.height)
        if version is not None and is_stored(version):
            return version, True
        live = self._state.orders_by_uuid.get(uuid)
        if live is not None and live.resting and not live.is_stateful:
            return live, False
        return None

    def fills_of(self, address: str, number: int) -> list[dict[str, Any]]:
        """A subaccount's REST fills the indexer shows, oldest first."""
        fills = self._state.fills.get((address, number), [])
        return [f for f in fills if int(f["createdAtHeight"]) <= self.fills_height]
