"""What to size and how: the sizing policy and one request.

A :class:`SizingPolicy` turns the account's equity into a target size; a
:class:`SizingRequest` says which market and side, at what price, with what the
signal knows (confidence, stop, ATR, a size hint). Both are validated when built.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Final

from dydx_trader.domain.errors import InvalidInput
from dydx_trader.domain.margin import require_fee_ppm
from dydx_trader.domain.numbers import require_fraction, require_positive
from dydx_trader.domain.position_mode import PositionRule
from dydx_trader.domain.side import Side

MAX_EQUITY_FRACTION: Final = Decimal(100)
"""The largest equity fraction a policy or a hint may ask for (100 x equity)."""


class PolicyKind(StrEnum):
    """How a policy turns equity into a target size."""

    FIXED_NOTIONAL = "fixed_notional"  # a fixed USDC notional
    EQUITY_FRACTION = "equity_fraction"  # notional = fraction x equity
    FIXED_RISK = "fixed_risk"  # lose risk_fraction x equity if the stop is hit
    VOLATILITY_TARGET = "volatility_target"  # risk_fraction x equity per ATR x multiple


@dataclass(frozen=True, slots=True)
class SizingPolicy:
    """A sizing rule and its parameters (validated at construction).

    * ``FIXED_NOTIONAL``: ``notional`` USDC;
    * ``EQUITY_FRACTION``: ``equity_fraction`` x equity USDC of notional (> 1 is leverage);
    * ``FIXED_RISK``: size = ``risk_fraction`` x equity / |entry - stop| (needs a stop);
    * ``VOLATILITY_TARGET``: size = ``risk_fraction`` x equity / (ATR x ``atr_multiple``)
      (needs an ATR in USDC).

    With ``scale_by_confidence`` the target is multiplied by the signal's confidence.
    Prefer the named constructors (:meth:`fixed_notional`, ...).
    """

    kind: PolicyKind
    notional: Decimal | None = None
    equity_fraction: Decimal | None = None
    risk_fraction: Decimal | None = None
    atr_multiple: Decimal = Decimal(2)
    scale_by_confidence: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.kind, PolicyKind):
            # Config hands over the kind's name; anything else is refused.
            try:
                object.__setattr__(self, "kind", PolicyKind(self.kind))
            except ValueError:
                known = ", ".join(kind.value for kind in PolicyKind)
                raise InvalidInput(f"unknown sizing kind {self.kind!r} (known: {known})") from None
        required = {
            PolicyKind.FIXED_NOTIONAL: ("notional", self.notional),
            PolicyKind.EQUITY_FRACTION: ("equity fraction", self.equity_fraction),
            PolicyKind.FIXED_RISK: ("risk fraction", self.risk_fraction),
            PolicyKind.VOLATILITY_TARGET: ("risk fraction", self.risk_fraction),
        }[self.kind]
        name, value = required
        if value is None:
            raise InvalidInput(f"a {self.kind.value} policy needs a {name}", kind=self.kind.value)
        for label, given in (
            ("notional", self.notional),
            ("equity fraction", self.equity_fraction),
        ):
            if given is not None:
                require_positive(label, given)
        if self.equity_fraction is not None and self.equity_fraction > MAX_EQUITY_FRACTION:
            raise InvalidInput(
                f"equity fraction {self.equity_fraction} is absurd (max {MAX_EQUITY_FRACTION})",
                value=self.equity_fraction,
            )
        if self.risk_fraction is not None:
            require_positive("risk fraction", self.risk_fraction)
            require_fraction("risk fraction", self.risk_fraction)
        require_positive("ATR multiple", self.atr_multiple)

    @classmethod
    def fixed_notional(cls, notional: Decimal, *, scale_by_confidence: bool = True) -> SizingPolicy:
        return cls(
            PolicyKind.FIXED_NOTIONAL, notional=notional, scale_by_confidence=scale_by_confidence
        )

    @classmethod
    def of_equity(cls, fraction: Decimal, *, scale_by_confidence: bool = True) -> SizingPolicy:
        return cls(
            PolicyKind.EQUITY_FRACTION,
            equity_fraction=fraction,
            scale_by_confidence=scale_by_confidence,
        )

    @classmethod
    def fixed_risk(
        cls, risk_fraction: Decimal, *, scale_by_confidence: bool = True
    ) -> SizingPolicy:
        return cls(
            PolicyKind.FIXED_RISK,
            risk_fraction=risk_fraction,
            scale_by_confidence=scale_by_confidence,
        )

    @classmethod
    def volatility_target(
        cls,
        risk_fraction: Decimal,
        atr_multiple: Decimal = Decimal(2),
        *,
        scale_by_confidence: bool = True,
    ) -> SizingPolicy:
        return cls(
            PolicyKind.VOLATILITY_TARGET,
            risk_fraction=risk_fraction,
            atr_multiple=atr_multiple,
            scale_by_confidence=scale_by_confidence,
        )


@dataclass(frozen=True, slots=True)
class SizingRequest:
    """What to size: a market, a side and what the signal knows.

    ``price`` is the expected fill (reference/entry) price in USDC,
    ``confidence`` in [0, 1], ``stop_price`` and ``atr`` in USDC. A sizing
    hint, when the signal carries one, replaces the policy's target (and is
    not scaled by confidence): ``notional_hint`` USDC or
    ``equity_fraction_hint`` x equity. ``fee_ppm`` is the fee rate of the fill.
    ``position`` is the signed size held in the market (base units) and
    ``position_rule`` what the side means for it (see
    :mod:`~dydx_trader.domain.position_mode`); ``None``: size one entry as is.
    """

    market: str
    side: Side
    price: Decimal
    confidence: Decimal = Decimal(1)
    stop_price: Decimal | None = None
    atr: Decimal | None = None
    notional_hint: Decimal | None = None
    equity_fraction_hint: Decimal | None = None
    fee_ppm: int = 0
    position: Decimal = Decimal(0)
    position_rule: PositionRule | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.side, Side):
            raise InvalidInput(f"side must be BUY or SELL, not {self.side!r}")
        require_positive("price", self.price)
        require_fraction("confidence", self.confidence)
        if self.stop_price is not None:
            require_positive("stop price", self.stop_price)
        if self.atr is not None:
            require_positive("ATR", self.atr)
        if self.notional_hint is not None:
            require_positive("notional hint", self.notional_hint)
        if self.equity_fraction_hint is not None:
            require_positive("equity fraction hint", self.equity_fraction_hint)
            if self.equity_fraction_hint > MAX_EQUITY_FRACTION:
                raise InvalidInput(
                    f"equity fraction hint {self.equity_fraction_hint} is absurd",
                    value=self.equity_fraction_hint,
                )
        if self.notional_hint is not None and self.equity_fraction_hint is not None:
            raise InvalidInput("give a notional hint or an equity fraction hint, not both")
        require_fee_ppm(self.fee_ppm)
