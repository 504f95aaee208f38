"""Trading fees as the chain charges them: fee tiers by 30-day volume, per address.

The tiers are ``StandardParams`` of ``protocol/x/feetiers/types/genesis.go``
(bundled in ``data/genesis_params.json``): tier 1 takes taker 500 ppm (5 bps)
and maker 100 ppm (1 bp, a charge, not a rebate); higher tiers need a 30-day
traded notional (maker + taker, quote quantums), a share of the whole
market's volume and a maker share (``x/feetiers/keeper getUserFeeTier``).

The devnet counts an address's fills over the last 30 days of chain time (the
``x/stats`` window). The whole market's volume is the bundled markets' real
24-hour volume times 30 plus every devnet fill, so volume-share tiers stay as
hard to reach as on mainnet. There are no per-market or staking discounts.

Tests may fix an address's fees (``POST /devnet/fees`` or
:meth:`FeeSchedule.override`), or every address's (``EngineConfig``
``taker_fee_ppm`` / ``maker_fee_ppm``); the ``UserFeeTier`` query then
answers a tier named ``"override"`` with those rates. A fee is
``ceil(quote x ppm / 1e6)`` (``lib.BigMulPpm`` rounding up), so a rebate
rounds toward zero.
"""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass
from typing import Any, Final

from dydx_devnet.chain.big_math import big_int_mul_ppm, big_mul_ppm

BASE_TAKER_FEE_PPM: Final = 500
BASE_MAKER_FEE_PPM: Final = 100
STATS_WINDOW_MS: Final = 30 * 24 * 3600 * 1000
_MAX_FEE_PPM: Final = 1_000_000


@dataclass(frozen=True, slots=True)
class FeeTier:
    """One ``PerpetualFeeTier``: requirements in quote quantums and ppm, fees in ppm."""

    name: str
    absolute_volume_requirement: int
    total_volume_share_requirement_ppm: int
    maker_volume_share_requirement_ppm: int
    maker_fee_ppm: int
    taker_fee_ppm: int

    @classmethod
    def from_genesis(cls, row: dict[str, Any]) -> FeeTier:
        return cls(
            name=str(row["name"]),
            absolute_volume_requirement=int(row["absolute_volume_requirement"]),
            total_volume_share_requirement_ppm=int(row["total_volume_share_requirement_ppm"]),
            maker_volume_share_requirement_ppm=int(row["maker_volume_share_requirement_ppm"]),
            maker_fee_ppm=int(row["maker_fee_ppm"]),
            taker_fee_ppm=int(row["taker_fee_ppm"]),
        )


