"""How the devnet engine behaves: :class:`EngineConfig`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class EngineConfig:
    """How the devnet behaves.

    * ``seed``: every random choice (price paths, random walks) derives from it.
    * ``markets``: tickers to list (``None`` = all bundled markets).
    * ``block_time_s``: wall seconds per block; ``speed``: market seconds per
      wall second, so one block advances chain time by ``block_time_s x speed``.
    * Fees in ppm of the fill's quote amount: the chain's base tier, taker
      500 (5 bps) and maker -110 (a 1.1 bps rebate), mainnet genesis tier 1.
    * Synthetic liquidity: best levels ``spread_ppm / 2`` from the oracle,
      ``levels`` per side ``level_spacing_ppm`` apart, ``depth_per_level_usdc``
      USDC each.
    * ``short_block_window``: how far ahead a short-term good-til-block may be.
    * ``funding``: settle hourly funding at each market's real ``nextFundingRate``.
    * ``indexer_lag_blocks``: how far the indexer views trail the chain;
      ``indexer_history_blocks``: how many past blocks the indexer can serve
      (the most it may lag).
    * ``genesis_time``: chain time of the first block (``None``: now).
    * ``initial_height``: height of the first block; not 1, so that an indexer
      held back by N blocks is N behind from the start.
    * ``warmup_days``: days of bundled data before genesis (candle history).
    """

    seed: int = 1
    markets: tuple[str, ...] | None = None
    block_time_s: float = 0.5
    speed: float = 1.0
    taker_fee_ppm: int = 500
    maker_fee_ppm: int = -110
    spread_ppm: int = 200
    level_spacing_ppm: int = 100
    depth_per_level_usdc: int = 25_000
    levels: int = 25
    short_block_window: int = 20
    indexer_lag_blocks: int = 0
    indexer_history_blocks: int = 64
    chain_id: str = "dydx-devnet-1"
    genesis_time: datetime | None = None
    initial_height: int = 1_000
    warmup_days: int = 60
    random_walk_hourly_vol_ppm: int = 6_000
    max_liquidation_fee_ppm: int = 15_000
    stateful_order_time_window_s: int = 95 * 24 * 3600
    funding: bool = True

    def __post_init__(self) -> None:
        if not self.block_time_s > 0 or not self.speed > 0:
            raise ValueError("block_time_s and speed must be positive")
        if self.levels < 1 or self.depth_per_level_usdc <= 0 or self.spread_ppm < 0:
            raise ValueError("synthetic liquidity needs levels >= 1, depth > 0, spread >= 0")
        if self.short_block_window < 1 or self.indexer_lag_blocks < 0:
            raise ValueError("short_block_window >= 1 and indexer_lag_blocks >= 0 required")
        if not 1 <= self.indexer_history_blocks <= 10_000:
            raise ValueError("indexer_history_blocks must be in 1..10000")
        if self.indexer_lag_blocks > self.indexer_history_blocks:
            raise ValueError(
                f"indexer_lag_blocks {self.indexer_lag_blocks} exceeds the indexer history of "
                f"{self.indexer_history_blocks} blocks"
            )


__all__ = ["EngineConfig"]
