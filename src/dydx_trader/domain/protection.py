"""Protection: the stop-loss and take-profit a position needs, as pure values.

A position is protected by conditional orders the chain itself triggers (they
outlive the trader): a stop-loss on the losing side of the entry and a
take-profit on the winning side, each for the whole position, on the opposite
side, reduce-only. The chain allows reduce-only only on IOC orders, so both are
conditional IOC orders: ``market`` gives the stop a worst price ``slippage``
beyond its trigger (a stop-market), ``limit`` caps the price at the trigger
itself (a stop-limit, which may not fill in a fast market).

* :class:`ProtectionPolicy` is the ``[protection]`` configuration;
* :func:`entry_levels` picks an entry's trigger prices: the signal's
  ``stop_loss`` / ``take_profit``, else the configured default (a percentage of
  the entry, or a multiple of the ATR), on the market's tick rounded toward the
  passive side of the exit (a sell stop rounds up: it fires no later than asked);
* :func:`stop_exit_price` is the worst price the stop can fill at (what a
  fixed-risk size must survive);
* :func:`check_entry` refuses a stop that would trigger at once or lies beyond
  the liquidation price;
* :func:`protective_orders` are the orders a position of a given size needs.

What to cancel and place to get there from the orders already live is
:mod:`~dydx_trader.domain.protection_plan`. Prices are USDC per base unit;
sizes base quantums; triggers and limits subticks.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Final

from dydx_trader.domain.errors import InvalidInput, InvalidProtection
from dydx_trader.domain.market import MarketSpec
from dydx_trader.domain.numbers import require_finite, require_positive
from dydx_trader.domain.order_intent import ConditionType
from dydx_trader.domain.side import Side

MAX_GOOD_TIL_S: Final = 95 * 86_400  # StatefulOrderTimeWindow
PROTECT_PREFIX: Final = "protect:"
MAX_SLIPPAGE: Final = Decimal("0.5")


class ProtectionOrderType(StrEnum):
    """How a triggered protective order trades: IOC within a slippage bound of the
    trigger (``market``), or IOC at the trigger price at worst (``limit``)."""

    MARKET = "market"
    LIMIT = "limit"


class ExitRuleKind(StrEnum):
    PERCENT = "percent"
    """``value`` is a fraction of the entry price (0.02 = 2 %)."""
    ATR = "atr"
    """``value`` is a multiple of the market's average true range."""


@dataclass(frozen=True, slots=True)
class ExitRule:
    """A default distance from the entry, for signals that carry no level."""

    kind: ExitRuleKind
    value: Decimal

    def __post_init__(self) -> None:
        if not isinstance(self.kind, ExitRuleKind):
            raise InvalidInput(f"exit rule kind {self.kind!r} is unknown", field="kind")
        require_positive("exit rule value", self.value)
        if self.kind is ExitRuleKind.PERCENT and self.value >= 1:
            raise InvalidInput(
                f"a percentage exit of {self.value} must lie below 1 (100 %)", field="value"
            )

    def distance(self, reference: Decimal, atr: Decimal | None) -> Decimal | None:
        """The distance (USDC) from ``reference``; ``None`` for an ATR rule without an ATR."""
        if self.kind is ExitRuleKind.PERCENT:
            return reference * self.value
        return None if atr is None or atr <= 0 else atr * self.value

    def describe(self) -> str:
        return f"{self.value:%}" if self.kind is ExitRuleKind.PERCENT else f"{self.value} x ATR"


