"""How the devnet engine behaves: :class:`EngineConfig`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dydx_devnet.block_rate_limits import PerNBlocks, check_limits
from dydx_devnet.fees import check_fee_ppm
from dydx_devnet.liquidity import (
    DEFAULT_DEPTH_PROFILE,
    DepthProfile,
    SyntheticLiquidity,
    check_profile,
    for_tier,
)

TIMER = "timer"
MANUAL = "manual"
CLOCK_MODES = (TIMER, MANUAL)
MAX_BACKGROUND_FLOW = 60.0
MAX_SYNTHETIC_MARKETS = 1_000


@dataclass(frozen=True)
class EngineConfig:
    """How the devnet behaves.

    * ``seed``: every random choice (price paths, random walks) derives from it.
    * ``markets``: tickers to list (``None`` = all bundled markets).
    * ``clock``: ``"timer"`` (a block every ``block_time_s`` wall seconds, each
      advancing chain time by ``block_time_s x speed``) or ``"manual"`` (blocks
      only on request, through :class:`~dydx_devnet.clock.ManualClock`, in the
      data's own time: a deterministic lockstep replay).
    * ``replay_start`` / ``replay_end`` / ``replay_days`` (manual clock): the
      replay window (:mod:`dydx_devnet.replay_window`); the start defaults to
      ``warmup_days`` after the first full day of data, the end to the data's end.
    * ``manual_block_s`` (manual clock): ``advance_to`` produces a block at every
      multiple of this many market seconds on the way (it must divide an hour),
      plus one at each corner of the replayed price paths and one at the target.
    * ``taker_fee_ppm`` / ``maker_fee_ppm``: fix every account's fees (ppm of
      a fill's quote amount, both or neither); ``None`` (the default) charges
      each address its fee tier by 30-day volume (:mod:`dydx_devnet.fees`).
    * Synthetic liquidity: best levels ``spread_ppm / 2`` from the oracle,
      ``levels`` per side ``level_spacing_ppm`` apart, ``depth_per_level_usdc``
      USDC each, for the deepest liquidity tier; ``depth_profile`` scales them
      for the others (:mod:`dydx_devnet.liquidity`: thin alts are thin).
    * ``short_block_window``: how far ahead a short-term good-til-block may be.
    * ``max_stateful_orders_per_n_blocks``, ``max_short_term_orders_and_cancels_per_n_blocks``,
      ``max_leverage_updates_per_n_blocks``: the chain's block rate limits per
      address, ``((num_blocks, limit), ...)`` (:mod:`dydx_devnet.block_rate_limits`);
      ``()`` turns one off (for benchmarks only).
    * ``max_liquidation_fee_ppm`` and ``insurance_fund_usdc``: the liquidation
      penalty's cap and the insurance fund's starting balance (0 deleverages
      every bankrupt account against its counterparties).
    * ``funding``: settle hourly funding at each market's real ``nextFundingRate``.
    * ``indexer_lag_blocks``: how far the indexer views trail the chain;
      ``indexer_history_blocks``: how many past blocks the indexer can serve
      (the most it may lag).
    * ``genesis_time`` (timer clock): chain time of the first block (``None``: now).
    * ``initial_height``: height of the first block; not 1, so that an indexer
      held back by N blocks is N behind from the start.
    * ``warmup_days``: days of bundled data before genesis (candle history); on
      a manual clock, the least warm-up a replay start must leave.
    * ``background_flow``: other participants' market orders, in trades per market per
      minute of market time at the market's average hourly volume (0 = a quiet book:
      nothing trades but the users); see :mod:`dydx_devnet.background_flow`.
    * ``synthetic_markets``: this many more markets, ``SYN001-USD`` onwards, each a
      copy of ETH-USD's parameters under its own clob pair id (0..1000), so a burst
      over as many markets as mainnet lists can be played
      (:func:`~dydx_devnet.markets.build_markets`).
    """

    seed: int = 1
    markets: tuple[str, ...] | None = None
    clock: str = TIMER
    block_time_s: float = 0.5
    speed: float = 1.0
    replay_start: datetime | None = None
    replay_end: datetime | None = None
    replay_days: int | None = None
    manual_block_s: int = 300
    taker_fee_ppm: int | None = None
    maker_fee_ppm: int | None = None
    spread_ppm: int = 200
    level_spacing_ppm: int = 100
    depth_per_level_usdc: int = 25_000
    levels: int = 25
    depth_profile: DepthProfile = DEFAULT_DEPTH_PROFILE
    short_block_window: int = 40
    max_stateful_orders_per_n_blocks: PerNBlocks = ((1, 2), (100, 20))
    max_short_term_orders_and_cancels_per_n_blocks: PerNBlocks = ((5, 2000),)
    max_leverage_updates_per_n_blocks: PerNBlocks = ()
    indexer_lag_blocks: int = 0
    indexer_history_blocks: int = 64
    chain_id: str = "dydx-devnet-1"
    genesis_time: datetime | None = None
    initial_height: int = 1_000
    warmup_days: int = 60
    random_walk_hourly_vol_ppm: int = 6_000
    max_liquidation_fee_ppm: int = 15_000
    insurance_fund_usdc: int = 1_000_000
    stateful_order_time_window_s: int = 95 * 24 * 3600
    funding: bool = True
    background_flow: float = 0.0
    synthetic_markets: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.synthetic_markets <= MAX_SYNTHETIC_MARKETS:
            raise ValueError(
                f"synthetic_markets must be 0..{MAX_SYNTHETIC_MARKETS}, "
                f"got {self.synthetic_markets}"
            )
        if not self.block_time_s > 0 or not self.speed > 0:
            raise ValueError("block_time_s and speed must be positive")
        if self.insurance_fund_usdc < 0 or not 0 <= self.max_liquidation_fee_ppm <= 1_000_000:
            raise ValueError("insurance_fund_usdc >= 0 and max_liquidation_fee_ppm in 0..1e6")
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
        if not (0 <= self.background_flow <= MAX_BACKGROUND_FLOW):
            raise ValueError(
                f"background_flow must be 0..{MAX_BACKGROUND_FLOW} trades per market-minute, "
                f"got {self.background_flow}"
            )
        check_profile(self.depth_profile)
        check_limits("max_stateful_orders_per_n_blocks", self.max_stateful_orders_per_n_blocks)
        check_limits(
            "max_short_term_orders_and_cancels_per_n_blocks",
            self.max_short_term_orders_and_cancels_per_n_blocks,
        )
        check_limits("max_leverage_updates_per_n_blocks", self.max_leverage_updates_per_n_blocks)
        if (self.taker_fee_ppm is None) != (self.maker_fee_ppm is None):
            raise ValueError("give both taker_fee_ppm and maker_fee_ppm, or neither")
        if self.taker_fee_ppm is not None and self.maker_fee_ppm is not None:
            check_fee_ppm(self.taker_fee_ppm, "taker_fee_ppm")
            check_fee_ppm(self.maker_fee_ppm, "maker_fee_ppm")
        if self.clock not in CLOCK_MODES:
            raise ValueError(f"clock must be one of {', '.join(CLOCK_MODES)}, got {self.clock!r}")
        if self.clock == MANUAL:
            self._check_manual()
        elif (self.replay_start, self.replay_end, self.replay_days) != (None, None, None):
            raise ValueError("replay_start, replay_end and replay_days need clock='manual'")

    def _check_manual(self) -> None:
        if self.genesis_time is not None:
            raise ValueError("a manual clock starts at replay_start; genesis_time must be unset")
        if self.replay_end is not None and self.replay_days is not None:
            raise ValueError("give replay_end or replay_days, not both")
        if self.replay_days is not None and self.replay_days < 1:
            raise ValueError(f"replay_days must be >= 1, got {self.replay_days}")
        for name in ("replay_start", "replay_end"):
            moment = getattr(self, name)
            if moment is not None and moment.tzinfo is None:
                raise ValueError(f"{name} must be timezone-aware (UTC)")
        if not 1 <= self.manual_block_s <= 3600 or 3600 % self.manual_block_s:
            raise ValueError(
                f"manual_block_s must divide an hour (1..3600 s), got {self.manual_block_s}"
            )
        if self.warmup_days < 0:
            raise ValueError(f"warmup_days must be >= 0, got {self.warmup_days}")

    @property
    def manual(self) -> bool:
        """Whether blocks come only on request (lockstep replay)."""
        return self.clock == MANUAL


    def liquidity(self, initial_margin_ppm: int) -> SyntheticLiquidity:
        """The synthetic book of a market with this base IMF (ppm)."""
        return for_tier(
            initial_margin_ppm,
            self.depth_profile,
            self.depth_per_level_usdc,
            self.spread_ppm,
            self.level_spacing_ppm,
        )

    @property
    def fee_override(self) -> tuple[int, int] | None:
        """(taker, maker) ppm every account pays, or ``None`` for fee tiers."""
        if self.taker_fee_ppm is None or self.maker_fee_ppm is None:
            return None
        return self.taker_fee_ppm, self.maker_fee_ppm


__all__ = ["CLOCK_MODES", "MANUAL", "TIMER", "EngineConfig"]
