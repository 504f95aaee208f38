"""An order: the intent we journal before sending, and its lifecycle.

:class:`OrderIntent` is exactly what goes on the wire (quantums, subticks,
good-til), plus the signal it serves. Its ``client_id`` is derived from the
signal id (:func:`derive_client_id`), so the same intent carries the same id
across retries and restarts, and the venue's dedupe (OrderId = owner,
subaccount, client id, flags, clob pair) turns a resend into a no-op instead of
a second position.

:class:`Order` is the intent plus its state and filled quantity. States move
only along :data:`TRANSITIONS`; anything else raises
:class:`IllegalStateTransition` and changes nothing. Moving to the state an
order is already in is a no-op (venue events arrive twice: WebSocket and REST).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from enum import IntEnum, StrEnum
from types import MappingProxyType
from typing import Final

from dydx_trader.domain.errors import IllegalStateTransition, InvalidInput
from dydx_trader.domain.side import Side

MAX_CLIENT_ID: Final = 2**32 - 1
MAX_SUBACCOUNT_NUMBER: Final = 128_000
_UINT64_MAX: Final = 2**64 - 1
_UINT32_MAX: Final = 2**32 - 1


class OrderState(StrEnum):
    """Where an order stands, as far as we know."""

    PENDING_SUBMIT = "PENDING_SUBMIT"
    """Journaled, not yet (known to be) sent. After a crash it may have been sent."""
    SUBMITTED = "SUBMITTED"
    """A node's CheckTx accepted it (code 0): not filled, not final."""
    IN_FLIGHT_UNKNOWN = "IN_FLIGHT_UNKNOWN"
    """The send's answer was lost. Never a rejection: the indexer settles it."""
    OPEN = "OPEN"
    """Resting on the book, nothing filled."""
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    BEST_EFFORT_CANCELED = "BEST_EFFORT_CANCELED"
    """Removed by gossip (IOC remainder, cancel); may still revert until good-til passes."""
    EXPIRED = "EXPIRED"
    """Good-til passed and the indexer processed past it: no more fills can come."""
    REJECTED = "REJECTED"
    """Definitively refused (CheckTx code or pre-send); it never reached the book."""

    @property
    def is_terminal(self) -> bool:
        """True once the order can no longer rest or be sent (documented late edges aside)."""
        return self in TERMINAL_STATES


_S = OrderState
IN_FLIGHT_STATES: Final = frozenset(
    {_S.PENDING_SUBMIT, _S.SUBMITTED, _S.IN_FLIGHT_UNKNOWN, _S.OPEN, _S.PARTIALLY_FILLED}
)
TERMINAL_STATES: Final = frozenset(
    {_S.FILLED, _S.CANCELED, _S.BEST_EFFORT_CANCELED, _S.EXPIRED, _S.REJECTED}
)
_VENUE_SEEN: Final = frozenset(
    {_S.OPEN, _S.PARTIALLY_FILLED, _S.FILLED, _S.CANCELED, _S.BEST_EFFORT_CANCELED, _S.EXPIRED}
)

