"""SignalValidator: may this signal cost money? Each "no" is a value with a reason.

Rules, in the order they run (the first that says no decides):

``market_allowed``  the market is on the allowlist (if any) and not on the denylist
``market_active``   the venue lists the market and it is ACTIVE with an oracle price
``confidence``      confidence >= the strategy's threshold, else the global one
``fresh``           not older than ``max_age``, not from further ahead than ``max_clock_skew``
``duplicate``       the id was not accepted before (the last ``remember_ids`` ids)
``cooldown``        no trade in this market within ``cooldown`` (see :meth:`record_trade`;
                    measured on the monotonic clock, so a wall clock that steps
                    does not stretch or cut it)
``rate_limit``      a token bucket of ``rate_limit_burst`` signals refilled at
                    ``rate_limit_per_minute``; only a signal that passed every other
                    rule takes a token

HOLD is accepted at once and does nothing (``actionable`` is False). CLOSE
reduces risk, so it is exempt from ``confidence`` and ``cooldown``; it still
needs an allowed, active market, a fresh signal, a new id and a token.

Nothing here raises through the loop: :meth:`SignalValidator.validate`
returns a :class:`ValidationResult`; a rejection converts to the domain's
:class:`SignalRejected` with :meth:`Rejection.to_error` for the journal.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType

from dydx_trader.app.ports import Clock, SystemClock
from dydx_trader.domain.errors import InvalidInput, Number, SignalRejected
from dydx_trader.domain.market import MarketSpec, MarketStatus
from dydx_trader.domain.numbers import require_fraction
from dydx_trader.domain.signal import Action, Signal

MarketLookup = Callable[[str], MarketSpec | None]
"""The venue's market by ticker, ``None`` when it does not list it."""


class Rule(StrEnum):
    """The validator's rules, by the name a rejection carries."""

    MARKET_ALLOWED = "market_allowed"
    MARKET_ACTIVE = "market_active"
    CONFIDENCE = "confidence"
    FRESH = "fresh"
    DUPLICATE = "duplicate"
    COOLDOWN = "cooldown"
    RATE_LIMIT = "rate_limit"


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a rule refused a signal: the rule's name, a sentence, and the numbers."""

    rule: Rule
    reason: str
    numbers: Mapping[str, Number] = field(default_factory=dict)

    def to_error(self) -> SignalRejected:
        """The same refusal as the domain's error value (not raised)."""
        return SignalRejected(self.reason, rule=self.rule.value, **self.numbers)

    def __str__(self) -> str:
        return f"{self.rule.value}: {self.reason}"


@dataclass(frozen=True, slots=True)
class ValidationResult:
    """The verdict on one signal.

    ``accepted`` when no rule refused it; ``actionable`` when, on top of
    that, there is something to do (not HOLD); ``skipped`` names rules that
    did not run (``market_active`` without a market lookup).
    """

    signal: Signal
    rejection: Rejection | None = None
    skipped: tuple[Rule, ...] = ()

    @property
    def accepted(self) -> bool:
        return self.rejection is None

    @property
    def actionable(self) -> bool:
        return self.rejection is None and self.signal.action is not Action.HOLD

    @property
    def summary(self) -> str:
        """One line for a person."""
        if self.rejection is not None:
            return f"rejected by {self.rejection}"
        if self.signal.action is Action.HOLD:
            return "accepted: HOLD, nothing to do"
        return f"accepted: {self.signal.action.value} {self.signal.market}"


@dataclass(frozen=True, slots=True)
class ValidationConfig:
    """The validator's limits.

    ``min_confidence`` and the values of ``min_confidence_by_strategy`` are
    ratios in [0, 1]; markets are tickers (``BTC-USD``); ``allowed_markets``
    ``None`` allows every market; durations are ``timedelta``.
    """

    min_confidence: Decimal = Decimal("0.6")
    min_confidence_by_strategy: Mapping[str, Decimal] = field(default_factory=dict)
    allowed_markets: frozenset[str] | None = None
    denied_markets: frozenset[str] = frozenset()
    max_age: timedelta = timedelta(minutes=2)
    max_clock_skew: timedelta = timedelta(seconds=5)
    remember_ids: int = 10_000
    cooldown: timedelta = timedelta(minutes=5)
    rate_limit_per_minute: Decimal = Decimal(6)
    rate_limit_burst: int = 3

    def __post_init__(self) -> None:
        require_fraction("min_confidence", self.min_confidence)
        thresholds = dict(self.min_confidence_by_strategy)
        for name, value in thresholds.items():
            require_fraction(f"min_confidence for strategy {name}", value)
        object.__setattr__(self, "min_confidence_by_strategy", MappingProxyType(thresholds))
        if self.allowed_markets is not None:
            object.__setattr__(self, "allowed_markets", frozenset(self.allowed_markets))
        object.__setattr__(self, "denied_markets", frozenset(self.denied_markets))
        for name in ("max_age", "max_clock_skew", "cooldown"):
            value = getattr(self, name)
            if not isinstance(value, timedelta) or value < timedelta(0):
                raise InvalidInput(f"{name} must be a non-negative duration, got {value!r}")
        if self.max_age <= timedelta(0):
            raise InvalidInput("max_age must be positive")
        if isinstance(self.remember_ids, bool) or not 1 <= self.remember_ids <= 10_000_000:
            raise InvalidInput(f"remember_ids {self.remember_ids!r} must be in [1, 10,000,000]")
        if not (self.rate_limit_per_minute.is_finite() and self.rate_limit_per_minute > 0):
            raise InvalidInput(
                f"rate_limit_per_minute {self.rate_limit_per_minute} must be a positive number"
            )
        if isinstance(self.rate_limit_burst, bool) or not 1 <= self.rate_limit_burst <= 10_000:
            raise InvalidInput(f"rate_limit_burst {self.rate_limit_burst!r} must be in [1, 10000]")

    def threshold_for(self, strategy: str) -> Decimal:
        """The confidence a signal of ``strategy`` needs."""
        return self.min_confidence_by_strategy.get(strategy, self.min_confidence)


