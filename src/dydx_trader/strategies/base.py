"""What every strategy shares: the protocol, parameter checks and signal building.

A strategy is a small frozen class holding checked parameters, with a pure
``verdict(candles) -> (action, confidence)``, the signal built from it by
``evaluate(market, candles, now) -> Signal`` and ``explain(candles)``, which
shows its indicator values and how far the nearest trigger is. No I/O, no
clock (``now`` is passed in): the same candles give the same signal.

A signal is dated at the close of the candle it was read from (``created_at``),
not when it was evaluated, so the validator's staleness rule can tell a fresh
signal from one read long after its candle closed. A candle still forming is
dated ``now`` (a signal is never dated in the future).

Signal ids are deterministic: ``<name>-<params digest>:<market>:<newest candle
open time>``. The same strategy on the same candle always names its signal
the same way, so the validator's duplicate rule lets one signal per strategy
per candle through, however often the market is scanned.
"""

from __future__ import annotations

import functools
import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import ClassVar, Protocol, runtime_checkable

from dydx_trader.domain.errors import InvalidInput
from dydx_trader.domain.signal import Action, Signal, SignalSource
from dydx_trader.strategies.candles import Candles

_CONFIDENCE_PLACES = 4


@runtime_checkable
class Strategy(Protocol):
    """Turns one market's candles into a signal (HOLD when nothing is to be done)."""

    name: ClassVar[str]

    @property
    def min_candles(self) -> int:
        """Fewest candles :meth:`evaluate` accepts."""
        ...

    @property
    def lookback(self) -> int:
        """How many of the newest candles the strategy reads (>= ``min_candles``)."""
        ...

    @property
    def emits_stops(self) -> bool:
        """True when its BUY and SELL signals carry a stop-loss (fixed-risk sizing needs one)."""
        ...

    def verdict(self, candles: Candles) -> tuple[Action, Decimal]:
        """The action and its confidence on the newest candle of ``candles`` (oldest first)."""
        ...

    def evaluate(self, market: str, candles: Candles, now: datetime) -> Signal:
        """The signal for ``market`` given ``candles`` (oldest first) at ``now`` (aware)."""
        ...

    def explain(self, candles: Candles) -> Explanation:
        """The indicator values behind :meth:`verdict` and the distance to the nearest trigger."""
        ...


@dataclass(frozen=True, slots=True)
class Explanation:
    """What a strategy reads on the newest candle, for a person deciding whether to trust it.

    ``values`` are the indicator values (TA-Lib's numbers, in price units
    unless the name says otherwise). ``trigger`` is the action the nearest
    trigger would give, when ``condition`` becomes true; ``distance`` is how
    far that is, in ``unit`` (``"%"`` of the close, ``"RSI points"``,
    ``"votes"``); 0 means the condition holds now.
    """

    values: tuple[tuple[str, float], ...]
    trigger: Action
    condition: str
    distance: float
    unit: str

    def as_dict(self) -> dict[str, object]:
        """JSON-ready (floats: indicator statistics, not money)."""
        return {
            "values": dict(self.values),
            "trigger": self.trigger.value,
            "condition": self.condition,
            "distance": self.distance,
            "unit": self.unit,
        }


def percent_of(amount: float, price: float) -> float:
    """``amount`` (price units) as a percentage of ``price``, never negative."""
    return max(0.0, amount) / price * 100 if price > 0 else 0.0


def float_to_decimal(value: float) -> Decimal:
    """A float from indicator math as a Decimal, through its shortest repr.

    This is the only float -> Decimal crossing in the system (the reference
    price, the ATR). ``repr`` gives the shortest string that reads back as
    the same float, so a close parsed from the exchange's decimal string
    ("56584.0") comes back as exactly that decimal, not as the binary
    expansion ``Decimal(float)`` would give.
    """
    if not math.isfinite(value):
        raise InvalidInput(f"indicator value {value} is not finite")
    return Decimal(repr(float(value)))


NOISE = 1e-9
"""Differences below this fraction of the price are float rounding, not a move."""


def denoise(value: float, price: float) -> float:
    """``value`` (price units), or 0.0 when it is within rounding noise of 0 at ``price``.

    A flat series gives EMAs that differ by ~1e-16 of the price with a
    changing sign; without this, rounding would read as a crossover.
    """
    return 0.0 if abs(value) <= NOISE * abs(price) else value


def confidence(strength: float) -> Decimal:
    """A [0, 1] confidence from a strength, clamped, to 4 decimal places."""
    if not math.isfinite(strength):
        # A zero-width band or flat series gives 0/0: treat as "no evidence".
        strength = 0.0
    clamped = min(1.0, max(0.0, strength))
    return Decimal(f"{clamped:.{_CONFIDENCE_PLACES}f}")


