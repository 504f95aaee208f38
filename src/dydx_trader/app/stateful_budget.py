"""The chain's block rate limit on stateful orders, kept on our side.

``x/clob`` counts every stateful order an address *attempts* (failures too)
against ``max_stateful_orders_per_n_blocks``: 2 per block and 20 per 100 blocks
on mainnet (protocol reference section 3.9). An order over it is refused with
code 5001 and still counts, so the trader holds placements beyond the budget
for a later block instead of sending them.
"""

from __future__ import annotations

from collections import deque
from typing import Final

STATEFUL_ORDERS_PER_N_BLOCKS: Final = ((1, 2), (100, 20))
"""``(num_blocks, limit)`` pairs, AND-ed, as the chain's genesis sets them."""


class StatefulOrderBudget:
    """How many stateful orders may still be attempted at a block height.

    Heights are the newest the trader knows; a view that lags the chain only
    makes the budget stricter (two reads of one old height share one block's
    allowance)."""

    def __init__(self, limits: tuple[tuple[int, int], ...] = STATEFUL_ORDERS_PER_N_BLOCKS) -> None:
        self._limits = limits
        self._window = max(blocks for blocks, _ in limits)
        self._attempts: deque[int] = deque()  # heights of the attempts, oldest first

    def allows(self, height: int) -> bool:
        """True if one more stateful order may be attempted at ``height``."""
        self._forget_before(height)
        return all(
            sum(1 for at in self._attempts if at > height - blocks) < limit
            for blocks, limit in self._limits
        )

    def spend(self, height: int) -> None:
        """Count one attempt at ``height`` (whatever its answer)."""
        self._attempts.append(height)

    def _forget_before(self, height: int) -> None:
        while self._attempts and self._attempts[0] <= height - self._window:
            self._attempts.popleft()
