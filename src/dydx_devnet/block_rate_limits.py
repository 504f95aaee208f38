"""The chain's block rate limits per address (``x/clob/rate_limit``, ``ante/rate_limit.go``).

``BlockRateLimitConfiguration`` caps, per account address (all its subaccounts
together):

* stateful order placements: 2 per block and 20 per 100 blocks (genesis);
* short-term placements and cancels: 2000 per 5 blocks (mainnet since the v5.0
  upgrade: (200 + 200) x 5); a batch cancel weighs 2;
* leverage updates: none configured at genesis.

CheckTx counts every attempt that reaches the limiter, accepted or not, before
it checks, and refuses past a limit with clob 5001 ``Rate of N exceeds
configured block rate limit of {NumBlocks:n Limit:l} for <limiter> and <address>``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from dydx_devnet import codes
from dydx_devnet.codes import TxResult

PerNBlocks = tuple[tuple[int, int], ...]
"""``((num_blocks, limit), ...)``: at most ``limit`` in any ``num_blocks`` consecutive blocks."""


def check_limits(name: str, limits: PerNBlocks) -> None:
    """``ValueError`` unless every ``(num_blocks, limit)`` is positive (1..10000 blocks)."""
    for num_blocks, limit in limits:
        if not 1 <= num_blocks <= 10_000 or limit < 1:
            raise ValueError(f"{name}: ({num_blocks}, {limit}) needs 1..10000 blocks, limit >= 1")


@dataclass
class BlockRateLimiter:
    """One limiter (``context`` names it in the error) over several windows."""

    context: str
    limits: PerNBlocks

    def __post_init__(self) -> None:
        self._counts: dict[str, dict[int, int]] = defaultdict(dict)
        self._longest = max((n for n, _ in self.limits), default=0)

    def consume(self, address: str, height: int, weight: int = 1) -> TxResult | None:
        """Count ``weight`` attempts of ``address`` at block ``height``; the 5001 past a limit."""
        if not self.limits:
            return None
        counts = self._counts[address]
        counts[height] = counts.get(height, 0) + weight
        for old in [h for h in counts if h <= height - self._longest]:
            del counts[old]
        for num_blocks, limit in sorted(self.limits):
            rate = sum(c for h, c in counts.items() if h > height - num_blocks)
            if rate > limit:
                key = "key " if len(self.limits) == 1 and num_blocks == 1 else ""
                return codes.reject(
                    codes.BLOCK_RATE_LIMIT_EXCEEDED,
                    f"Rate of {rate} exceeds configured block rate limit of "
                    f"{{NumBlocks:{num_blocks} Limit:{limit}}} for {self.context} and "
                    f"{key}{address}",
                )
        return None


@dataclass
class BlockRateLimits:
    """The three limiters of one chain."""

    stateful: BlockRateLimiter
    short_term: BlockRateLimiter
    leverage: BlockRateLimiter

    @classmethod
    def of(
        cls, stateful: PerNBlocks, short_term: PerNBlocks, leverage: PerNBlocks
    ) -> BlockRateLimits:
        return cls(
            BlockRateLimiter("MaxStatefulOrdersPerNBlocks", stateful),
            BlockRateLimiter("MaxShortTermOrdersAndCancelsPerNBlocks", short_term),
            BlockRateLimiter("UpdateLeverage", leverage),
        )
