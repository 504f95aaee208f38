"""A trading signal: what some source wants done in one market, and how sure it is.

A :class:`Signal` is built only from valid values. Its ``__post_init__`` checks
every field and raises :class:`InvalidInput` with a precise message, so a
signal that exists is well formed; whether it may *cost money* is the
validator's question (``app/validation.py``), not this module's.

Prices are USDC per base unit (``Decimal``), confidence a ratio in [0, 1].
There is no clock here: ``created_at`` is passed in by whoever builds the
signal (a strategy's ``now``, the webhook's injected clock, the CLI).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from itertools import pairwise
from typing import TypeVar

from dydx_trader.domain.errors import InvalidInput
from dydx_trader.domain.numbers import require_fraction, require_positive, to_decimal
from dydx_trader.domain.side import Side

# Visible ASCII only: ids end up in logs, the journal and client-id derivation,
# where whitespace or control characters would only cause trouble.
_ID = re.compile(r"[\x21-\x7e]{1,64}")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")
# dYdX perpetual tickers: BASE-USD (BTC-USD, 1INCH-USD, SHIB-USD).
_MARKET = re.compile(r"[A-Z0-9]{1,20}-USD")
MAX_ID_LENGTH = 64
_T = TypeVar("_T")


class Action(StrEnum):
    """What the signal asks for.

    BUY / SELL open or add in that direction; CLOSE flattens the market's
    position; HOLD asks for nothing (it is accepted and does nothing).
    """

    BUY = "BUY"
    SELL = "SELL"
    CLOSE = "CLOSE"
    HOLD = "HOLD"

    @classmethod
    def parse(cls, text: object) -> Action:
        """The action named by ``text`` (case-insensitive, surrounding blanks ignored)."""
        if isinstance(text, Action):
            return text
        if not isinstance(text, str):
            raise InvalidInput(
                f"action must be a string, not {type(text).__name__}", field="action"
            )
        try:
            return cls(text.strip().upper())
        except ValueError:
            shown = text if len(text) <= 20 else text[:20] + "..."
            raise InvalidInput(
                f"action {shown!r} is unknown; use one of BUY, SELL, CLOSE, HOLD",
                field="action",
            ) from None

    @property
    def side(self) -> Side | None:
        """The order side a BUY or SELL opens with; ``None`` for CLOSE and HOLD."""
        if self is Action.BUY:
            return Side.BUY
        if self is Action.SELL:
            return Side.SELL
        return None


class SignalSource(StrEnum):
    """Where a signal came from."""

    STRATEGY = "strategy"
    WEBHOOK = "webhook"
    CLI = "cli"


class HintKind(StrEnum):
    """How a signal's sizing hint is expressed."""

    NOTIONAL_USDC = "notional_usdc"
    """``value`` is a position notional in USDC (> 0)."""
    EQUITY_FRACTION = "equity_fraction"
    """``value`` is a fraction of account equity in (0, 1]."""


@dataclass(frozen=True, slots=True)
class SizingHint:
    """An optional wish about size; the sizer may shrink it, never exceed its limits."""

    kind: HintKind
    value: Decimal

    def __post_init__(self) -> None:
        if not isinstance(self.kind, HintKind):
            raise InvalidInput(f"sizing kind {self.kind!r} is unknown", field="sizing")
        require_positive(f"sizing {self.kind.value}", _bounded("sizing", self.value))
        if self.kind is HintKind.EQUITY_FRACTION and self.value > 1:
            raise InvalidInput(
                f"sizing equity_fraction is {self.value}, it must lie in (0, 1]",
                field="sizing",
                value=self.value,
            )

    @classmethod
    def from_options(cls, notional: object, fraction: object) -> SizingHint | None:
        """The hint given as a USDC ``notional`` or an equity ``fraction`` (either as a
        decimal string), or ``None`` when neither is given; both at once is refused."""
        if notional is not None and fraction is not None:
            raise InvalidInput("give --notional or --fraction, not both", field="sizing")
        if notional is not None:
            return cls(HintKind.NOTIONAL_USDC, to_decimal("notional", notional))
        if fraction is not None:
            return cls(HintKind.EQUITY_FRACTION, to_decimal("fraction", fraction))
        return None


