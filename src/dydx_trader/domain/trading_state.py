"""Whether the system may trade: ACTIVE, REDUCING, FLATTENING or HALTED, and the kill switch.

Automatic triggers (the kill switch, a crashed actor, a failed reconciliation)
may only *tighten* the state; loosening it (REDUCING -> ACTIVE, HALTED -> …)
takes an operator (``dydx-trader trading-state active``), so a halt survives
restarts until someone has looked at its cause.

:class:`KillSwitch` is a rule object with no I/O and no clock: equity samples
arrive with their time in milliseconds (any clock that never goes backwards),
order outcomes one by one, and it answers with a :class:`Trip` (the state to
move to and why) or ``None``. Its memory (:class:`KillSwitchMemory`: the
window's peak and the outcome counters) is a value the caller persists and
restores, so a restart forgets neither a drawdown nor a run of bad outcomes.
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
    FLATTENING = "FLATTENING"
    """Every position is being closed with reduce-only IOC orders (protective orders
    stay until flat); then HALTED. Only reduce-only orders go out."""
    HALTED = "HALTED"
    """No new orders at all (cancels still allowed)."""


class Authority(StrEnum):
    """Who asks for a state change."""

    OPERATOR = "operator"
    AUTOMATIC = "automatic"


_T = TradingState
# Automatic changes only tighten; the operator may do anything.
_AUTOMATIC_EDGES: Final = frozenset(
    {
        (_T.ACTIVE, _T.REDUCING),
        (_T.ACTIVE, _T.FLATTENING),
        (_T.ACTIVE, _T.HALTED),
        (_T.REDUCING, _T.FLATTENING),
        (_T.REDUCING, _T.HALTED),
        (_T.FLATTENING, _T.HALTED),
    }
)
TRANSITIONS: Final = MappingProxyType(
    {
        Authority.AUTOMATIC: _AUTOMATIC_EDGES,
        Authority.OPERATOR: frozenset((a, b) for a in _T for b in _T if a is not b),
    }
)
_SEVERITY: Final = MappingProxyType({_T.ACTIVE: 0, _T.REDUCING: 1, _T.FLATTENING: 2, _T.HALTED: 3})


def is_change(current: TradingState, new: TradingState) -> bool:
    """True if moving from ``current`` to ``new`` changes anything."""
    return new is not current


def require_allowed(current: TradingState, new: TradingState, by: Authority) -> None:
    """Raise :class:`IllegalStateTransition` when ``by`` may not move ``current -> new``.

    Staying in the same state is always allowed (it changes nothing).
    """
    if is_change(current, new) and (current, new) not in TRANSITIONS[by]:
        raise IllegalStateTransition(
            f"trading state cannot go from {current.value} to {new.value} automatically; "
            "an operator must do it (dydx-trader trading-state)",
            current=current.value,
            requested=new.value,
        )


def stricter(a: TradingState, b: TradingState) -> TradingState:
    """The more restrictive of two states."""
    return a if _SEVERITY[a] >= _SEVERITY[b] else b


def may_trade(state: TradingState, reduces_position: bool) -> TradingHalted | None:
    """``None`` if an order may be sent in ``state``, else the refusal (not raised)."""
    if state is TradingState.ACTIVE:
        return None
    if state in (TradingState.REDUCING, TradingState.FLATTENING):
        if reduces_position:
            return None
        return TradingHalted(
            f"trading is {state.value}: only orders that shrink a position are allowed",
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
    ``trip_state``: where a trip moves to (HALTED by default, REDUCING, or FLATTENING:
    close every position, then HALTED).
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
        if not isinstance(self.trip_state, TradingState) or self.trip_state is TradingState.ACTIVE:
            raise InvalidInput(
                "the kill switch trips to REDUCING, FLATTENING or HALTED", field="trip_state"
            )


class OrderOutcome(StrEnum):
    """What became of one send, as far as the kill switch cares."""

    ACCEPTED = "accepted"
    REJECTED = "rejected"
    UNKNOWN = "unknown"
    UNSETTLED = "unsettled"
    """Settlement gave up on the order: its outcome could not be read from the venue.
    Counted like an unknown outcome."""


@dataclass(frozen=True, slots=True)
class KillSwitchMemory:
    """What the kill switch must not forget across a restart.

    ``peak`` (USDC) and ``peak_at_ms`` (the sample's time, milliseconds on the
    caller's clock): the highest equity in the drawdown window, or both None
    before the first sample. ``rejections``: definitive rejections in a row.
    ``unknown``: unknown or unsettled outcomes not yet forgiven. ``clean_streak``:
    accepted sends in a row since the last bad outcome (capped at the unknown
    limit, which is when it forgives).
    """

    peak: Decimal | None = None
    peak_at_ms: int | None = None
    rejections: int = 0
    unknown: int = 0
    clean_streak: int = 0

    def __post_init__(self) -> None:
        if (self.peak is None) != (self.peak_at_ms is None):
            raise InvalidInput("a kill switch peak needs both its value and its time")
        if self.peak is not None:
            require_finite("peak equity", self.peak)
        for name in ("peak_at_ms", "rejections", "unknown", "clean_streak"):
            value = getattr(self, name)
            if value is None and name == "peak_at_ms":
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise InvalidInput(f"kill switch {name} {value!r} must be an int >= 0", field=name)


class KillSwitch:
    """Trips on drawdown over a window and on runs of rejections or unknown outcomes.

    The outcome rule: ``max_consecutive_rejections`` definitive rejections with
    no accepted send between them trip it. Unknown and unsettled outcomes are
    stickier, because an accepted send says nothing about the unknown ones: they
    are forgiven only by ``max_consecutive_unknown`` accepted sends *in a row*.
    So alternating accepted / unknown outcomes trip after ``max_consecutive_unknown``
    unknowns, where a counter reset by every acceptance would never trip.
    """

    def __init__(self, limits: KillSwitchLimits, memory: KillSwitchMemory | None = None) -> None:
        self.limits = limits
        # The window's candidate peaks: (time_ms, equity USDC), time ascending and
        # equity strictly descending, so the front is the window's peak and each
        # sample is added and dropped once (constant time per sample).
        self._samples: deque[tuple[int, Decimal]] = deque()
        self._last_ms: int | None = None
        self._rejections = 0
        self._unknown = 0
        self._clean_streak = 0
        if memory is not None:
            self.restore(memory)

    @property
    def memory(self) -> KillSwitchMemory:
        """What to persist: the window's peak and the outcome counters."""
        peak_at, peak = self._samples[0] if self._samples else (None, None)
        return KillSwitchMemory(
            peak=peak,
            peak_at_ms=peak_at,
            rejections=self._rejections,
            unknown=self._unknown,
            clean_streak=self._clean_streak,
        )

    @property
    def last_sample_ms(self) -> int | None:
        """The time of the latest equity sample (or restored peak), None before any."""
        return self._last_ms

    def restore(self, memory: KillSwitchMemory) -> None:
        """Take up ``memory`` (persisted by an earlier process) as this switch's own.

        Only the peak is restored of the window, not the lower candidates behind
        it: until the peak leaves the window the switch is exactly as strict as
        before the restart.
        """
        self._samples.clear()
        if memory.peak is not None and memory.peak_at_ms is not None:
            self._samples.append((memory.peak_at_ms, memory.peak))
        self._last_ms = memory.peak_at_ms
        self._rejections = memory.rejections
        self._unknown = memory.unknown
        self._clean_streak = memory.clean_streak

    def record_equity(self, at_ms: int, equity: Decimal) -> Trip | None:
        """Feed one equity sample (USDC) taken at ``at_ms`` (milliseconds, never decreasing)."""
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
        """Feed one send's outcome; see the class docstring for when it trips."""
        unknown_limit = self.limits.max_consecutive_unknown
        if outcome is OrderOutcome.ACCEPTED:
            self._rejections = 0
            self._clean_streak = min(self._clean_streak + 1, max(unknown_limit, 1))
            if self._clean_streak >= unknown_limit:
                self._unknown = 0
            return None
        self._clean_streak = 0
        if outcome is OrderOutcome.REJECTED:
            self._rejections += 1
            limit, count = self.limits.max_consecutive_rejections, self._rejections
            if limit and count >= limit:
                return self._trip(
                    "rejections",
                    f"{count} orders in a row rejected (limit {limit})",
                    count=count,
                    limit=limit,
                )
            return None
        self._unknown += 1
        limit, count = unknown_limit, self._unknown
        if limit and count >= limit:
            return self._trip(
                "unknown",
                f"{count} orders had an unknown outcome or could not be settled, with fewer "
                f"than {limit} accepted in a row between them (limit {limit})",
                count=count,
                limit=limit,
            )
        return None

    def _trip(self, rule: str, reason: str, **numbers: object) -> Trip:
        return Trip(
            state=self.limits.trip_state,
            rule=rule,
            reason=f"kill switch ({rule}): {reason}",
            numbers=MappingProxyType({k: str(v) for k, v in numbers.items()}),
        )
