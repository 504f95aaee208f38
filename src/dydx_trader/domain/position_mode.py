"""What BUY and SELL mean for a position: the ``execution.position_mode``.

* ``target`` (the default): BUY means *be long*, SELL means *be short*, each at
  the size the sizing policy gives one entry (the target). Flat, the signal
  opens the target. Already on that side, it does nothing (no top-up, no
  trim: a repeated BUY is not a reason to trade). On the other side, one
  order closes the position and opens the target the other way.
* ``accumulate``: every BUY adds to a long (or reduces a short), every SELL
  the other way, as sized by the policy; a position may grow to at most
  ``max_entries_per_market`` entries' worth of the policy's size.

CLOSE closes the whole position in either mode (reduce-only). The caps
(leverage, exposure, notional, free collateral) bound every order in both.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from dydx_trader.domain.errors import InvalidInput, NothingToTrade
from dydx_trader.domain.side import Side

MAX_ENTRIES_LIMIT = 100


class PositionMode(StrEnum):
    TARGET = "target"
    ACCUMULATE = "accumulate"


@dataclass(frozen=True, slots=True)
class PositionRule:
    """The mode and, for ``accumulate``, how many entries a position may hold."""

    mode: PositionMode = PositionMode.TARGET
    max_entries_per_market: int = 3

    def __post_init__(self) -> None:
        if not isinstance(self.mode, PositionMode):
            raise InvalidInput(f"position mode {self.mode!r} is not target or accumulate")
        entries = self.max_entries_per_market
        if isinstance(entries, bool) or not isinstance(entries, int):
            raise InvalidInput("max_entries_per_market must be a whole number")
        if not 1 <= entries <= MAX_ENTRIES_LIMIT:
            raise InvalidInput(
                f"max_entries_per_market {entries} must lie in 1..{MAX_ENTRIES_LIMIT}",
                field="max_entries_per_market",
            )

    def order_size(self, market: str, side: Side, position: Decimal, entry: Decimal) -> Decimal:
        """The size (base units) to trade on ``side`` given the signed ``position``
        held (expected, orders in flight included) and one ``entry``'s size from the
        policy; raises :class:`NothingToTrade` when the mode asks for nothing."""
        toward = position if side is Side.BUY else -position  # > 0: already on that side
        if self.mode is PositionMode.TARGET:
            if toward > 0:
                held = "long" if side is Side.BUY else "short"
                raise NothingToTrade(
                    f"already {held} {abs(position)} {market}: in target mode a "
                    f"{side.value} while {held} adds nothing",
                    market=market,
                    position=position,
                )
            return entry - toward  # closes what is held the other way, then opens
        if toward <= 0:
            return entry
        room = self.max_entries_per_market * entry - toward
        if room <= 0:
            raise NothingToTrade(
                f"{market} already holds {abs(position)}, {self.max_entries_per_market} "
                f"entries' worth (max_entries_per_market)",
                market=market,
                position=position,
            )
        return min(entry, room)