# The whole lifecycle. Reconciliation may find a PENDING_SUBMIT order already on
# the venue (crash between send and record), hence the wide first row.
# Documented late edges out of terminal states:
# * CANCELED -> FILLED: a fill matched before the cancel landed (fill-after-cancel);
# * EXPIRED -> FILLED: the indexer reported, late, fills that completed the order;
# * BEST_EFFORT_CANCELED -> anything the venue can still report: the cancel was
#   gossip and may not hold until good-til-block has passed.
TRANSITIONS: Final = MappingProxyType(
    {
        _S.PENDING_SUBMIT: frozenset({_S.SUBMITTED, _S.IN_FLIGHT_UNKNOWN, _S.REJECTED})
        | _VENUE_SEEN,
        _S.SUBMITTED: _VENUE_SEEN | {_S.REJECTED},
        _S.IN_FLIGHT_UNKNOWN: _VENUE_SEEN | {_S.SUBMITTED, _S.REJECTED},
        _S.OPEN: frozenset(
            {_S.PARTIALLY_FILLED, _S.FILLED, _S.CANCELED, _S.BEST_EFFORT_CANCELED, _S.EXPIRED}
        ),
        _S.PARTIALLY_FILLED: frozenset(
            {_S.FILLED, _S.CANCELED, _S.BEST_EFFORT_CANCELED, _S.EXPIRED}
        ),
        _S.BEST_EFFORT_CANCELED: frozenset(
            {_S.OPEN, _S.PARTIALLY_FILLED, _S.FILLED, _S.CANCELED, _S.EXPIRED}
        ),
        _S.CANCELED: frozenset({_S.FILLED}),
        _S.FILLED: frozenset(),
        _S.EXPIRED: frozenset({_S.FILLED}),
        _S.REJECTED: frozenset(),
    }
)

# States a late fill may land in without changing them (fill-after-cancel, a
# lagging indexer): the fill is real money, so it is recorded.
_FILLABLE_QUIETLY: Final = frozenset({_S.CANCELED, _S.BEST_EFFORT_CANCELED, _S.EXPIRED})


def require_transition(current: OrderState, new: OrderState) -> None:
    """Raise :class:`IllegalStateTransition` unless ``current -> new`` is in the table.

    Staying in the same state is always allowed (a repeated venue event).
    """
    if new is current or new in TRANSITIONS[current]:
        return
    raise IllegalStateTransition(
        f"an order cannot go from {current.value} to {new.value}",
        current=current.value,
        requested=new.value,
    )


class TimeInForce(StrEnum):
    """dYdX time in force. Fill-or-kill is deprecated on chain and not offered."""

    IOC = "IOC"
    GTT = "GTT"
    POST_ONLY = "POST_ONLY"


class OrderFlags(IntEnum):
    """The chain's order flags: short-term (good-til-block) or long-term (good-til-time)."""

    SHORT_TERM = 0
    LONG_TERM = 64


def derive_client_id(address: str, subaccount_number: int, signal_id: str, nonce: int = 0) -> int:
    """The order's 32-bit client id for a signal: deterministic, never random.

    It is the first 4 bytes (big-endian) of SHA-256 over
    ``"<address>|<subaccount_number>|<signal_id>"`` (``"|<nonce>"`` appended when
    ``nonce`` > 0). The journal is the final word: once an intent is recorded its
    id is read back from there; a clash with another signal's id (about 1 in
    4 billion per pair) is reported by the journal, and the caller then derives
    again with the next nonce.
    """
    if not isinstance(signal_id, str) or not signal_id:
        raise InvalidInput("signal id must be a non-empty string", field="signal_id")
    if isinstance(nonce, bool) or not isinstance(nonce, int) or nonce < 0:
        raise InvalidInput(f"nonce {nonce!r} must be a non-negative int", field="nonce")
    _check_subaccount(address, subaccount_number)
    key = f"{address}|{subaccount_number}|{signal_id}"
    if nonce:
        key += f"|{nonce}"
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big")


def _check_subaccount(address: object, subaccount_number: object) -> None:
    if not isinstance(address, str) or not address or not address.isascii() or " " in address:
        raise InvalidInput("address must be a non-empty ASCII string", field="address")
    if (
        isinstance(subaccount_number, bool)
        or not isinstance(subaccount_number, int)
        or not 0 <= subaccount_number <= MAX_SUBACCOUNT_NUMBER
    ):
        raise InvalidInput(
            f"subaccount number {subaccount_number!r} must be an int "
            f"in [0, {MAX_SUBACCOUNT_NUMBER}]",
            field="subaccount_number",
        )