@dataclass(frozen=True, slots=True)
class Signal:
    """One validated request to trade (or not) one market.

    ``id`` is unique per signal (visible ASCII, 1-64 characters) and is the
    idempotency key downstream; ``market`` a dYdX ticker such as ``BTC-USD``;
    ``confidence`` a ratio in [0, 1]; ``created_at`` timezone-aware, stored in
    UTC. ``reference_price``, ``stop_loss`` and ``take_profit`` are USDC per
    base unit; a stop must lie on the losing side of the reference price
    (below it for BUY, above it for SELL) and a take-profit on the winning
    side. Only BUY and SELL carry stops and take-profits.
    """

    id: str
    market: str
    action: Action
    confidence: Decimal
    source: SignalSource
    strategy: str
    created_at: datetime
    reference_price: Decimal | None = None
    stop_loss: Decimal | None = None
    take_profit: Decimal | None = None
    sizing: SizingHint | None = None

    def __post_init__(self) -> None:
        _check_id(self.id)
        _check_market(self.market)
        if not isinstance(self.action, Action):
            raise InvalidInput(f"action {self.action!r} is unknown", field="action")
        if not isinstance(self.source, SignalSource):
            raise InvalidInput(f"source {self.source!r} is unknown", field="source")
        if not isinstance(self.strategy, str) or not _NAME.fullmatch(self.strategy):
            raise InvalidInput(
                "strategy name must be 1-64 characters of letters, digits, '_', '.', ':' "
                "or '-', starting with a letter or digit",
                field="strategy",
            )
        require_fraction("confidence", _bounded("confidence", self.confidence))
        object.__setattr__(self, "created_at", _as_utc(self.created_at))
        for name in ("reference_price", "stop_loss", "take_profit"):
            value = getattr(self, name)
            if value is not None:
                require_positive(name, _bounded(name, value))
        if self.sizing is not None and not isinstance(self.sizing, SizingHint):
            raise InvalidInput("sizing must be a SizingHint", field="sizing")
        self._check_exits()

    def _check_exits(self) -> None:
        if self.stop_loss is None and self.take_profit is None:
            return
        side = self.action.side
        if side is None:
            raise InvalidInput(
                f"a {self.action.value} signal cannot carry a stop_loss or take_profit; "
                "only BUY and SELL do",
                field="stop_loss" if self.stop_loss is not None else "take_profit",
            )
        # Ordered from the losing to the winning side of the trade.
        ladder = [
            ("stop_loss", self.stop_loss),
            ("reference_price", self.reference_price),
            ("take_profit", self.take_profit),
        ]
        present = [(name, value) for name, value in ladder if value is not None]
        if side is Side.SELL:
            present.reverse()
        for (low_name, low), (high_name, high) in pairwise(present):
            if not low < high:
                raise InvalidInput(
                    f"{self.action.value} {self.market}: {low_name} {low} must be below "
                    f"{high_name} {high}",
                    field="stop_loss" if "stop_loss" in (low_name, high_name) else "take_profit",
                    **{low_name: low, high_name: high},
                )

    @property
    def side(self) -> Side | None:
        """The order side a BUY or SELL opens with; ``None`` for CLOSE and HOLD."""
        return self.action.side

    @property
    def is_actionable(self) -> bool:
        """False for HOLD: nothing is to be done."""
        return self.action is not Action.HOLD

    def age(self, now: datetime) -> timedelta:
        """How long before ``now`` (aware) the signal was created (negative if after)."""
        return _as_utc(now) - self.created_at

    def to_dict(self) -> dict[str, str | None]:
        """A JSON-ready view; Decimals as strings so nothing is lost."""
        return {
            "id": self.id,
            "market": self.market,
            "action": self.action.value,
            "confidence": str(self.confidence),
            "source": self.source.value,
            "strategy": self.strategy,
            "created_at": self.created_at.isoformat(),
            "reference_price": _text(self.reference_price),
            "stop_loss": _text(self.stop_loss),
            "take_profit": _text(self.take_profit),
            "sizing_kind": None if self.sizing is None else self.sizing.kind.value,
            "sizing_value": None if self.sizing is None else str(self.sizing.value),
        }

    @classmethod
    def create(
        cls,
        *,
        market: object,
        action: object,
        created_at: datetime,
        source: SignalSource,
        strategy: str,
        confidence: object = Decimal(1),
        id: object = None,
        reference_price: object = None,
        stop_loss: object = None,
        take_profit: object = None,
        sizing: SizingHint | None = None,
    ) -> Signal:
        """Build a signal from loosely typed input (a webhook body, CLI options).

        Strings are parsed: the action case-insensitively, the market
        upper-cased, numbers as Decimal (ints, Decimals and decimal strings;
        never floats). A missing ``id`` becomes a fresh uuid4 hex.
        Raises :class:`InvalidInput` naming the field on any bad value.
        """
        if id is None:
            signal_id = uuid.uuid4().hex
        elif isinstance(id, str):
            signal_id = id
        else:
            raise InvalidInput(f"id must be a string, not {type(id).__name__}", field="id")
        if not isinstance(market, str):
            raise InvalidInput(
                f"market must be a string, not {type(market).__name__}", field="market"
            )
        return cls(
            id=signal_id,
            market=market.strip().upper(),
            action=Action.parse(action),
            confidence=_to_decimal("confidence", confidence),
            source=source,
            strategy=strategy,
            created_at=created_at,
            reference_price=_optional_decimal("reference_price", reference_price),
            stop_loss=_optional_decimal("stop_loss", stop_loss),
            take_profit=_optional_decimal("take_profit", take_profit),
            sizing=sizing,
        )