@dataclass(frozen=True, slots=True)
class ProtectionPolicy:
    """The ``[protection]`` section.

    ``enabled``: protect positions at all (off: existing protective orders are
    left alone). ``required``: refuse an entry that would have no stop.
    ``slippage``: the stop-market's worst price, a fraction beyond the trigger.
    ``good_til_s``: the orders' lifetime (seconds, at most 95 days); an order
    whose remaining life is below ``refresh_before_s`` is replaced.
    """

    enabled: bool = True
    required: bool = False
    order_type: ProtectionOrderType = ProtectionOrderType.MARKET
    slippage: Decimal = Decimal("0.02")
    default_stop: ExitRule | None = None
    default_take_profit: ExitRule | None = None
    good_til_s: int = 28 * 86_400
    refresh_before_s: int = 86_400

    def __post_init__(self) -> None:
        require_finite("protection slippage", self.slippage)
        if not Decimal(0) < self.slippage < MAX_SLIPPAGE:
            raise InvalidInput(
                f"protection slippage {self.slippage} must lie in (0, {MAX_SLIPPAGE})",
                field="slippage",
            )
        for name, low, high in (
            ("good_til_s", 60, MAX_GOOD_TIL_S),
            ("refresh_before_s", 0, self.good_til_s - 1),
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise InvalidInput(f"{name} {value!r} must be an int in [{low}, {high}]")


@dataclass(frozen=True, slots=True)
class ProtectionLevels:
    """The trigger prices (USDC, on the market's tick) protecting a position on
    ``side`` (the side it was opened with): ``None`` where there is none."""

    side: Side
    stop_loss: Decimal | None = None
    take_profit: Decimal | None = None

    @property
    def empty(self) -> bool:
        return self.stop_loss is None and self.take_profit is None

    def to_dict(self) -> dict[str, str | None]:
        return {
            "side": self.side.value,
            "stop_loss": None if self.stop_loss is None else str(self.stop_loss),
            "take_profit": None if self.take_profit is None else str(self.take_profit),
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> ProtectionLevels:
        def price(name: str) -> Decimal | None:
            value = data.get(name)
            return None if value is None else Decimal(str(value))

        return cls(Side(str(data["side"])), price("stop_loss"), price("take_profit"))


def entry_levels(
    spec: MarketSpec,
    side: Side,
    reference: Decimal,
    policy: ProtectionPolicy,
    *,
    stop_loss: Decimal | None,
    take_profit: Decimal | None,
    atr: Decimal | None,
) -> ProtectionLevels:
    """The levels protecting an entry on ``side`` near ``reference`` (USDC): the given
    ``stop_loss`` / ``take_profit``, else the policy's defaults; on the tick, each
    rounded to the passive side of its exit order. A level that would not be a
    positive price is left out."""
    exit_side = side.opposite
    levels: list[Decimal | None] = []
    for given, rule, sign in (
        (stop_loss, policy.default_stop, -side.sign),
        (take_profit, policy.default_take_profit, side.sign),
    ):
        price = given
        if price is None and rule is not None:
            distance = rule.distance(reference, atr)
            price = None if distance is None else reference + sign * distance
        if price is None or price <= 0:
            levels.append(None)
            continue
        levels.append(spec.subticks_to_price(spec.price_to_subticks(price, exit_side)))
    return ProtectionLevels(side, levels[0], levels[1])


def worst_price_subticks(
    spec: MarketSpec, exit_side: Side, trigger_subticks: int, policy: ProtectionPolicy
) -> int:
    """A triggered protective order's limit: the trigger itself (``limit``), or the
    trigger moved ``slippage`` against the exit (``market``), rounded to the passive
    side so the fill is never worse than the bound."""
    if policy.order_type is ProtectionOrderType.LIMIT:
        return trigger_subticks
    trigger = spec.subticks_to_price(trigger_subticks)
    return spec.price_to_subticks(trigger * (1 + exit_side.sign * policy.slippage), exit_side)


def stop_exit_price(
    spec: MarketSpec, levels: ProtectionLevels, policy: ProtectionPolicy
) -> Decimal | None:
    """The worst price (USDC) the stop-loss can exit at: the loss a fixed-risk size
    is measured to. ``None`` without a stop."""
    if levels.stop_loss is None:
        return None
    exit_side = levels.side.opposite
    trigger = spec.price_to_subticks(levels.stop_loss, exit_side)
    return spec.subticks_to_price(worst_price_subticks(spec, exit_side, trigger, policy))


def check_entry(
    levels: ProtectionLevels, oracle: Decimal, liquidation: Decimal | None
) -> InvalidProtection | None:
    """The refusal for levels that cannot protect a position on ``levels.side``: a
    stop or take-profit the oracle has already reached (it would trigger at once), or
    a stop at or beyond the position's liquidation price. ``None`` when they can."""
    sign = levels.side.sign
    if levels.stop_loss is not None and (oracle - levels.stop_loss) * sign <= 0:
        return InvalidProtection(
            f"the stop-loss {levels.stop_loss} would trigger at once: the oracle is {oracle}",
            stop_loss=levels.stop_loss,
            oracle_price=oracle,
        )
    if levels.take_profit is not None and (levels.take_profit - oracle) * sign <= 0:
        return InvalidProtection(
            f"the take-profit {levels.take_profit} would trigger at once: the oracle is {oracle}",
            take_profit=levels.take_profit,
            oracle_price=oracle,
        )
    stop = levels.stop_loss
    if stop is not None and liquidation is not None and (stop - liquidation) * sign <= 0:
        return InvalidProtection(
            f"the stop-loss {stop} lies beyond the liquidation price {liquidation:.6f}: the "
            "position would be liquidated before the stop fires",
            stop_loss=stop,
            liquidation_price=liquidation,
        )
    return None


@dataclass(frozen=True, slots=True)
class ProtectiveOrder:
    """One order a position needs: ``kind`` on ``side`` for ``quantums``, triggered at
    ``trigger_subticks``, filling no worse than ``subticks``."""

    market: str
    kind: ConditionType
    side: Side
    quantums: int
    trigger_subticks: int
    subticks: int


def protective_orders(
    spec: MarketSpec,
    position_quantums: int,
    levels: ProtectionLevels | None,
    policy: ProtectionPolicy,
) -> tuple[ProtectiveOrder, ...]:
    """The stop-loss and take-profit a position of ``position_quantums`` (signed base
    quantums) needs under ``levels``: none when flat, without levels, or when the
    position is on the other side than the levels were set for."""
    if position_quantums == 0 or levels is None:
        return ()
    if (position_quantums > 0) != (levels.side is Side.BUY):
        return ()
    exit_side = levels.side.opposite
    wanted = []
    for kind, price in (
        (ConditionType.STOP_LOSS, levels.stop_loss),
        (ConditionType.TAKE_PROFIT, levels.take_profit),
    ):
        if price is None:
            continue
        trigger = spec.price_to_subticks(price, exit_side)
        wanted.append(
            ProtectiveOrder(
                market=spec.ticker,
                kind=kind,
                side=exit_side,
                quantums=abs(position_quantums),
                trigger_subticks=trigger,
                subticks=worst_price_subticks(spec, exit_side, trigger, policy),
            )
        )
    return tuple(wanted)


def protective_signal_id(market: str, kind: ConditionType, number: int) -> str:
    """The journal key of the ``number``-th protective order of ``kind`` in ``market``
    (its client id is derived from it, as an entry's is from its signal id)."""
    return f"{PROTECT_PREFIX}{market}:{kind.value}:{number}"
