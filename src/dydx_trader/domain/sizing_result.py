"""What the PositionSizer answers: a size (:class:`Sized`) or a refusal
(:class:`Refused`), each with its arithmetic and the :class:`Bound` that set it."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from dydx_trader.domain.arithmetic import Line, Step, render
from dydx_trader.domain.errors import Refusal
from dydx_trader.domain.side import Side


class Bound(StrEnum):
    """What decided a size: the policy itself or the cap that bound it."""

    POLICY = "policy"
    FREE_COLLATERAL = "free collateral"
    USER_LEVERAGE = "your max leverage"
    OTHER_LEVERAGE = "your max leverage on the other positions"
    MARKET_LEVERAGE = "market max leverage"
    EXPOSURE = "max exposure"
    MARKET_NOTIONAL = "max market notional"


@dataclass(frozen=True, slots=True)
class Sized:
    """A size to trade: ``size`` base units (whole steps), ``quantums`` base
    quantums, ``notional`` USDC at the request price, ``bound_by`` what set it,
    ``steps`` the arithmetic in order as numbers and ``lines`` as text."""

    market: str
    side: Side
    size: Decimal
    quantums: int
    notional: Decimal
    bound_by: Bound
    steps: tuple[Step, ...]

    @property
    def lines(self) -> tuple[Line, ...]:
        """The arithmetic, one ``(label, value)`` pair per step, for a person."""
        return render(self.steps)


@dataclass(frozen=True, slots=True)
class Refused:
    """No trade, because of ``error`` (a refusal carrying its numbers); ``bound_by``
    names the cap that left less than one step, when one did."""

    market: str
    side: Side
    error: Refusal
    steps: tuple[Step, ...] = ()
    bound_by: Bound | None = None

    @property
    def reason(self) -> str:
        return str(self.error)

    @property
    def lines(self) -> tuple[Line, ...]:
        """The arithmetic up to the refusal, then the reason."""
        return (*render(self.steps), ("refused", self.reason))