def scaled_confidence(excess: float, full_at: float) -> Decimal:
    """0.5 at the trigger, rising linearly to 1 when ``excess`` reaches ``full_at``.

    A triggered signal starts at 0.5 (an indicator fired, nothing more) and
    earns the other half from how far past its trigger the indicator is.
    """
    if full_at <= 0:
        return confidence(1.0)
    return confidence(0.5 + 0.5 * min(1.0, max(0.0, excess / full_at)))


@functools.lru_cache(maxsize=256)
def params_digest(*params: object) -> str:
    """Six hex characters naming a parameter set (for signal ids); params must be hashable."""
    text = ",".join(repr(p) for p in params)
    return hashlib.sha256(text.encode()).hexdigest()[:6]


def build_signal(
    name: str,
    digest: str,
    market: str,
    candles: Candles,
    now: datetime,
    action: Action,
    conf: Decimal,
    stop_loss: Decimal | None = None,
) -> Signal:
    """A strategy signal: reference price = newest close, id deterministic, dated at
    the newest candle's close (``now`` if it has not closed yet; see the module)."""
    return Signal(
        id=f"{name}-{digest}:{market}:{int(candles.timestamps[-1])}",
        market=market,
        action=action,
        confidence=conf if action is not Action.HOLD else Decimal(0),
        source=SignalSource.STRATEGY,
        strategy=name,
        created_at=min(candles.last_closed_at, now),
        reference_price=float_to_decimal(float(candles.close[-1])),
        stop_loss=stop_loss,
    )


def require_candles(name: str, min_candles: int, candles: Candles) -> None:
    """Refuse a series too short for the strategy, with how many are needed."""
    if not isinstance(candles, Candles):
        raise InvalidInput(f"{name}: candles must be a Candles value")
    if len(candles) < min_candles:
        raise InvalidInput(f"{name} needs at least {min_candles} candles, got {len(candles)}")


class ParamReader:
    """Reads a strategy's parameters from config, refusing unknown names and bad values.

    Call :meth:`integer` / :meth:`number` for each parameter, then
    :meth:`done`, which raises if the mapping held a name nobody asked for.
    """

    def __init__(self, strategy: str, params: Mapping[str, object] | None) -> None:
        if params is not None and not isinstance(params, Mapping):
            raise InvalidInput(f"strategy {strategy}: parameters must be a mapping")
        self._strategy = strategy
        self._params = dict(params or {})
        self._known: list[str] = []

    def _get(self, key: str) -> object:
        self._known.append(key)
        return self._params.get(key)

    def raw(self, key: str, default: object) -> object:
        """The value as given (checked by the caller)."""
        value = self._get(key)
        return default if value is None else value

    def integer(self, key: str, default: int) -> int:
        """An int parameter; floats and strings are refused."""
        value = self._get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidInput(
                f"strategy {self._strategy}: parameter {key} must be an integer, got {value!r}"
            )
        return value

    def number(self, key: str, default: float) -> float:
        """A real parameter (thresholds, multiples): int, float, Decimal or decimal string."""
        value = self._get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
            raise InvalidInput(
                f"strategy {self._strategy}: parameter {key} must be a number, got {value!r}"
            )
        try:
            number = float(Decimal(str(value)))
        except ArithmeticError:
            raise InvalidInput(
                f"strategy {self._strategy}: parameter {key} must be a number, got {value!r}"
            ) from None
        if not math.isfinite(number):
            raise InvalidInput(f"strategy {self._strategy}: parameter {key} must be finite")
        return number

    def done(self) -> None:
        """Raise :class:`InvalidInput` naming any parameter the strategy does not have."""
        unknown = sorted(set(self._params) - set(self._known), key=str)
        if unknown:
            raise InvalidInput(
                f"strategy {self._strategy}: unknown parameter {unknown[0]!r}; "
                f"known: {', '.join(self._known)}"
            )


def check_period(strategy: str, name: str, value: int, low: int = 2, high: int = 1000) -> None:
    """A lookback period must be an int in [low, high]."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInput(
            f"strategy {strategy}: {name} is {value!r}, it must be an integer in [{low}, {high}]"
        )


def check_range(
    strategy: str, name: str, value: float, low: float, high: float, *, open_low: bool = False
) -> None:
    """A real parameter must be finite and within [low, high] ((low, high] if ``open_low``)."""
    ok = math.isfinite(value) and (low < value if open_low else low <= value) and value <= high
    if not ok:
        bracket = "(" if open_low else "["
        raise InvalidInput(
            f"strategy {strategy}: {name} is {value!r}, it must lie in {bracket}{low}, {high}]"
        )
