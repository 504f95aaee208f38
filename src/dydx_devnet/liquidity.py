"""The synthetic book of each market: depth and spread by liquidity tier.

The devnet's synthetic liquidity stands for the rest of the market. Real dYdX
books are deep on the large markets and thin on the alts, and a market's
liquidity tier (its base initial margin fraction) says which it is. A depth
profile maps the tier to the depth of each level and the width of the book,
as factors of the configured base (``EngineConfig.depth_per_level_usdc``,
``spread_ppm``, ``level_spacing_ppm``, which apply unchanged to the deepest
tier). The default profile:

=================  ============  ===============  ================
base IMF up to     depth/level   spread           level spacing
=================  ============  ===============  ================
2 % (BTC, ETH)     100 %         1x               1x
5 % (SOL, ...)     40 %          2x               2x
10 % (alts)        10 %          5x               5x
beyond (thin)      2 %           15x              10x
=================  ============  ===============  ================

so a 10 000 USDC order walks several levels of a thin alt and pays real slippage.
"""

from __future__ import annotations

from dataclasses import dataclass

DepthProfile = tuple[tuple[int, int, int, int], ...]
"""``((max base IMF ppm, depth ppm of the base, spread factor, spacing factor), ...)``,
ascending by IMF; the last row covers every higher IMF."""

DEFAULT_DEPTH_PROFILE: DepthProfile = (
    (20_000, 1_000_000, 1, 1),
    (50_000, 400_000, 2, 2),
    (100_000, 100_000, 5, 5),
    (1_000_000, 20_000, 15, 10),
)


def check_profile(profile: DepthProfile) -> None:
    """``ValueError`` unless the rows ascend by IMF and every factor is positive."""
    if not profile:
        raise ValueError("depth_profile needs at least one row")
    imfs = [row[0] for row in profile]
    if imfs != sorted(imfs) or any(
        imf <= 0 or depth <= 0 or spread < 1 or spacing < 1
        for imf, depth, spread, spacing in profile
    ):
        raise ValueError("depth_profile rows must ascend by IMF with positive factors")


@dataclass(frozen=True, slots=True)
class SyntheticLiquidity:
    """One market's synthetic book: USDC per level, spread and spacing in ppm of the oracle."""

    depth_per_level_usdc: int
    spread_ppm: int
    level_spacing_ppm: int


def for_tier(
    initial_margin_ppm: int,
    profile: DepthProfile,
    depth_per_level_usdc: int,
    spread_ppm: int,
    level_spacing_ppm: int,
) -> SyntheticLiquidity:
    """The synthetic liquidity of a market whose base IMF is ``initial_margin_ppm``."""
    row = next((r for r in profile if initial_margin_ppm <= r[0]), profile[-1])
    _, depth_ppm, spread_factor, spacing_factor = row
    return SyntheticLiquidity(
        depth_per_level_usdc=max(1, depth_per_level_usdc * depth_ppm // 1_000_000),
        spread_ppm=spread_ppm * spread_factor,
        level_spacing_ppm=level_spacing_ppm * spacing_factor,
    )