class IdMemory:
    """The last ``capacity`` ids seen, oldest forgotten first (an LRU set)."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise InvalidInput(f"id memory capacity {capacity} must be at least 1")
        self._capacity = capacity
        self._ids: OrderedDict[str, None] = OrderedDict()

    def __contains__(self, signal_id: object) -> bool:
        return signal_id in self._ids

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, signal_id: str) -> bool:
        """Remember ``signal_id``; False (and nothing changes) if it was already known."""
        if signal_id in self._ids:
            return False
        self._ids[signal_id] = None
        if len(self._ids) > self._capacity:
            self._ids.popitem(last=False)
        return True

    def discard(self, signal_id: str) -> None:
        """Forget ``signal_id`` (a signal that could not be delivered after all)."""
        self._ids.pop(signal_id, None)


class TokenBucket:
    """At most ``burst`` takes at once, refilled at ``per_second`` tokens a second.

    ``monotonic`` returns seconds (the clock's); token arithmetic is float
    because it counts requests, not money.
    """

    def __init__(self, per_second: float, burst: int, monotonic: Callable[[], float]) -> None:
        self._rate = per_second
        self._burst = float(burst)
        self._tokens = float(burst)
        self._clock = monotonic
        self._last = monotonic()

    def _refill(self) -> None:
        now = self._clock()
        # A clock that steps back adds nothing rather than removing tokens.
        elapsed = max(0.0, now - self._last)
        self._last = max(self._last, now)
        self._tokens = min(self._burst, self._tokens + elapsed * self._rate)

    def try_take(self) -> bool:
        """Take one token if there is one."""
        self._refill()
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False

    def seconds_until_token(self) -> float:
        """How long until a token is available (0 if one is)."""
        self._refill()
        return max(0.0, (1.0 - self._tokens) / self._rate)


class SignalValidator:
    """Applies the rules in the module docstring to one signal at a time.

    ``markets`` answers the ``market_active`` rule: a mapping of ticker ->
    :class:`MarketSpec` or a lookup function. It must be given explicitly;
    ``None`` skips the rule (the CLI without a venue) and the result says so.
    ``clock`` gives the time signals are dated against (staleness) and the
    seconds the cooldown and the rate limit count in.
    """

    def __init__(
        self,
        config: ValidationConfig,
        *,
        markets: Mapping[str, MarketSpec] | MarketLookup | None,
        clock: Clock | None = None,
    ) -> None:
        self.config = config
        if isinstance(markets, Mapping):
            self._lookup: MarketLookup | None = markets.get
        else:
            self._lookup = markets
        self._clock: Clock = clock or SystemClock()
        self._seen = IdMemory(config.remember_ids)
        self._last_trade: dict[str, float] = {}
        self._bucket = TokenBucket(
            float(config.rate_limit_per_minute) / 60.0,
            config.rate_limit_burst,
            self._clock.monotonic,
        )

    def record_trade(self, market: str) -> None:
        """Start ``market``'s cooldown: a trade was made there just now."""
        self._last_trade[market] = self._clock.monotonic()

    def resume_cooldowns(self, last_fills: Mapping[str, datetime]) -> None:
        """Take up the cooldowns an earlier process left: ``last_fills`` says when
        each market last filled (aware; the journal's record of it)."""
        now = self._clock.now()
        for market, at in last_fills.items():
            ago = max(0.0, (now - at).total_seconds())
            if timedelta(seconds=ago) < self.config.cooldown:
                self._last_trade[market] = self._clock.monotonic() - ago

    def validate(self, signal: Signal) -> ValidationResult:
        """The verdict on ``signal``; an accepted actionable signal's id is remembered
        and takes a rate-limit token."""
        if signal.action is Action.HOLD:
            return ValidationResult(signal)
        skipped: tuple[Rule, ...] = () if self._lookup is not None else (Rule.MARKET_ACTIVE,)
        now = self._clock.now()
        for check in (
            self._market_allowed,
            self._market_active,
            self._confidence,
            self._fresh,
            self._duplicate,
            self._cooldown,
        ):
            rejection = check(signal, now)
            if rejection is not None:
                return ValidationResult(signal, rejection, skipped)
        if not self._bucket.try_take():
            wait = self._bucket.seconds_until_token()
            return ValidationResult(
                signal,
                Rejection(
                    Rule.RATE_LIMIT,
                    f"more than {self.config.rate_limit_burst} signals at once or "
                    f"{self.config.rate_limit_per_minute} a minute; next in {wait:.1f} s",
                    {"retry_after_s": f"{wait:.3f}"},
                ),
                skipped,
            )
        self._seen.add(signal.id)
        return ValidationResult(signal, None, skipped)

    # -- the rules ------------------------------------------------------------------

    def _market_allowed(self, signal: Signal, now: datetime) -> Rejection | None:
        allowed = self.config.allowed_markets
        if signal.market in self.config.denied_markets:
            return Rejection(
                Rule.MARKET_ALLOWED,
                f"{signal.market} is on the denylist",
                {"market": signal.market},
            )
        if allowed is not None and signal.market not in allowed:
            listed = ", ".join(sorted(allowed)) or "empty"
            return Rejection(
                Rule.MARKET_ALLOWED,
                f"{signal.market} is not on the allowlist ({listed})",
                {"market": signal.market},
            )
        return None

    def _market_active(self, signal: Signal, now: datetime) -> Rejection | None:
        if self._lookup is None:
            return None
        spec = self._lookup(signal.market)
        if spec is None:
            return Rejection(
                Rule.MARKET_ACTIVE,
                f"{signal.market} is not a market the venue lists",
                {"market": signal.market},
            )
        if spec.status is not MarketStatus.ACTIVE:
            return Rejection(
                Rule.MARKET_ACTIVE,
                f"{signal.market} is {spec.status.value}, only ACTIVE markets are traded",
                {"market": signal.market, "status": spec.status.value},
            )
        if spec.oracle_price is None:
            return Rejection(
                Rule.MARKET_ACTIVE,
                f"{signal.market} has no oracle price yet",
                {"market": signal.market},
            )
        return None

    def _confidence(self, signal: Signal, now: datetime) -> Rejection | None:
        if signal.action is Action.CLOSE:
            return None
        needed = self.config.threshold_for(signal.strategy)
        if signal.confidence < needed:
            return Rejection(
                Rule.CONFIDENCE,
                f"confidence {signal.confidence} of {signal.strategy} is below the "
                f"threshold {needed}",
                {"confidence": signal.confidence, "threshold": needed},
            )
        return None

    def _fresh(self, signal: Signal, now: datetime) -> Rejection | None:
        age = signal.age(now)
        if age > self.config.max_age:
            return Rejection(
                Rule.FRESH,
                f"signal is {_seconds(age)} s old, at most {_seconds(self.config.max_age)} s "
                "is allowed",
                {"age_s": _seconds(age), "max_age_s": _seconds(self.config.max_age)},
            )
        if -age > self.config.max_clock_skew:
            return Rejection(
                Rule.FRESH,
                f"signal is dated {_seconds(-age)} s in the future; check the sender's clock",
                {"ahead_s": _seconds(-age)},
            )
        return None

    def _duplicate(self, signal: Signal, now: datetime) -> Rejection | None:
        if signal.id in self._seen:
            return Rejection(
                Rule.DUPLICATE, f"signal id {signal.id} was already accepted", {"id": signal.id}
            )
        return None

    def _cooldown(self, signal: Signal, now: datetime) -> Rejection | None:
        if signal.action is Action.CLOSE:
            return None
        last = self._last_trade.get(signal.market)
        if last is None:
            return None
        since = timedelta(seconds=max(0.0, self._clock.monotonic() - last))
        if since < self.config.cooldown:
            left = self.config.cooldown - since
            return Rejection(
                Rule.COOLDOWN,
                f"{signal.market} traded {_seconds(since)} s ago; cooldown "
                f"{_seconds(self.config.cooldown)} s, {_seconds(left)} s left",
                {"since_s": _seconds(since), "left_s": _seconds(left)},
            )
        return None


def _seconds(delta: timedelta) -> Decimal:
    """A duration in seconds, to the millisecond."""
    return Decimal(delta // timedelta(milliseconds=1)) / 1000
