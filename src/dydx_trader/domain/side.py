"""Order side."""

from __future__ import annotations

from enum import StrEnum


class Side(StrEnum):
    """BUY opens or adds to a long / reduces a short; SELL the reverse."""

    BUY = "BUY"
    SELL = "SELL"

    @property
    def sign(self) -> int:
        """+1 for BUY, -1 for SELL: the sign of the position change."""
        return 1 if self is Side.BUY else -1

    @property
    def opposite(self) -> Side:
        """The side that reduces a position this side opened."""
        return Side.SELL if self is Side.BUY else Side.BUY