def check_fee_ppm(value: Any, name: str) -> int:
    """``value`` if it is an int fee strictly inside (-100 %, 100 %); ``ValueError`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer number of ppm")
    if not -_MAX_FEE_PPM < value < _MAX_FEE_PPM:
        raise ValueError(f"{name} {value} ppm is outside (-1000000, 1000000)")
    return value


class FeeSchedule:
    """The fee tiers, each address's 30-day volume, and test overrides (engine lock held)."""

    def __init__(
        self,
        tiers: list[FeeTier],
        market_volume_30d: int,
        default_override: tuple[int, int] | None = None,
    ) -> None:
        if not tiers:
            raise ValueError("the fee schedule needs at least one tier")
        self.tiers = tiers
        self._market_volume_30d = market_volume_30d
        self._default_override = default_override
        self._overrides: dict[str, tuple[int, int]] = {}
        # address -> (chain ms, maker quote quantums, taker quote quantums), oldest first
        self._fills: dict[str, deque[tuple[int, int, int]]] = defaultdict(deque)
        self._devnet_volume: deque[tuple[int, int]] = deque()

    # -- volume -----------------------------------------------------------------------

    def record_fill(self, address: str, quote_quantums: int, *, taker: bool, at_ms: int) -> None:
        """Count one side of a fill in ``address``'s 30-day volume."""
        maker_qq, taker_qq = (0, quote_quantums) if taker else (quote_quantums, 0)
        self._fills[address].append((at_ms, maker_qq, taker_qq))
        self._devnet_volume.append((at_ms, quote_quantums))

    def user_volume(self, address: str, now_ms: int) -> tuple[int, int]:
        """(maker, taker) quote quantums ``address`` traded in the 30-day window
        (``x/stats`` ``UserStats``)."""
        return self._volume(address, now_ms)

    def _volume(self, address: str, now_ms: int) -> tuple[int, int]:
        fills = self._fills.get(address)
        if not fills:
            return 0, 0
        while fills and fills[0][0] <= now_ms - STATS_WINDOW_MS:
            fills.popleft()
        return sum(f[1] for f in fills), sum(f[2] for f in fills)

    def _global_volume(self, now_ms: int) -> int:
        while self._devnet_volume and self._devnet_volume[0][0] <= now_ms - STATS_WINDOW_MS:
            self._devnet_volume.popleft()
        return self._market_volume_30d + sum(v for _, v in self._devnet_volume)

    # -- tiers ------------------------------------------------------------------------

    def tier_of(self, address: str, now_ms: int) -> tuple[int, FeeTier]:
        """``getUserFeeTier``: the last tier whose every requirement ``address`` meets."""
        maker, taker = self._volume(address, now_ms)
        total = maker + taker
        global_volume = self._global_volume(now_ms)
        index = 0
        for i, tier in enumerate(self.tiers):
            if (
                total < tier.absolute_volume_requirement
                or total < big_int_mul_ppm(global_volume, tier.total_volume_share_requirement_ppm)
                or maker < big_int_mul_ppm(global_volume, tier.maker_volume_share_requirement_ppm)
            ):
                break
            index = i
        return index, self.tiers[index]

    def fee_ppm(self, address: str, *, taker: bool, now_ms: int) -> int:
        """The fee rate ``address`` pays now as taker or maker (ppm; negative = rebate)."""
        fixed = self._overrides.get(address) or self._default_override
        if fixed is not None:
            return fixed[0] if taker else fixed[1]
        _, tier = self.tier_of(address, now_ms)
        return tier.taker_fee_ppm if taker else tier.maker_fee_ppm

    def answered_tier(self, address: str, now_ms: int) -> tuple[int, FeeTier]:
        """What ``UserFeeTier`` answers: the volume tier, or an ``"override"`` tier."""
        index, tier = self.tier_of(address, now_ms)
        fixed = self._overrides.get(address) or self._default_override
        if fixed is None:
            return index, tier
        return index, FeeTier("override", 0, 0, 0, maker_fee_ppm=fixed[1], taker_fee_ppm=fixed[0])

    # -- overrides --------------------------------------------------------------------

    def override(self, address: str, taker_fee_ppm: int | None, maker_fee_ppm: int | None) -> None:
        """Fix ``address``'s fees (both ``None``: back to its tier). ``ValueError`` if bad."""
        if taker_fee_ppm is None and maker_fee_ppm is None:
            self._overrides.pop(address, None)
            return
        if taker_fee_ppm is None or maker_fee_ppm is None:
            raise ValueError("give both taker_fee_ppm and maker_fee_ppm, or neither")
        self._overrides[address] = (
            check_fee_ppm(taker_fee_ppm, "taker_fee_ppm"),
            check_fee_ppm(maker_fee_ppm, "maker_fee_ppm"),
        )

    def overrides(self) -> dict[str, dict[str, int]]:
        """The per-address overrides, for ``GET /devnet/fees``."""
        return {
            address: {"taker_fee_ppm": taker, "maker_fee_ppm": maker}
            for address, (taker, maker) in sorted(self._overrides.items())
        }


def fee_quote_quantums(quote_quantums: int, fee_ppm: int) -> int:
    """The fee of a fill of ``quote_quantums`` at ``fee_ppm`` (negative = a rebate)."""
    return big_mul_ppm(quote_quantums, fee_ppm, round_up=True)