def _check_id(value: object) -> None:
    if not isinstance(value, str):
        raise InvalidInput(f"id must be a string, not {type(value).__name__}", field="id")
    if not value:
        raise InvalidInput("id is empty", field="id")
    if len(value) > MAX_ID_LENGTH:
        raise InvalidInput(
            f"id is {len(value)} characters long, at most {MAX_ID_LENGTH} are allowed",
            field="id",
        )
    if not _ID.fullmatch(value):
        raise InvalidInput(
            "id must be visible ASCII characters only (no spaces or control characters)",
            field="id",
        )


def _check_market(value: object) -> None:
    if not isinstance(value, str):
        raise InvalidInput(f"market must be a string, not {type(value).__name__}", field="market")
    if not _MARKET.fullmatch(value):
        shown = value if len(value) <= 24 else value[:24] + "..."
        raise InvalidInput(
            f"market {shown!r} is not a dYdX ticker shaped like BTC-USD", field="market"
        )


def _as_utc(value: object) -> datetime:
    if not isinstance(value, datetime):
        raise InvalidInput(
            f"created_at must be a datetime, not {type(value).__name__}", field="created_at"
        )
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput("created_at must be timezone-aware", field="created_at")
    return value.astimezone(UTC)


def _optional_decimal(name: str, value: object) -> Decimal | None:
    return None if value is None else _to_decimal(name, value)


def _to_decimal(name: str, value: object) -> Decimal:
    if isinstance(value, str) and len(value) > 64:
        raise InvalidInput(f"{name} is not a number (longer than 64 characters)", field=name)
    if isinstance(value, Decimal | str):
        try:
            _bounded(name, Decimal(value))
        except ArithmeticError:
            pass  # not a number at all: to_decimal says so
    return to_decimal(name, value)


def _bounded(name: str, value: _T) -> _T:
    """Refuse exponents past Decimal's context range before any arithmetic on them:
    ``abs(Decimal("1e999999999"))`` raises ``Overflow`` instead of answering."""
    if isinstance(value, Decimal) and value.is_finite() and value and value.adjusted() >= 15:
        raise InvalidInput(f"{name} {value} is absurdly large", field=name)
    return value


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)
