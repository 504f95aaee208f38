"""A decision: what the system did with one signal, and the arithmetic behind it.

Every signal that reaches sizing ends in exactly one :class:`Decision`:
ACCEPTED with the size (base units and quantums) and price, or REFUSED with
the error's code and message. ``arithmetic`` is the ordered list of
``(label, value)`` lines that sized or refused the trade, already rendered as
text (``("free collateral", "830.12 USDC")``), so a person reading the journal
sees the same numbers the sizer used.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from types import MappingProxyType

from dydx_trader.domain.arithmetic import Line
from dydx_trader.domain.errors import DydxTraderError, InvalidInput
from dydx_trader.domain.numbers import require_positive
from dydx_trader.domain.order import OrderIntent
from dydx_trader.domain.proposal import OrderProposal
from dydx_trader.domain.protection import ProtectionLevels
from dydx_trader.domain.side import Side


class Outcome(StrEnum):
    ACCEPTED = "ACCEPTED"
    REFUSED = "REFUSED"


@dataclass(frozen=True, slots=True)
class Decision:
    """One signal's verdict.

    ACCEPTED carries ``side``, ``size`` (base units, Decimal), ``quantums`` (int)
    and ``price`` (USDC per base unit: the limit or worst price), the ``intent``
    to send and the ``reservation`` (the order's worst case, held until it is
    settled). REFUSED carries ``error_code`` (the error class name, e.g.
    ``InsufficientFreeCollateral``), ``message`` and the error's ``numbers`` as
    strings. ``protection`` holds the stop-loss / take-profit triggers an accepted
    entry is protected with once it fills. ``bound_by`` names the cap that set
    (or left no room for) the size (a :class:`~dydx_trader.domain.sizing.Bound`
    value), ``None`` when no cap was involved. ``decided_at`` is aware UTC.
    Build with :meth:`accepted` or :meth:`refused`.
    """

    signal_id: str
    market: str
    outcome: Outcome
    decided_at: datetime
    arithmetic: tuple[Line, ...] = ()
    side: Side | None = None
    size: Decimal | None = None
    quantums: int | None = None
    price: Decimal | None = None
    error_code: str | None = None
    message: str | None = None
    numbers: Mapping[str, str] = field(default_factory=dict)
    bound_by: str | None = None
    intent: OrderIntent | None = None
    reservation: OrderProposal | None = None
    protection: ProtectionLevels | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.signal_id, str) or not self.signal_id:
            raise InvalidInput("decision signal id must be a non-empty string", field="signal_id")
        if not isinstance(self.market, str) or not self.market:
            raise InvalidInput("decision market must be a non-empty string", field="market")
        if not isinstance(self.outcome, Outcome):
            raise InvalidInput(f"decision outcome {self.outcome!r} is unknown", field="outcome")
        if not isinstance(self.decided_at, datetime) or self.decided_at.utcoffset() is None:
            raise InvalidInput("decided_at must be a timezone-aware datetime", field="decided_at")
        object.__setattr__(self, "decided_at", self.decided_at.astimezone(UTC))
        object.__setattr__(self, "arithmetic", _lines(self.arithmetic))
        object.__setattr__(
            self, "numbers", MappingProxyType({str(k): str(v) for k, v in self.numbers.items()})
        )
        if self.outcome is Outcome.ACCEPTED:
            self._check_accepted()
        else:
            self._check_refused()

    def _check_accepted(self) -> None:
        if not isinstance(self.side, Side):
            raise InvalidInput("an accepted decision needs a side", field="side")
        if self.size is None or self.price is None or self.quantums is None:
            raise InvalidInput("an accepted decision needs size, quantums and price", field="size")
        require_positive("decision size", self.size)
        require_positive("decision price", self.price)
        if isinstance(self.quantums, bool) or not isinstance(self.quantums, int):
            raise InvalidInput("decision quantums must be an int", field="quantums")
        if self.quantums <= 0:
            raise InvalidInput(f"decision quantums {self.quantums} must be positive")
        if self.error_code is not None:
            raise InvalidInput("an accepted decision carries no error", field="error_code")
        intent = self.intent
        if intent is not None and (intent.quantums, intent.side) != (self.quantums, self.side):
            raise InvalidInput("the decision's intent must be the decided order", field="intent")

    def _check_refused(self) -> None:
        if not self.error_code or not self.message:
            raise InvalidInput(
                "a refused decision needs an error code and a message", field="error_code"
            )
        if self.quantums is not None or self.size is not None:
            raise InvalidInput("a refused decision carries no size", field="size")
        if self.intent is not None or self.reservation is not None:
            raise InvalidInput("a refused decision carries no order", field="intent")

    @classmethod
    def accepted(
        cls,
        *,
        signal_id: str,
        market: str,
        side: Side,
        size: Decimal,
        quantums: int,
        price: Decimal,
        decided_at: datetime,
        arithmetic: Iterable[Line] = (),
        bound_by: str | None = None,
        intent: OrderIntent | None = None,
        reservation: OrderProposal | None = None,
        protection: ProtectionLevels | None = None,
    ) -> Decision:
        return cls(
            signal_id=signal_id,
            market=market,
            outcome=Outcome.ACCEPTED,
            decided_at=decided_at,
            arithmetic=tuple(arithmetic),
            side=side,
            size=size,
            quantums=quantums,
            price=price,
            bound_by=bound_by,
            intent=intent,
            reservation=reservation,
            protection=protection,
        )

    @classmethod
    def refused(
        cls,
        *,
        signal_id: str,
        market: str,
        error: DydxTraderError,
        decided_at: datetime,
        arithmetic: Iterable[Line] = (),
        side: Side | None = None,
        bound_by: str | None = None,
    ) -> Decision:
        """A refusal because of ``error`` (a domain error value, not raised)."""
        return cls(
            signal_id=signal_id,
            market=market,
            outcome=Outcome.REFUSED,
            decided_at=decided_at,
            arithmetic=tuple(arithmetic),
            side=side,
            error_code=error.code,
            message=error.message,
            numbers={k: str(v) for k, v in error.numbers.items()},
            bound_by=bound_by,
        )

    @property
    def reason(self) -> str:
        """One line for a person: what was done, or why not."""
        if self.outcome is Outcome.ACCEPTED:
            assert self.side is not None and self.size is not None and self.price is not None
            return f"{self.side.value} {self.size:f} {self.market} at {self.price:f}"
        return f"{self.error_code}: {self.message}"

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready view; Decimals as strings so nothing is lost."""
        return {
            "signal_id": self.signal_id,
            "market": self.market,
            "outcome": self.outcome.value,
            "decided_at": self.decided_at.isoformat(),
            "arithmetic": [list(line) for line in self.arithmetic],
            "side": None if self.side is None else self.side.value,
            "size": None if self.size is None else str(self.size),
            "quantums": self.quantums,
            "price": None if self.price is None else str(self.price),
            "error_code": self.error_code,
            "message": self.message,
            "numbers": dict(self.numbers),
            "bound_by": self.bound_by,
            "intent": None if self.intent is None else self.intent.to_dict(),
            "reservation": None if self.reservation is None else _proposal_dict(self.reservation),
            "protection": None if self.protection is None else self.protection.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Decision:
        """The decision :meth:`to_dict` produced; :class:`InvalidInput` on bad data."""
        try:
            side = data.get("side")
            quantums = data.get("quantums")
            numbers = data.get("numbers") or {}
            arithmetic = data.get("arithmetic") or []
            intent = data.get("intent")
            reservation = data.get("reservation")
            protection = data.get("protection")
            if not isinstance(numbers, Mapping) or not isinstance(arithmetic, list):
                raise InvalidInput("decision numbers/arithmetic have the wrong shape")
            if not isinstance(intent, dict | None) or not isinstance(reservation, dict | None):
                raise InvalidInput("decision intent/reservation have the wrong shape")
            if not isinstance(protection, dict | None):
                raise InvalidInput("decision intent/reservation have the wrong shape")
            return cls(
                signal_id=str(data["signal_id"]),
                market=str(data["market"]),
                outcome=Outcome(str(data["outcome"])),
                decided_at=datetime.fromisoformat(str(data["decided_at"])),
                arithmetic=tuple(_line(item) for item in arithmetic),
                side=None if side is None else Side(str(side)),
                size=_decimal(data.get("size")),
                quantums=None if quantums is None else int(str(quantums)),
                price=_decimal(data.get("price")),
                error_code=_text(data.get("error_code")),
                message=_text(data.get("message")),
                numbers={str(k): str(v) for k, v in numbers.items()},
                bound_by=_text(data.get("bound_by")),
                intent=None if intent is None else OrderIntent.from_dict(intent),
                reservation=None if reservation is None else _proposal(reservation),
                protection=None
                if not isinstance(protection, dict)
                else ProtectionLevels.from_dict(protection),
            )
        except (KeyError, ValueError, TypeError, InvalidOperation) as error:
            raise InvalidInput(f"stored decision is malformed: {error!r}") from None


def _proposal_dict(order: OrderProposal) -> dict[str, object]:
    return {
        "market": order.market,
        "side": order.side.value,
        "size": str(order.size),
        "price": str(order.price),
        "fee_ppm": order.fee_ppm,
        "reduce_only": order.reduce_only,
    }


def _proposal(data: Mapping[str, object]) -> OrderProposal:
    return OrderProposal(
        market=str(data["market"]),
        side=Side(str(data["side"])),
        size=Decimal(str(data["size"])),
        price=Decimal(str(data["price"])),
        fee_ppm=int(str(data["fee_ppm"])),
        reduce_only=data["reduce_only"] is True,
    )


def _lines(lines: object) -> tuple[Line, ...]:
    if not isinstance(lines, tuple | list):
        raise InvalidInput("arithmetic must be a sequence of (label, value) pairs")
    return tuple(_line(item) for item in lines)


def _line(item: object) -> Line:
    if (
        not isinstance(item, tuple | list)
        or len(item) != 2
        or not all(isinstance(part, str) for part in item)
    ):
        raise InvalidInput(f"arithmetic line {item!r} must be a (label, value) pair of strings")
    return (item[0], item[1])


def _decimal(value: object) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _text(value: object) -> str | None:
    return None if value is None else str(value)