def _check_uint(name: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInput(f"{name} {value!r} must be an int in [{low}, {high}]", field=name)


@dataclass(frozen=True, slots=True)
class OrderIntent:
    """One order exactly as it will be sent, checked against the chain's stateless rules.

    ``quantums`` base quantums and ``subticks`` (the limit, or the worst price of
    an IOC) are positive ints already on the market's step and tick. Short-term
    orders (flags 0) carry ``good_til_block`` (a block height); long-term (64) carry
    ``good_til_block_time`` (unix seconds) and cannot be IOC. Reduce-only is only
    allowed on short-term IOC orders (chain error 9003).
    """

    signal_id: str
    address: str
    subaccount_number: int
    market: str
    clob_pair_id: int
    side: Side
    quantums: int
    subticks: int
    time_in_force: TimeInForce
    reduce_only: bool
    order_flags: OrderFlags
    client_id: int
    good_til_block: int | None = None
    good_til_block_time: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.signal_id, str) or not self.signal_id:
            raise InvalidInput("signal id must be a non-empty string", field="signal_id")
        _check_subaccount(self.address, self.subaccount_number)
        if not isinstance(self.market, str) or not self.market:
            raise InvalidInput("market must be a non-empty string", field="market")
        if not isinstance(self.side, Side):
            raise InvalidInput(f"side {self.side!r} must be BUY or SELL", field="side")
        if not isinstance(self.time_in_force, TimeInForce):
            raise InvalidInput(f"time in force {self.time_in_force!r} is unknown", field="tif")
        if not isinstance(self.order_flags, OrderFlags):
            raise InvalidInput(
                f"order flags {self.order_flags!r} must be 0 (short-term) or 64 (long-term)",
                field="order_flags",
            )
        if not isinstance(self.reduce_only, bool):
            raise InvalidInput("reduce_only must be a bool", field="reduce_only")
        _check_uint("clob_pair_id", self.clob_pair_id, 0, _UINT32_MAX)
        _check_uint("quantums", self.quantums, 1, _UINT64_MAX)
        _check_uint("subticks", self.subticks, 1, _UINT64_MAX)
        _check_uint("client_id", self.client_id, 0, MAX_CLIENT_ID)
        self._check_good_til()
        if self.reduce_only and not (
            self.order_flags is OrderFlags.SHORT_TERM and self.time_in_force is TimeInForce.IOC
        ):
            raise InvalidInput(
                "reduce-only orders must be short-term IOC orders", field="reduce_only"
            )

    def _check_good_til(self) -> None:
        if self.order_flags is OrderFlags.SHORT_TERM:
            if self.good_til_block_time is not None:
                raise InvalidInput(
                    "a short-term order uses good_til_block, not good_til_block_time",
                    field="good_til_block_time",
                )
            _check_uint("good_til_block", self.good_til_block, 1, _UINT32_MAX)
        else:
            if self.good_til_block is not None:
                raise InvalidInput(
                    "a long-term order uses good_til_block_time, not good_til_block",
                    field="good_til_block",
                )
            _check_uint("good_til_block_time", self.good_til_block_time, 1, _UINT32_MAX)
            if self.time_in_force is TimeInForce.IOC:
                raise InvalidInput("long-term orders cannot be IOC (chain error 3002)", field="tif")

    def to_dict(self) -> dict[str, str | int | bool | None]:
        """A JSON-ready view (every value exact)."""
        return {
            "signal_id": self.signal_id,
            "address": self.address,
            "subaccount_number": self.subaccount_number,
            "market": self.market,
            "clob_pair_id": self.clob_pair_id,
            "side": self.side.value,
            "quantums": self.quantums,
            "subticks": self.subticks,
            "time_in_force": self.time_in_force.value,
            "reduce_only": self.reduce_only,
            "order_flags": int(self.order_flags),
            "client_id": self.client_id,
            "good_til_block": self.good_til_block,
            "good_til_block_time": self.good_til_block_time,
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> OrderIntent:
        """The intent :meth:`to_dict` produced (raises :class:`InvalidInput` on bad data)."""
        try:
            return cls(
                signal_id=data["signal_id"],  # type: ignore[arg-type]
                address=data["address"],  # type: ignore[arg-type]
                subaccount_number=data["subaccount_number"],  # type: ignore[arg-type]
                market=data["market"],  # type: ignore[arg-type]
                clob_pair_id=data["clob_pair_id"],  # type: ignore[arg-type]
                side=Side(str(data["side"])),
                quantums=data["quantums"],  # type: ignore[arg-type]
                subticks=data["subticks"],  # type: ignore[arg-type]
                time_in_force=TimeInForce(str(data["time_in_force"])),
                reduce_only=data["reduce_only"],  # type: ignore[arg-type]
                order_flags=OrderFlags(int(str(data["order_flags"]))),
                client_id=data["client_id"],  # type: ignore[arg-type]
                good_til_block=data.get("good_til_block"),  # type: ignore[arg-type]
                good_til_block_time=data.get("good_til_block_time"),  # type: ignore[arg-type]
            )
        except (KeyError, ValueError) as error:
            raise InvalidInput(f"stored order intent is malformed: {error!r}") from None


@dataclass(frozen=True, slots=True)
class Order:
    """An intent, its state and how many base quantums have filled (0 … quantums)."""

    intent: OrderIntent
    state: OrderState = OrderState.PENDING_SUBMIT
    filled_quantums: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.state, OrderState):
            raise InvalidInput(f"order state {self.state!r} is unknown", field="state")
        _check_uint("filled_quantums", self.filled_quantums, 0, self.intent.quantums)

    @property
    def client_id(self) -> int:
        return self.intent.client_id

    @property
    def remaining_quantums(self) -> int:
        return self.intent.quantums - self.filled_quantums

    def moved_to(self, new: OrderState) -> Order:
        """This order in state ``new``; raises :class:`IllegalStateTransition` if not allowed.

        FILLED needs every quantum filled (fills arrive through :meth:`filled_by`);
        PARTIALLY_FILLED needs some but not all.
        """
        require_transition(self.state, new)
        if new is OrderState.FILLED and self.remaining_quantums:
            raise IllegalStateTransition(
                f"order {self.client_id} cannot be FILLED with {self.remaining_quantums} "
                "quantums unfilled; record the fills",
                filled_quantums=self.filled_quantums,
                quantums=self.intent.quantums,
            )
        if new is OrderState.PARTIALLY_FILLED and not 0 < self.filled_quantums:
            raise IllegalStateTransition(
                f"order {self.client_id} has no fill, it cannot be PARTIALLY_FILLED",
                filled_quantums=self.filled_quantums,
            )
        return self if new is self.state else replace(self, state=new)

    def filled_by(self, quantums: int) -> Order:
        """This order after a fill of ``quantums`` (> 0) base quantums.

        The filled quantity only grows and never passes the order's quantity.
        A fill moves a live order to PARTIALLY_FILLED or FILLED; a late fill on a
        canceled or expired order is recorded and leaves it there unless it
        completes the order (then FILLED, a documented edge).
        """
        _check_uint("fill quantums", quantums, 1, _UINT64_MAX)
        total = self.filled_quantums + quantums
        if total > self.intent.quantums:
            raise IllegalStateTransition(
                f"a fill of {quantums} quantums would overfill order {self.client_id} "
                f"({self.filled_quantums} of {self.intent.quantums} already filled)",
                fill_quantums=quantums,
                filled_quantums=self.filled_quantums,
                quantums=self.intent.quantums,
            )
        if self.state in (OrderState.FILLED, OrderState.REJECTED):
            raise IllegalStateTransition(
                f"order {self.client_id} is {self.state.value}, it cannot take a fill",
                state=self.state.value,
            )
        if total == self.intent.quantums:
            new = OrderState.FILLED
        elif self.state in _FILLABLE_QUIETLY:
            new = self.state
        else:
            new = OrderState.PARTIALLY_FILLED
        return replace(self, state=new, filled_quantums=total)
