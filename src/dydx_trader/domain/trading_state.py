"""Whether the system may trade: ACTIVE, REDUCING or HALTED, and the kill switch.

Automatic triggers (the kill switch, a crashed actor, a failed reconciliation)
may only *tighten* the state; loosening it (REDUCING -> ACTIVE, HALTED -> …)
takes an operator (``dydx-trader trading-state active``), so a halt survives
restarts until someone has looked at its cause.

:class:`KillSwitch` is a rule object with no I/O and no clock: equity samples
arrive with their (monotonic) time in milliseconds, order outcomes one by one, and
it answers with a :class:`Trip` (the state to move to and why) or ``None``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from dydx_trader.domain.errors import IllegalStateTransition, InvalidInput, TradingHalted
from dydx_trader.domain.numbers import require_finite, require_fraction


class TradingState(StrEnum):
    ACTIVE = "ACTIVE"
    """Any order that passes the pre-trade checks may be sent."""
    REDUCING = "REDUCING"
    """Only reduce-only orders that shrink an existing position."""
    HALTED = "HALTED"
    """No new orders at all (cancels still allowed)."""


class Authority(StrEnum):
    """Who asks for a state change."""

    OPERATOR = "operator"
    AUTOMATIC = "automatic"


_T = TradingState
# Automatic changes only tighten; the operator may do anything.
_AUTOMATIC_EDGES: Final = frozenset(
    {(_T.ACTIVE, _T.REDUCING), (_T.ACTIVE, _T.HALTED), (_T.REDUCING, _T.HALTED)}
)
TRANSITIONS: Final = MappingProxyType(
    {
        Authority.AUTOMATIC: _AUTOMATIC_EDGES,
        Authority.OPERATOR: frozenset((a, b) for a in _T for b in _T if a is not b),
    }
)
_SEVERITY: Final = MappingProxyType({_T.ACTIVE: 0, _T.REDUCING: 1, _T.HALTED: 2})


def check_transition(current: TradingState, new: TradingState, by: Authority) -> bool:
    """True if ``current -> new`` changes something, False if it is already ``new``.

    Raises :class:`IllegalStateTransition` when ``by`` may not make this move.
    """
    if new is current:
        return False
    if (current, new) not in TRANSITIONS[by]:
        raise IllegalStateTransition(
            f"trading state cannot go from {current.value} to {new.value} automatically; "
            "an operator must do it (dydx-trader trading-state)",
            current=current.value,
            requested=new.value,
        )
    return True


def stricter(a: TradingState, b: TradingState) -> TradingState:
    """The more restrictive of two states."""
    return a if _SEVERITY[a] >= _SEVERITY[b] else b


def may_trade(state: TradingState, reduces_position: bool) -> TradingHalted | None:
    """``None`` if an order may be sent in ``state``, else the refusal (not raised)."""
    if state is TradingState.ACTIVE:
        return None
    if state is TradingState.REDUCING:
        if reduces_position:
            return None
        return TradingHalted(
            "trading is REDUCING: only orders that shrink a position are allowed",
            state=state.value,
        )
    return TradingHalted("trading is HALTED: no new orders", state=state.value)


@dataclass(frozen=True, slots=True)
class Trip:
    """The kill switch fired: move to ``state`` because of ``reason`` (with its numbers)."""

    state: TradingState
    rule: str
    reason: str
    numbers: MappingProxyType[str, str]


@dataclass(frozen=True, slots=True)
class KillSwitchLimits:
    """When to stop.

    ``max_drawdown``: a fraction in (0, 1]: trip when equity falls this far below
    its peak within the last ``drawdown_window_s`` seconds.
    ``max_consecutive_rejections`` / ``max_consecutive_unknown``: trip after that
    many definitive rejections / unknown send outcomes in a row (0 disables).
    ``trip_state``: where a trip moves to (HALTED by default, or REDUCING).
    """

    max_drawdown: Decimal = Decimal("0.2")
    drawdown_window_s: int = 86_400
    max_consecutive_rejections: int = 5
    max_consecutive_unknown: int = 3
    trip_state: TradingState = TradingState.HALTED

    def __post_init__(self) -> None:
        require_fraction("max drawdown", self.max_drawdown)
        if self.max_drawdown <= 0:
            raise InvalidInput("max drawdown must be above 0", field="max_drawdown")
        window = self.drawdown_window_s
        if isinstance(window, bool) or not isinstance(window, int) or not 0 < window < 10**9:
            raise InvalidInput(
                f"drawdown window {window!r} must be a positive whole number of seconds",
                field="drawdown_window_s",
            )
        for name in ("max_consecutive_rejections", "max_consecutive_unknown"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10_000:
                raise InvalidInput(f"{name} {value!r} must be an int in [0, 10000]", field=name)
        if self.trip_state not in (TradingState.REDUCING, TradingState.HALTED):
            raise InvalidInput("the kill switch trips to REDUCING or HALTED", field="trip_state")


class OrderOutcome(StrEnum):
    """What became of one send, as far as the kill switch cares."""

    ACCEPTED = "accepted"
    REJECTED = "rejected"
    UNKNOWN = "unknown"


class KillSwitch:
    """Trips on drawdown over a window and on runs of rejections or unknown outcomes."""

    def __init__(self, limits: KillSwitchLimits) -> None:
        self.limits = limits
        # The window's candidate peaks: (time_ms, equity USDC), time ascending and
        # equity strictly descending, so the front is the window's peak and each
        # sample is added and dropped once (constant time per sample).
        self._samples: deque[tuple[int, Decimal]] = deque()
        self._last_ms: int | None = None
        self._rejections = 0
        self._unknown = 0

    def record_equity(self, at_ms: int, equity: Decimal) -> Trip | None:
        """Feed one equity sample (USDC) taken at monotonic time ``at_ms`` (milliseconds)."""
        require_finite("equity", equity)
        if isinstance(at_ms, bool) or not isinstance(at_ms, int):
            raise InvalidInput("sample time must be int milliseconds", field="at_ms")
        if self._last_ms is not None and at_ms < self._last_ms:
            raise InvalidInput(
                "equity samples must arrive in time order", field="at_ms", at_ms=at_ms
            )
        self._last_ms = at_ms
        while self._samples and self._samples[-1][1] <= equity:
            self._samples.pop()
        self._samples.append((at_ms, equity))
        horizon = at_ms - self.limits.drawdown_window_s * 1000
        while self._samples[0][0] < horizon:
            self._samples.popleft()
        peak = self._samples[0][1]
        if equity <= 0:
            return self._trip("equity", f"equity is {equity} USDC", equity=equity, peak=peak)
        if peak <= 0:
            return None
        drawdown = (peak - equity) / peak
        if drawdown >= self.limits.max_drawdown:
            return self._trip(
                "drawdown",
                f"equity {equity} USDC is {drawdown:.2%} below its peak {peak} USDC in the "
                f"last {self.limits.drawdown_window_s} s (limit "
                f"{self.limits.max_drawdown:.2%})",
                equity=equity,
                peak=peak,
                drawdown=drawdown,
            )
        return None

    def record_outcome(self, outcome: OrderOutcome) -> Trip | None:
        """Feed one send's outcome; a run of rejections or unknowns trips the switch."""
        if outcome is OrderOutcome.ACCEPTED:
            self._rejections = self._unknown = 0
            return None
        if outcome is OrderOutcome.REJECTED:
            self._rejections += 1
            self._unknown = 0
            limit, count, rule = (
                self.limits.max_consecutive_rejections,
                self._rejections,
                "rejections",
            )
        else:
            self._unknown += 1
            self._rejections = 0
            limit, count, rule = self.limits.max_consecutive_unknown, self._unknown, "unknown"
        if limit and count >= limit:
            what = "rejected" if rule == "rejections" else "had an unknown outcome"
            return self._trip(
                rule, f"{count} orders in a row {what} (limit {limit})", count=count, limit=limit
            )
        return None

    def _trip(self, rule: str, reason: str, **numbers: object) -> Trip:
        return Trip(
            state=self.limits.trip_state,
            rule=rule,
            reason=f"kill switch ({rule}): {reason}",
            numbers=MappingProxyType({k: str(v) for k, v in numbers.items()}),
        )
